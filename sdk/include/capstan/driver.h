/* capstan/driver.h: the stable C ABI between Capstan (the host) and a driver plugin.
 *
 * A driver plugin is a shared object, capstan-driver-<name>.so, that runs Pods' containers for the
 * node agent (docker, containerd, process, fake, ...). The host dlopen()s it with
 * RTLD_NOW | RTLD_LOCAL from a configured plugin directory and calls one exported symbol,
 * capstan_driver_entry, which negotiates the ABI version and returns the table of functions below.
 * Nothing else crosses: no C++ type, no exception, no global symbol of the host (plugins never link
 * against the host; what they need from it comes in a capstan_host_api table). Plain C, fixed-width
 * integers, NUL-terminated UTF-8 strings. docs/plugins.md is the guide; this file is the contract.
 *
 * Versioning (two independent axes):
 *   - The ABI version (CAPSTAN_DRIVER_ABI_VERSION) covers the C tables and calling conventions.
 *     Tables begin with struct_size and abi_version and only ever grow at the end; a new field
 *     does not change the ABI version. A reader checks struct_size before touching a field, and a
 *     function pointer that is NULL or lies beyond struct_size means "unsupported". The version
 *     changes only for an incompatible change, and then the host and the plugin negotiate.
 *   - Every JSON document carries "apiVersion": "driver.capstan.dev/v1" and a "kind". Readers
 *     ignore fields they do not know, so fields are added without a new version.
 *
 * Memory: strings passed into a call are borrowed for the duration of that call only. Strings a
 * plugin returns (out_json, out_error) are allocated by the plugin and released by the host with
 * the table's free_string. Before each call the host sets *out_json and *out_error to NULL.
 *
 * Results: every operation returns a capstan code (CAPSTAN_OK or an error, see below).
 *   - On CAPSTAN_OK the plugin stores its result document in *out_json (an operation documented
 *     as "no result" may leave it NULL) and leaves *out_error NULL.
 *   - On an error the plugin leaves *out_json NULL and stores a human-readable message (plain
 *     text, not JSON) in *out_error; the host shows it to users, so say what failed and why.
 *
 * Threading: stated per function below. In short: the entry point and free_string are callable
 * from any thread at any time; create is thread-safe; every operation on an instance is
 * thread-safe and may run concurrently with any other operation on that instance, except destroy,
 * which the host calls only once every other call on the instance has returned. The host never
 * calls start/stop/remove concurrently for the same run. A plugin may run threads of its own; it
 * joins them in destroy (per instance) and must not start any in its entry point.
 */
#ifndef CAPSTAN_DRIVER_H_
#define CAPSTAN_DRIVER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions and names ---------------------------------------------------------------------- */

/* The ABI version this header describes. */
#define CAPSTAN_DRIVER_ABI_VERSION 1u
/* The apiVersion of every JSON document of ABI version 1. */
#define CAPSTAN_DRIVER_API_VERSION "driver.capstan.dev/v1"
/* The one exported symbol, and the file name a host looks for: capstan-driver-<name>.so. */
#define CAPSTAN_DRIVER_ENTRY_SYMBOL "capstan_driver_entry"
#define CAPSTAN_DRIVER_FILE_PREFIX "capstan-driver-"
#define CAPSTAN_DRIVER_FILE_SUFFIX ".so"

/* Marks the entry point as the plugin's only exported symbol (build with -fvisibility=hidden). */
#if defined(_WIN32)
#define CAPSTAN_DRIVER_EXPORT __declspec(dllexport)
#else
#define CAPSTAN_DRIVER_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Return codes ---------------------------------------------------------------------------- */
/* 0 is success; 1..999 are reserved for well-known codes (a host treats one it does not know as
 * CAPSTAN_ERR_INTERNAL); 1000 and above are the plugin's own (the host reports them as internal
 * errors, with their number and message). */
