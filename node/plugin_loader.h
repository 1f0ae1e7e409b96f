// The host side of the driver ABI (sdk/include/capstan/driver.h): finding driver plugins in the
// configured directories, loading one (dlopen, ABI negotiation, table checks), and creating and
// calling instances. PluginDriver (plugin_driver.h) builds the node agent's RuntimeDriver on top;
// the conformance kit (sdk/conformance) uses the raw calls here to check the ABI contract.
//
// Loading rules (docs/plugins.md):
//   - a driver named N is the file capstan-driver-N.so in one of the configured directories
//     (searched in order; N matches [a-z0-9][a-z0-9_-]*, so a name cannot escape a directory);
//     a file given by path must sit directly in a configured directory (compared after lexical
//     normalisation: symlinks inside a configured directory are trusted, as the admin put them);
//   - dlopen with RTLD_NOW | RTLD_LOCAL (every symbol resolved now; nothing leaks into the global
//     namespace); capstan_driver_entry is the first call; the table's struct_size, ABI version,
//     name and required functions are checked before anything else is used;
//   - every failure is a Status whose message names the file, and nothing throws: a bad plugin
//     costs its driver, never the server. (A plugin's static constructors run inside dlopen and
//     cannot be guarded; plugins must do no work there.)
//
// Lifetimes: a PluginInstance holds its PluginLibrary (shared_ptr), so destroy runs before dlclose.
//
// Thread-safety: PluginLibrary is immutable after Load and safe to share. PluginInstance::Call and
// Logs are thread-safe (the ABI makes every operation thread-safe); the destructor must not race
// with a call. The free functions are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "capstan/driver.h"
#include "capstan/driver_json.hpp"

namespace capstan::node {

// The ABI versions this host speaks.
inline constexpr uint32_t kHostAbiMin = 1;
inline constexpr uint32_t kHostAbiMax = CAPSTAN_DRIVER_ABI_VERSION;

// The request/result operations of the table (logs, which streams, has its own call).
enum class PluginOp {
  kCapabilities,
  kFingerprint,
  kStart,
  kRecover,
  kWait,
  kStop,
  kRemove,
  kInspect,
  kList,
  kPullImage,
  kExec,
  kListImages,
  kRemoveImage,
  kImageFsInfo,
};
const char* PluginOpName(PluginOp op);  // the field name in the table: "pull_image"

// One call's outcome as the plugin gave it.
struct PluginReply {
  int32_t code = CAPSTAN_OK;
  std::string json;   // the result document; empty when the plugin returned none
  std::string error;  // the plugin's message (non-OK only)
  // Contract violations the host tolerated (the string was released and ignored): a result
  // document with an error, an error message with CAPSTAN_OK. The conformance kit reports them.
  bool json_with_error = false;
  bool error_with_ok = false;
  bool ok() const { return code == CAPSTAN_OK; }
};

// The Status for a non-OK reply: the capstan code mapped to a Code (NOT_FOUND -> kNotFound,
// INVALID_* -> kInvalid, RETRY_LATER and UNAVAILABLE -> kUnavailable, ...; plugin-defined and
// unknown codes -> kInternal), the message "<context>: <CODE_NAME>: <error>", and details
// {"driverCode": <code>} so that no information is lost.
Status StatusFromReply(const PluginReply& reply, const std::string& context);
// The capstan code carried by a Status made by StatusFromReply (nullopt for any other Status).
std::optional<int32_t> DriverCodeOf(const Status& status);

// One loaded driver .so whose ABI was negotiated and whose table was checked.
class PluginLibrary {
 public:
  // Loads the file at `path` as is (no directory rule: see OpenPluginFile / OpenPlugin).
  static Result<std::shared_ptr<PluginLibrary>> Load(const std::string& path);
  ~PluginLibrary();  // dlclose

  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }        // the table's driver name
  const std::string& version() const { return version_; }  // the plugin's own version
  uint32_t abi_version() const { return api_->abi_version; }
  const capstan_driver_api& api() const { return *api_; }

  // The operation's function, or nullptr when the table has it NULL or not at all (unsupported).
  capstan_driver_op Op(PluginOp op) const;
  decltype(capstan_driver_api::logs) LogsFn() const;

 private:
  PluginLibrary(std::string path, void* handle, const capstan_driver_api* api);
  // Whether the table reaches the field at `offset` of `size` bytes.
  bool Reaches(size_t offset, size_t size) const { return offset + size <= api_->struct_size; }

  // Constant after construction.
  const std::string path_;
  void* const handle_;  // dlopen's
  const capstan_driver_api* const api_;
  std::string name_, version_;
};

