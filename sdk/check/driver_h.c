/* Compiles capstan/driver.h as strict C99 (the ABI header must stay plain C), and pins the layout
 * of ABI version 1 on LP64 targets: a field inserted anywhere but at the end of a table, or a
 * changed type, moves an offset below and fails the build. New fields get a new line here. */
#include <stddef.h>

#include "capstan/driver.h"

#define CAPSTAN_CHECK(name, cond) typedef char capstan_check_##name[(cond) ? 1 : -1]

CAPSTAN_CHECK(min_size, CAPSTAN_DRIVER_API_MIN_SIZE <= sizeof(capstan_driver_api));

#if defined(__LP64__)
CAPSTAN_CHECK(host_log, offsetof(capstan_host_api, log) == 16);
CAPSTAN_CHECK(host_emit, offsetof(capstan_host_api, emit_event) == 24);
CAPSTAN_CHECK(host_size, sizeof(capstan_host_api) == 32);
CAPSTAN_CHECK(api_name, offsetof(capstan_driver_api, name) == 8);
CAPSTAN_CHECK(api_free_string, offsetof(capstan_driver_api, free_string) == 24);
CAPSTAN_CHECK(api_create, offsetof(capstan_driver_api, create) == 32);
CAPSTAN_CHECK(api_destroy, offsetof(capstan_driver_api, destroy) == 40);
CAPSTAN_CHECK(api_capabilities, offsetof(capstan_driver_api, capabilities) == 48);
CAPSTAN_CHECK(api_fingerprint, offsetof(capstan_driver_api, fingerprint) == 56);
CAPSTAN_CHECK(api_start, offsetof(capstan_driver_api, start) == 64);
CAPSTAN_CHECK(api_recover, offsetof(capstan_driver_api, recover) == 72);
CAPSTAN_CHECK(api_wait, offsetof(capstan_driver_api, wait) == 80);
CAPSTAN_CHECK(api_stop, offsetof(capstan_driver_api, stop) == 88);
CAPSTAN_CHECK(api_remove, offsetof(capstan_driver_api, remove) == 96);
CAPSTAN_CHECK(api_inspect, offsetof(capstan_driver_api, inspect) == 104);
CAPSTAN_CHECK(api_list, offsetof(capstan_driver_api, list) == 112);
CAPSTAN_CHECK(api_min_size, CAPSTAN_DRIVER_API_MIN_SIZE == 120);
CAPSTAN_CHECK(api_pull_image, offsetof(capstan_driver_api, pull_image) == 120);
CAPSTAN_CHECK(api_logs, offsetof(capstan_driver_api, logs) == 128);
CAPSTAN_CHECK(api_exec, offsetof(capstan_driver_api, exec) == 136);
CAPSTAN_CHECK(api_list_images, offsetof(capstan_driver_api, list_images) == 144);
CAPSTAN_CHECK(api_remove_image, offsetof(capstan_driver_api, remove_image) == 152);
CAPSTAN_CHECK(api_image_fs_info, offsetof(capstan_driver_api, image_fs_info) == 160);
CAPSTAN_CHECK(api_size, sizeof(capstan_driver_api) == 168);
#endif

int capstan_driver_h_check(void) { return CAPSTAN_OK; }