#define CAPSTAN_OK 0
#define CAPSTAN_ERR_NOT_FOUND 1         /* no such run, container or image */
#define CAPSTAN_ERR_INVALID_ARGUMENT 2  /* a request or spec is malformed or violates the contract */
#define CAPSTAN_ERR_INVALID_CONFIG 3    /* create: the driver configuration is not acceptable */
#define CAPSTAN_ERR_UNSUPPORTED 4       /* the driver does not do this (see its capabilities) */
#define CAPSTAN_ERR_RETRY_LATER 5       /* transient: the same call may succeed later (back off) */
#define CAPSTAN_ERR_UNAVAILABLE 6       /* the engine cannot be reached now (host retries) */
#define CAPSTAN_ERR_ALREADY_EXISTS 7    /* the thing to create exists already */
#define CAPSTAN_ERR_CONFLICT 8          /* not possible in the current state (image in use, ...) */
#define CAPSTAN_ERR_PERMISSION_DENIED 9 /* the engine or registry refused (credentials, rights) */
#define CAPSTAN_ERR_TIMEOUT 10          /* the operation did not finish in the time it was given */
#define CAPSTAN_ERR_INTERNAL 11         /* a bug or an unexpected failure in the plugin */
#define CAPSTAN_ERR_ABI_MISMATCH 12     /* entry: the plugin supports none of the offered versions */
#define CAPSTAN_ERR_PLUGIN_BASE 1000    /* first plugin-defined code */

/* ---- Host services --------------------------------------------------------------------------- */

#define CAPSTAN_LOG_DEBUG 0
#define CAPSTAN_LOG_INFO 1
#define CAPSTAN_LOG_WARN 2
#define CAPSTAN_LOG_ERROR 3

/* What the host offers the plugin. Two kinds of table exist, both of this type:
 *   - the library table, passed to capstan_driver_entry: valid until the library is unloaded
 *     (the host gives it static storage duration); a plugin keeps the pointer of the latest call;
 *   - an instance table, passed to create: valid until destroy of that instance has returned; its
 *     host_ctx identifies the instance on the host side (events reach the right node agent).
 * Every function pointer may be NULL (or lie beyond struct_size): check before calling. */
typedef struct capstan_host_api {
  uint32_t struct_size; /* sizeof(capstan_host_api) of the host's header */
  uint32_t abi_version; /* the host's CAPSTAN_DRIVER_ABI_VERSION */
  void* host_ctx;       /* opaque to the plugin; pass it back as the first argument */
  /* Writes one log record (message: UTF-8 text, borrowed). Thread-safe, any thread, any time the
   * table is valid; never calls back into the plugin. */
  void (*log)(void* host_ctx, int32_t level, const char* message);
  /* Delivers one event document (borrowed; see "Events" below). Thread-safe, any thread, any time
   * the table is valid; the host queues it and never calls back into the plugin from here. The
   * library table's emit_event drops events (they belong to an instance). */
  void (*emit_event)(void* host_ctx, const char* event_json);
} capstan_host_api;

/* ---- The driver table ------------------------------------------------------------------------ */

/* An instance of the driver (one configured connection to its engine). Opaque to the host. */
typedef struct capstan_driver_instance capstan_driver_instance;

/* One chunk of log output for capstan_driver_api.logs. `stream`: 1 stdout, 2 stderr, 0 a heartbeat
 * with no data (data NULL, len 0). The data is borrowed for the call; it need not be UTF-8 nor end
 * on a line boundary. Return 0 to go on, non-zero to stop: the plugin then returns CAPSTAN_OK from
 * logs promptly without calling the sink again. */
typedef int32_t (*capstan_log_sink)(void* sink_ctx, int32_t stream, const char* data, size_t len);
#define CAPSTAN_LOG_STREAM_HEARTBEAT 0
#define CAPSTAN_LOG_STREAM_STDOUT 1
#define CAPSTAN_LOG_STREAM_STDERR 2
/* While following logs with nothing to send, a plugin calls the sink with a heartbeat at least
 * this often, so that the host can end the call. */
#define CAPSTAN_LOG_HEARTBEAT_MS 1000