// One instance of a driver (create ... destroy).
class PluginInstance {
 public:
  // Receives each event document the plugin emits, on the plugin's thread. Must not block and
  // must not call into the instance (queue the work instead).
  using EventHandler = std::function<void(std::string_view event_json)>;
  // One chunk of logs: stream CAPSTAN_LOG_STREAM_*; return false to stop.
  using LogSink = std::function<bool(int32_t stream, std::string_view data)>;

  // Creates an instance with `config` (the driver's own configuration; wrapped in a DriverConfig
  // document). Errors name the file and carry the plugin's code (StatusFromReply).
  static Result<std::unique_ptr<PluginInstance>> Create(std::shared_ptr<PluginLibrary> library,
                                                        const nlohmann::json& config, EventHandler on_event = nullptr);
  // The same with the DriverConfig document text as given (for tests of malformed documents).
  static Result<std::unique_ptr<PluginInstance>> CreateFromDocument(std::shared_ptr<PluginLibrary> library,
                                                                    const std::string& config_document,
                                                                    EventHandler on_event = nullptr);
  ~PluginInstance();  // destroy: every call must have returned

  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const PluginLibrary& library() const { return *library_; }

  // Calls the operation with `request_json`. A missing function answers UNSUPPORTED.
  PluginReply Call(PluginOp op, const std::string& request_json);
  // Calls logs; `sink` runs on this thread. A missing function answers UNSUPPORTED.
  PluginReply Logs(const std::string& request_json, const LogSink& sink);

  // Encodes `request`, calls `op`, decodes the result as `Doc`. A non-OK reply becomes a Status
  // (StatusFromReply, context "driver <name> <op>"); an undecodable result is kInternal.
  template <typename Doc, typename Req>
  Result<Doc> CallDoc(PluginOp op, const Req& request);
  // The same for operations without a result document.
  template <typename Req>
  Status CallVoid(PluginOp op, const Req& request);

 private:
  struct HostContext;  // what the instance table's host_ctx points to

  PluginInstance(std::shared_ptr<PluginLibrary> library, std::unique_ptr<HostContext> ctx);
  std::string Context(PluginOp op) const;

  // Constant after construction. ctx_ (and the table in it) outlives instance_: destroy may still
  // log or emit.
  const std::shared_ptr<PluginLibrary> library_;
  const std::unique_ptr<HostContext> ctx_;
  capstan_driver_instance* instance_ = nullptr;
};

// Finds capstan-driver-<name>.so in `dirs` (in order) and loads it; the table's name must be
// `name`. kNotFound when no directory has it (the message lists the directories).
Result<std::shared_ptr<PluginLibrary>> OpenPlugin(const std::vector<std::string>& dirs, const std::string& name);
// Loads the file at `path`, which must sit directly in one of `dirs` (else kForbidden).
Result<std::shared_ptr<PluginLibrary>> OpenPluginFile(const std::vector<std::string>& dirs, const std::string& path);

// What `capstan plugins list` shows about one file.
struct PluginInfo {
  std::string path;
  std::string name, version;  // from the table (empty when it could not be loaded)
  uint32_t abi_version = 0;
  // Asked of an instance created with no configuration; unset when that failed (see error).
  std::optional<sdk::Capabilities> capabilities;
  std::string error;  // why the file could not be loaded, or why capabilities are unknown
};
// Every capstan-driver-*.so directly in `dirs`, in directory order then by file name. A file that
// fails to load is listed with its error. kNotFound when a directory cannot be read.
Result<std::vector<PluginInfo>> ListPlugins(const std::vector<std::string>& dirs);

// ---- Template definitions ----

template <typename Doc, typename Req>
Result<Doc> PluginInstance::CallDoc(PluginOp op, const Req& request) {
  PluginReply reply = Call(op, sdk::Encode(request));
  if (!reply.ok()) return StatusFromReply(reply, Context(op));
  Doc doc;
  std::string error;
  if (reply.json.empty()) return Status::Internal(Context(op) + ": returned OK without a result document");
  if (!sdk::Decode(reply.json.c_str(), &doc, &error)) {
    return Status::Internal(Context(op) + ": malformed result: " + error);
  }
  return doc;
}

template <typename Req>
Status PluginInstance::CallVoid(PluginOp op, const Req& request) {
  PluginReply reply = Call(op, sdk::Encode(request));
  return reply.ok() ? Status::Ok() : StatusFromReply(reply, Context(op));
}

}  // namespace capstan::node
