// Deliberately broken driver plugins, written against the raw C ABI (no SDK), for
// node/plugin_loader_test.cc. CMake builds this file once per kind, with
// CAPSTAN_TEST_PLUGIN_KIND (below) and CAPSTAN_TEST_PLUGIN_NAME (the table's name) defined. Every
// kind is otherwise a well-formed table whose operations answer UNSUPPORTED, except two that break
// the result contract in ways the host must survive: capabilities answers OK with an error message
// too, fingerprint answers INTERNAL with a result document too.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "capstan/driver.h"

#define KIND_NO_SYMBOL 1      // exports no capstan_driver_entry
#define KIND_ABI_MISMATCH 2   // speaks only ABI 99: answers ABI_MISMATCH
#define KIND_LYING_VERSION 3  // answers OK with a table of ABI 99
#define KIND_SMALL_TABLE 4    // struct_size stops before free_string
#define KIND_NO_CREATE 5      // create is NULL
#define KIND_RAW_THROWS 6     // inspect throws a C++ exception across the ABI (forbidden)
#define KIND_OLD_TABLE 7      // a plugin built before image_fs_info: struct_size ends at remove_image

namespace {

char instance_storage;

void FreeString(char* s) { std::free(s); }

int32_t Create(const char* /*config*/, const capstan_host_api* /*host*/, capstan_driver_instance** out,
               char** /*out_error*/) {
  *out = reinterpret_cast<capstan_driver_instance*>(&instance_storage);
  return CAPSTAN_OK;
}

void Destroy(capstan_driver_instance* /*instance*/) {}

int32_t Unsupported(capstan_driver_instance* /*instance*/, const char* /*request*/, char** /*out_json*/,
                    char** out_error) {
  *out_error = strdup("this test plugin does nothing");
  return CAPSTAN_ERR_UNSUPPORTED;
}

int32_t OkWithError(capstan_driver_instance* /*instance*/, const char* /*request*/, char** out_json,
                    char** out_error) {
  *out_json = strdup("{}");
  *out_error = strdup("an error message with OK");
  return CAPSTAN_OK;
}

int32_t ErrorWithJson(capstan_driver_instance* /*instance*/, const char* /*request*/, char** out_json,
                      char** out_error) {
  *out_json = strdup("{}");
  *out_error = strdup("a result document with an error");
  return CAPSTAN_ERR_INTERNAL;
}

[[maybe_unused]] int32_t Throws(capstan_driver_instance* /*instance*/, const char* /*request*/, char** /*out_json*/,
                                char** /*out_error*/) {
  throw std::runtime_error("raw plugin throws across the ABI");
}

capstan_driver_api MakeTable() {
  capstan_driver_api api{};
  api.struct_size = sizeof(capstan_driver_api);
  api.abi_version = CAPSTAN_DRIVER_ABI_VERSION;
  api.name = CAPSTAN_TEST_PLUGIN_NAME;
  api.version = "0.0.1";
  api.free_string = &FreeString;
  api.create = &Create;
  api.destroy = &Destroy;
  api.capabilities = api.fingerprint = api.start = api.recover = api.wait = api.stop = api.remove = api.inspect =
      api.list = &Unsupported;
  api.capabilities = &OkWithError;
  api.fingerprint = &ErrorWithJson;
#if CAPSTAN_TEST_PLUGIN_KIND == KIND_LYING_VERSION
  api.abi_version = 99;
#elif CAPSTAN_TEST_PLUGIN_KIND == KIND_SMALL_TABLE
  api.struct_size = offsetof(capstan_driver_api, free_string);
#elif CAPSTAN_TEST_PLUGIN_KIND == KIND_NO_CREATE
  api.create = nullptr;
#elif CAPSTAN_TEST_PLUGIN_KIND == KIND_RAW_THROWS
  api.inspect = &Throws;
#elif CAPSTAN_TEST_PLUGIN_KIND == KIND_OLD_TABLE
  api.list_images = api.remove_image = &Unsupported;
  api.image_fs_info = &Unsupported;  // beyond struct_size: the host must not see it
  api.struct_size = offsetof(capstan_driver_api, image_fs_info);
#endif
  return api;
}

const capstan_driver_api kTable = MakeTable();

}  // namespace

#if CAPSTAN_TEST_PLUGIN_KIND == KIND_NO_SYMBOL
extern "C" CAPSTAN_DRIVER_EXPORT int32_t capstan_driver_entry_misspelled(void) { return kTable.struct_size > 0; }
#else
extern "C" CAPSTAN_DRIVER_EXPORT int32_t capstan_driver_entry(uint32_t host_abi_min, uint32_t host_abi_max,
                                                              const capstan_host_api* /*host*/,
                                                              const capstan_driver_api** out_api) {
  *out_api = nullptr;
#if CAPSTAN_TEST_PLUGIN_KIND == KIND_ABI_MISMATCH
  if (host_abi_min > 99 || host_abi_max < 99) return CAPSTAN_ERR_ABI_MISMATCH;
#else
  (void)host_abi_min;
  (void)host_abi_max;
#endif
  *out_api = &kTable;
  return CAPSTAN_OK;
}
#endif