/* The signature shared by the operations below: a request document in, a result document or an
 * error message out. `request_json` is borrowed; see "Results" at the top. */
typedef int32_t (*capstan_driver_op)(capstan_driver_instance* instance, const char* request_json,
                                     char** out_json, char** out_error);

/* Only ever grows at the end. Everything up to and including `list` is required: the host refuses
 * a table whose struct_size is below CAPSTAN_DRIVER_API_MIN_SIZE or where one of those functions is
 * NULL. */
typedef struct capstan_driver_api {
  uint32_t struct_size; /* sizeof(capstan_driver_api) of the plugin's header */
  uint32_t abi_version; /* the version chosen, within the host's offered range */
  const char* name;     /* the driver's name, [a-z0-9][a-z0-9_-]*, as in the file name; static */
  const char* version;  /* the plugin's own version ("1.4.2"); static */

  /* Releases a string the plugin returned (out_json, out_error). NULL is a no-op. Any thread. */
  void (*free_string)(char* s);

  /* Creates an instance. `config_json` is a DriverConfig document (below). `host` is the instance
   * table (see capstan_host_api). Must not block on the engine: an unreachable engine is reported
   * by fingerprint, not here. Errors: INVALID_CONFIG (with the offending field in the message).
   * Thread-safe. */
  int32_t (*create)(const char* config_json, const capstan_host_api* host,
                    capstan_driver_instance** out_instance, char** out_error);
  /* Releases the instance and joins its threads. Runs are NOT stopped: they belong to the engine,
   * and a new instance recovers them (as after a host restart). Called once, after every other
   * call on the instance has returned; no host-table call after it returns. */
  void (*destroy)(capstan_driver_instance* instance);

  /* Every operation below is thread-safe (see Threading above). request -> result documents. */

  /* CapabilitiesRequest -> Capabilities. Constant for the life of the instance. */
  capstan_driver_op capabilities;
  /* FingerprintRequest -> Fingerprint: health of the engine, host resources. Cheap: called at
   * every heartbeat. An unreachable engine is a Fingerprint with healthy false, not an error. */
  capstan_driver_op fingerprint;
  /* PodRunSpec -> PodRunHandle. Starts every container and returns at once (containers may still
   * be waiting). A failing container is a terminated container, not an error; an error means
   * nothing was started. A network mode the driver does not declare is UNSUPPORTED. */
  capstan_driver_op start;
  /* HandleRequest -> no result. Re-attaches to a run after the host (or the instance) restarted.
   * NOT_FOUND when the run is gone. */
  capstan_driver_op recover;
  /* WaitRequest -> WaitResult. Blocks until every container of the run is terminated or
   * timeoutMs has passed (0: answer at once); a timeout is not an error (exited: false).
   * NOT_FOUND for an unknown run, or when the run is removed while waiting. */
  capstan_driver_op wait;
  /* StopRequest -> no result. Asks every container to stop, waits up to gracePeriodMs, then kills.
   * When it returns every container is terminated; the run stays inspectable until removed.
   * Stopping a stopped run is CAPSTAN_OK. NOT_FOUND for an unknown run. */
  capstan_driver_op stop;
  /* HandleRequest -> no result. Releases the run (kills what still runs). Idempotent: removing an
   * unknown or removed run is CAPSTAN_OK. */
  capstan_driver_op remove;
  /* HandleRequest -> PodRunStatus. NOT_FOUND for an unknown run. */
  capstan_driver_op inspect;
  /* ListRequest -> PodRunList: every run of this driver whose labels match the selector (runs not
   * removed, running or not), i.e. what a restarted host adopts or removes. */
  capstan_driver_op list;

  /* Optional operations: NULL (or beyond struct_size) when the driver does not do them, which the
   * host treats as CAPSTAN_ERR_UNSUPPORTED; a driver that has one but whose capabilities say it
   * does not do it returns CAPSTAN_ERR_UNSUPPORTED from it. */

  /* PullImageRequest -> PullImageResult. Blocks until pulled. NOT_FOUND: no such image;
   * PERMISSION_DENIED: the registry refused the credentials; UNAVAILABLE: it cannot be reached.
   * Capability: imagePull. */
  capstan_driver_op pull_image;
  /* LogsRequest -> sink calls, no result. Writes the container's output to `sink` on the calling
   * thread, then returns; with follow, keeps going until the container terminates or the sink
   * returns non-zero. NOT_FOUND for an unknown run or container. Capability: logs. */
  int32_t (*logs)(capstan_driver_instance* instance, const char* request_json, capstan_log_sink sink,
                  void* sink_ctx, char** out_error);
  /* ExecRequest -> ExecResult. Runs a command in a running container (probes, `capstan exec`); a
   * command that fails is an ExecResult with its exit code, not an error. NOT_FOUND: unknown run or
   * container; CONFLICT: the container is not running; TIMEOUT: timeoutMs passed (the command is
   * killed). Capability: exec. */
  capstan_driver_op exec;
  /* ListImagesRequest -> ImageList. Capability: images. */
  capstan_driver_op list_images;
  /* RemoveImageRequest -> no result. Idempotent (an unknown image is CAPSTAN_OK); CONFLICT when a
   * run not removed uses it. Capability: images. */
  capstan_driver_op remove_image;
  /* ImageFsInfoRequest -> ImageFsInfo: the size and free space of the filesystem that holds the
   * images (what the host's image garbage collection watches). Cheap enough to call every few
   * minutes. UNAVAILABLE when the engine cannot be reached. Capability: imageFs. Added after
   * remove_image: a table whose struct_size ends before it does not have it. */
  capstan_driver_op image_fs_info;
  /* New fields go here, at the end, without changing CAPSTAN_DRIVER_ABI_VERSION. */
} capstan_driver_api;

#define CAPSTAN_DRIVER_API_MIN_SIZE (offsetof(capstan_driver_api, list) + sizeof(capstan_driver_op))

/* The entry point, exported by every plugin under CAPSTAN_DRIVER_ENTRY_SYMBOL.
 *
 * The host offers the ABI versions it speaks, [host_abi_min, host_abi_max]. The plugin picks one
 * it speaks too (the highest) and stores a table of that version in *out_api, whose abi_version
 * says which it picked; the table has static storage duration (valid until the library is
 * unloaded). With no common version it returns CAPSTAN_ERR_ABI_MISMATCH and leaves *out_api NULL.
 * `host` is the library table (see capstan_host_api). The host calls nothing else before this.
 *
 * Cheap, starts no thread, thread-safe, and may be called more than once (same answer each time).
 */
typedef int32_t (*capstan_driver_entry_fn)(uint32_t host_abi_min, uint32_t host_abi_max,
                                           const capstan_host_api* host,
                                           const capstan_driver_api** out_api);
CAPSTAN_DRIVER_EXPORT int32_t capstan_driver_entry(uint32_t host_abi_min, uint32_t host_abi_max,
                                                   const capstan_host_api* host,
                                                   const capstan_driver_api** out_api);

/* ---- JSON documents (apiVersion "driver.capstan.dev/v1") -----------------------------------------
 *
 * Every document has "apiVersion" and "kind" (a reader refuses a document without them, or of
 * another apiVersion or kind, as INVALID_ARGUMENT). Times are integers, nanoseconds since the
 * Unix epoch ("...UnixNano"); durations in requests are integer milliseconds ("...Ms", 0 to
 * 86400000: a day at most); quantities are Kubernetes quantity strings ("500m", "128Mi").
 * Optional fields may be absent; readers ignore unknown ones.
 *
 * DriverConfig (create)     {"config": <driver-specific value, null when none>}
 * CapabilitiesRequest, FingerprintRequest, ListImagesRequest, ImageFsInfoRequest
 *                           {}  (no fields yet; a plugin ignores what it does not know)
 * Capabilities              {"exec": bool, "logs": bool, "imagePull": bool, "images": bool,
 *                            "exitEvents": bool, "remoteEndpoint": bool, "imageFs": bool,
 *                            "networkModes": ["host" | "bridge" | "none", ...]  (non-empty)}
 * Fingerprint               {"healthy": bool, "message": str, "os": "linux", "arch": "amd64",
 *                            "runtimeVersion": "docker://27.3.1", "capacity": {"cpu": "8", ...},
 *                            "attributes": {str: str}}
 * PullImageRequest          {"image": "nginx:1.25", "auth": {"username", "password", "auth",
 *                            "identityToken", "registryToken", "serverAddress"} (optional)}
 * PullImageResult           {"imageId": "sha256:..."}
 * PodRunSpec (start)        {"pod": {"uid" (required), "namespace", "name"},
 *                            "labels": {str: str}  (put on the run; what list selects on),
 *                            "networkMode": "host" | "bridge" | "none"  (default "host", as Capstan runs workloads),
 *                            "containers": [ContainerSpec, ...]  (non-empty, unique names)}
 * ContainerSpec             {"name" (required), "image" (required), "command": [str], "args": [str],
 *                            "env": [{"name", "value"}], "workingDir": str,
 *                            "ports": [{"name", "containerPort", "hostPort", "protocol", "hostIP"}],
 *                            "resources": {"limits": {..}, "requests": {..}},
 *                            "mounts": [{"hostPath", "containerPath", "readOnly": bool}]}
 * PodRunHandle              {"id": str (required; the driver encodes in it what it needs to
 *                            re-attach: the host keeps only the fields listed here),
 *                            "pod": {"uid", "namespace", "name"},
 *                            "containers": [{"name", "id"}]  (in spec order)}
 * HandleRequest             {"handle": PodRunHandle}   (recover, remove, inspect)
 * StopRequest               {"handle": PodRunHandle, "gracePeriodMs": int}
 * WaitRequest               {"handle": PodRunHandle, "timeoutMs": int}
 * WaitResult                {"exited": bool, "containers": [ContainerStatus]}
 * PodRunStatus              {"containers": [ContainerStatus] (in spec order), "recheckAfterMs": int}
 * ContainerStatus           {"name", "id", "image", "imageId",
 *                            "state": "waiting" | "running" | "terminated", "reason", "message",
 *                            "exitCode": int, "startedAtUnixNano": int, "finishedAtUnixNano": int,
 *                            "ready": bool}
 * ListRequest               {"labelSelector": {str: str}}  (every pair must match; {} matches all)
 * PodRunList                {"items": [PodRunHandle]}
 * LogsRequest               {"handle", "container": str, "follow": bool, "tailLines": int (-1: all)}
 * ExecRequest               {"handle", "container": str, "command": [str] (non-empty),
 *                            "timeoutMs": int (0: none)}
 * ExecResult                {"exitCode": int, "stdout": str, "stderr": str}
 * ImageList                 {"images": [{"id", "tags": [str], "sizeBytes": int,
 *                              "digests": [str]  (repo@sha256:..., optional),
 *                              "createdUnixNano": int  (optional),
 *                              "pinned": bool  (optional: the runtime needs it, e.g. the pod
 *                                               sandbox image; the host never garbage-collects it)}]}
 * ImageFsInfo               {"capacityBytes": int, "availableBytes": int  (both required, > 0 and
 *                            <= capacity; as statvfs: size and space free for unprivileged use),
 *                            "usedBytes": int  (optional: what the images take on it),
 *                            "path": str  (optional: where it is mounted, for messages)}
 * RemoveImageRequest        {"image": str (a tag or an id)}
 *
 * Events (emit_event on an instance table):
 * ContainerExited           {"handleId": str, "podUid": str, "container": ContainerStatus}
 *   sent once per container that terminates, as soon as the driver learns of it, if the driver
 *   declares exitEvents. Hosts still call wait/inspect: events are a hint that saves polling.
 */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CAPSTAN_DRIVER_H_ */
