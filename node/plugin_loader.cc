#include "node/plugin_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include "base/log.h"

namespace capstan::node {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

log::Level LogLevel(int32_t level) {
  if (level <= CAPSTAN_LOG_DEBUG) return log::Level::kDebug;
  if (level == CAPSTAN_LOG_INFO) return log::Level::kInfo;
  if (level == CAPSTAN_LOG_WARN) return log::Level::kWarn;
  return log::Level::kError;
}

// The library table handed to a plugin's entry point must stay valid while the library is loaded
// and be the same pointer on every call (capstan/driver.h). dlopen shares one image between
// several loads of a file, so the table belongs to the file, not to a PluginLibrary: one per path,
// kept for the life of the process (a few bytes per plugin file ever loaded).
struct LibraryContext {
  std::string path;
  capstan_host_api table{};
};

void LibraryLog(void* ctx, int32_t level, const char* message) {
  try {
    const auto* lib = static_cast<const LibraryContext*>(ctx);
    if (log::Enabled(LogLevel(level))) {
      log::Write(LogLevel(level), message != nullptr ? message : "", {{"plugin", lib->path}});
    }
  } catch (...) {  // never into the plugin
  }
}

void LibraryEmit(void* /*ctx*/, const char* /*event_json*/) {}  // events belong to instances

const capstan_host_api* LibraryTable(const std::string& path) {
  static std::mutex mu;
  static auto* tables = new std::map<std::string, std::unique_ptr<LibraryContext>>();  // never destroyed
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<LibraryContext>& ctx = (*tables)[path];
  if (ctx == nullptr) {
    ctx = std::make_unique<LibraryContext>();
    ctx->path = path;
    ctx->table = {sizeof(capstan_host_api), CAPSTAN_DRIVER_ABI_VERSION, ctx.get(), &LibraryLog, &LibraryEmit};
  }
  return &ctx->table;
}

bool ValidDriverName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_'))) return false;
  }
  return true;
}

// Closes a dlopen handle unless released.
class DlHandle {
 public:
  explicit DlHandle(void* h) : h_(h) {}
  ~DlHandle() {
    if (h_ != nullptr) dlclose(h_);
  }
  void* release() { return std::exchange(h_, nullptr); }

 private:
  void* h_;
};

std::string DirList(const std::vector<std::string>& dirs) {
  std::string out;
  for (const std::string& d : dirs) out += (out.empty() ? "" : ", ") + d;
  return out;
}

// The absolute, lexically normal form of `p`, without a trailing separator.
fs::path Normal(const std::string& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  abs = abs.lexically_normal();
  if (!abs.has_filename() && abs.has_parent_path() && abs != abs.root_path()) abs = abs.parent_path();
  return abs;
}

}  // namespace

const char* PluginOpName(PluginOp op) {
  switch (op) {
    case PluginOp::kCapabilities: return "capabilities";
    case PluginOp::kFingerprint: return "fingerprint";
    case PluginOp::kStart: return "start";
    case PluginOp::kRecover: return "recover";
    case PluginOp::kWait: return "wait";
    case PluginOp::kStop: return "stop";
    case PluginOp::kRemove: return "remove";
    case PluginOp::kInspect: return "inspect";
    case PluginOp::kList: return "list";
    case PluginOp::kPullImage: return "pull_image";
    case PluginOp::kExec: return "exec";
    case PluginOp::kListImages: return "list_images";
    case PluginOp::kRemoveImage: return "remove_image";
    case PluginOp::kImageFsInfo: return "image_fs_info";
  }
  return "unknown";
}

Status StatusFromReply(const PluginReply& reply, const std::string& context) {
  Code code = Code::kInternal;
  switch (reply.code) {
    case CAPSTAN_ERR_NOT_FOUND: code = Code::kNotFound; break;
    case CAPSTAN_ERR_INVALID_ARGUMENT:
    case CAPSTAN_ERR_INVALID_CONFIG: code = Code::kInvalid; break;
    // The closest Code: the operation exists in the API but not in this driver.
    case CAPSTAN_ERR_UNSUPPORTED: code = Code::kMethodNotAllowed; break;
    case CAPSTAN_ERR_RETRY_LATER:
    case CAPSTAN_ERR_UNAVAILABLE: code = Code::kUnavailable; break;
    case CAPSTAN_ERR_ALREADY_EXISTS: code = Code::kAlreadyExists; break;
    case CAPSTAN_ERR_CONFLICT: code = Code::kConflict; break;
    case CAPSTAN_ERR_PERMISSION_DENIED: code = Code::kForbidden; break;
    case CAPSTAN_ERR_TIMEOUT: code = Code::kTimeout; break;
    default: break;
  }
  std::string name = sdk::CodeName(reply.code);
  if (reply.code >= CAPSTAN_ERR_PLUGIN_BASE || name == "UNKNOWN") name += " " + std::to_string(reply.code);
  return Status(code, context + ": " + name + ": " + reply.error)
      .WithDetails(json({{"driverCode", reply.code}}).dump());
}

std::optional<int32_t> DriverCodeOf(const Status& status) {
  if (status.details().empty()) return std::nullopt;
  json d = json::parse(status.details(), nullptr, /*allow_exceptions=*/false);
  if (!d.is_object()) return std::nullopt;
  auto it = d.find("driverCode");
  if (it == d.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int32_t>();
}

// ---- PluginLibrary ----

PluginLibrary::PluginLibrary(std::string path, void* handle, const capstan_driver_api* api)
    : path_(std::move(path)), handle_(handle), api_(api), name_(api->name), version_(api->version) {}

PluginLibrary::~PluginLibrary() { dlclose(handle_); }

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::Load(const std::string& given_path) {
  // dlopen searches the library path for a name without a slash: always pass an absolute path.
  const std::string path = Normal(given_path).string();
  const std::string where = "driver plugin " + path;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Status::NotFound(where + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::Invalid(where + ": not a regular file");

  dlerror();
  void* raw = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (raw == nullptr) {
    const char* why = dlerror();
    return Status::Invalid(where + ": cannot be loaded: " + (why != nullptr ? why : "dlopen failed"));
  }
  DlHandle handle(raw);
  dlerror();
  void* sym = dlsym(raw, CAPSTAN_DRIVER_ENTRY_SYMBOL);
  if (sym == nullptr) {
    return Status::Invalid(where + ": not a Capstan driver plugin: it does not export " CAPSTAN_DRIVER_ENTRY_SYMBOL);
  }
  auto entry = reinterpret_cast<capstan_driver_entry_fn>(sym);

  // The ABI check comes first: nothing else of the plugin is called before it.
  const std::string range = std::to_string(kHostAbiMin) + ".." + std::to_string(kHostAbiMax);
  const capstan_driver_api* api = nullptr;
  int32_t code = CAPSTAN_ERR_INTERNAL;
  try {
    code = entry(kHostAbiMin, kHostAbiMax, LibraryTable(path), &api);
  } catch (...) {
    return Status::Invalid(where + ": " CAPSTAN_DRIVER_ENTRY_SYMBOL " threw an exception across the ABI");
  }
  if (code == CAPSTAN_ERR_ABI_MISMATCH) {
    return Status::Invalid(where + ": ABI version mismatch: the host speaks ABI " + range +
                           " and the plugin none of them (ABI_MISMATCH)");
  }
  if (code != CAPSTAN_OK) {
    return Status::Invalid(where + ": " CAPSTAN_DRIVER_ENTRY_SYMBOL " failed: " + sdk::CodeName(code) + " (" +
                           std::to_string(code) + ")");
  }
  if (api == nullptr) return Status::Invalid(where + ": " CAPSTAN_DRIVER_ENTRY_SYMBOL " returned no table");
  // struct_size first: no other field may be read before it is known to be there.
  if (api->struct_size < offsetof(capstan_driver_api, name)) {
    return Status::Invalid(where + ": driver table too small (" + std::to_string(api->struct_size) + " bytes)");
  }
  if (api->abi_version < kHostAbiMin || api->abi_version > kHostAbiMax) {
    return Status::Invalid(where + ": ABI version mismatch: the plugin answered ABI " +
                           std::to_string(api->abi_version) + ", the host speaks ABI " + range);
  }
  if (api->struct_size < CAPSTAN_DRIVER_API_MIN_SIZE) {
    return Status::Invalid(where + ": driver table too small (" + std::to_string(api->struct_size) + " bytes; ABI " +
                           std::to_string(api->abi_version) + " needs at least " +
                           std::to_string(CAPSTAN_DRIVER_API_MIN_SIZE) + "): built against another capstan/driver.h?");
  }
  if (api->name == nullptr || !ValidDriverName(api->name)) {
    return Status::Invalid(where + ": the driver table's name " +
                           (api->name == nullptr ? std::string("is NULL") : "\"" + std::string(api->name) + "\"") +
                           " does not match [a-z0-9][a-z0-9_-]*");
  }
  if (api->version == nullptr) return Status::Invalid(where + ": the driver table's version is NULL");
  const std::pair<const char*, bool> required[] = {
      {"free_string", api->free_string != nullptr},
      {"create", api->create != nullptr},
      {"destroy", api->destroy != nullptr},
      {"capabilities", api->capabilities != nullptr},
      {"fingerprint", api->fingerprint != nullptr},
      {"start", api->start != nullptr},
      {"recover", api->recover != nullptr},
      {"wait", api->wait != nullptr},
      {"stop", api->stop != nullptr},
      {"remove", api->remove != nullptr},
      {"inspect", api->inspect != nullptr},
      {"list", api->list != nullptr},
  };
  for (const auto& [field, present] : required) {
    if (!present) return Status::Invalid(where + ": the driver table lacks the required function " + field);
  }
  return std::shared_ptr<PluginLibrary>(new PluginLibrary(path, handle.release(), api));
}

#define CAPSTAN_TABLE_FIELD(field) \
  (Reaches(offsetof(capstan_driver_api, field), sizeof(api_->field)) ? api_->field : nullptr)

capstan_driver_op PluginLibrary::Op(PluginOp op) const {
  switch (op) {
    case PluginOp::kCapabilities: return CAPSTAN_TABLE_FIELD(capabilities);
    case PluginOp::kFingerprint: return CAPSTAN_TABLE_FIELD(fingerprint);
    case PluginOp::kStart: return CAPSTAN_TABLE_FIELD(start);
    case PluginOp::kRecover: return CAPSTAN_TABLE_FIELD(recover);
    case PluginOp::kWait: return CAPSTAN_TABLE_FIELD(wait);
    case PluginOp::kStop: return CAPSTAN_TABLE_FIELD(stop);
    case PluginOp::kRemove: return CAPSTAN_TABLE_FIELD(remove);
    case PluginOp::kInspect: return CAPSTAN_TABLE_FIELD(inspect);
    case PluginOp::kList: return CAPSTAN_TABLE_FIELD(list);
    case PluginOp::kPullImage: return CAPSTAN_TABLE_FIELD(pull_image);
    case PluginOp::kExec: return CAPSTAN_TABLE_FIELD(exec);
    case PluginOp::kListImages: return CAPSTAN_TABLE_FIELD(list_images);
    case PluginOp::kRemoveImage: return CAPSTAN_TABLE_FIELD(remove_image);
    case PluginOp::kImageFsInfo: return CAPSTAN_TABLE_FIELD(image_fs_info);
  }
  return nullptr;
}

decltype(capstan_driver_api::logs) PluginLibrary::LogsFn() const { return CAPSTAN_TABLE_FIELD(logs); }

#undef CAPSTAN_TABLE_FIELD

// ---- PluginInstance ----

struct PluginInstance::HostContext {
  std::string driver;
  EventHandler on_event;  // constant once the table is handed out
  capstan_host_api table{};

  static void Log(void* ctx, int32_t level, const char* message) {
    try {
      const auto* self = static_cast<const HostContext*>(ctx);
      if (log::Enabled(LogLevel(level))) {
        log::Write(LogLevel(level), message != nullptr ? message : "", {{"driver", self->driver}});
      }
    } catch (...) {  // never into the plugin
    }
  }
  static void Emit(void* ctx, const char* event_json) {
    try {
      const auto* self = static_cast<const HostContext*>(ctx);
      if (self->on_event && event_json != nullptr) self->on_event(event_json);
    } catch (...) {  // never into the plugin
    }
  }
};

PluginInstance::PluginInstance(std::shared_ptr<PluginLibrary> library, std::unique_ptr<HostContext> ctx)
    : library_(std::move(library)), ctx_(std::move(ctx)) {}

PluginInstance::~PluginInstance() {
  if (instance_ != nullptr) library_->api().destroy(instance_);
}

Result<std::unique_ptr<PluginInstance>> PluginInstance::Create(std::shared_ptr<PluginLibrary> library,
                                                               const json& config, EventHandler on_event) {
  return CreateFromDocument(std::move(library), sdk::Encode(sdk::DriverConfig{config}), std::move(on_event));
}

Result<std::unique_ptr<PluginInstance>> PluginInstance::CreateFromDocument(std::shared_ptr<PluginLibrary> library,
                                                                           const std::string& config_document,
                                                                           EventHandler on_event) {
  auto ctx = std::make_unique<HostContext>();
  ctx->driver = library->name();
  ctx->on_event = std::move(on_event);
  ctx->table = {sizeof(capstan_host_api), CAPSTAN_DRIVER_ABI_VERSION, ctx.get(), &HostContext::Log, &HostContext::Emit};
  const capstan_host_api* table = &ctx->table;
  std::unique_ptr<PluginInstance> self(new PluginInstance(std::move(library), std::move(ctx)));
  const capstan_driver_api& api = self->library_->api();
  const std::string where = "driver plugin " + self->library_->path() + ": create";

  PluginReply reply;
  char* error = nullptr;
  capstan_driver_instance* instance = nullptr;
  try {
    reply.code = api.create(config_document.c_str(), table, &instance, &error);
  } catch (...) {
    return Status::Internal(where + ": threw an exception across the ABI");
  }
  if (error != nullptr) {
    reply.error = error;
    api.free_string(error);
  }
  if (reply.code != CAPSTAN_OK) {
    // An instance returned with an error is the plugin's bug; it is not destroyed (its state is
    // unknown), only never used.
    if (reply.error.empty()) reply.error = "(no message)";
    return StatusFromReply(reply, where);
  }
  if (instance == nullptr) return Status::Internal(where + ": returned OK without an instance");
  self->instance_ = instance;
  return self;
}

std::string PluginInstance::Context(PluginOp op) const { return "driver " + library_->name() + " " + PluginOpName(op); }

PluginReply PluginInstance::Call(PluginOp op, const std::string& request_json) {
  PluginReply reply;
  capstan_driver_op fn = library_->Op(op);
  if (fn == nullptr) {
    reply.code = CAPSTAN_ERR_UNSUPPORTED;
    reply.error = std::string("the plugin does not implement ") + PluginOpName(op);
    return reply;
  }
  char* out_json = nullptr;
  char* out_error = nullptr;
  try {
    reply.code = fn(instance_, request_json.c_str(), &out_json, &out_error);
  } catch (...) {
    // The ABI forbids this; a C++ plugin that lets an exception escape is still caught here when
    // the unwinder can get through, rather than taking the host down.
    reply.code = CAPSTAN_ERR_INTERNAL;
    reply.error = "the plugin threw an exception across the ABI (a bug in the plugin)";
    return reply;
  }
  const capstan_driver_api& api = library_->api();
  if (out_json != nullptr) {
    if (reply.ok()) reply.json = out_json;
    reply.json_with_error = !reply.ok();
    api.free_string(out_json);
  }
  if (out_error != nullptr) {
    if (!reply.ok()) reply.error = out_error;
    reply.error_with_ok = reply.ok();
    api.free_string(out_error);
  }
  if (!reply.ok() && reply.error.empty()) reply.error = "(no message)";
  return reply;
}

namespace {
struct SinkContext {
  const PluginInstance::LogSink* sink;
};
int32_t SinkTrampoline(void* ctx, int32_t stream, const char* data, size_t len) {
  try {
    const auto* self = static_cast<const SinkContext*>(ctx);
    return (*self->sink)(stream, std::string_view(data != nullptr ? data : "", data != nullptr ? len : 0)) ? 0 : 1;
  } catch (...) {  // never into the plugin: a failing sink stops the stream
    return 1;
  }
}
}  // namespace

PluginReply PluginInstance::Logs(const std::string& request_json, const LogSink& sink) {
  PluginReply reply;
  auto fn = library_->LogsFn();
  if (fn == nullptr) {
    reply.code = CAPSTAN_ERR_UNSUPPORTED;
    reply.error = "the plugin does not implement logs";
    return reply;
  }
  SinkContext ctx{&sink};
  char* out_error = nullptr;
  try {
    reply.code = fn(instance_, request_json.c_str(), &SinkTrampoline, &ctx, &out_error);
  } catch (...) {
    reply.code = CAPSTAN_ERR_INTERNAL;
    reply.error = "the plugin threw an exception across the ABI (a bug in the plugin)";
    return reply;
  }
  if (out_error != nullptr) {
    if (!reply.ok()) reply.error = out_error;
    reply.error_with_ok = reply.ok();
    library_->api().free_string(out_error);
  }
  if (!reply.ok() && reply.error.empty()) reply.error = "(no message)";
  return reply;
}

// ---- Finding plugins ----

Result<std::shared_ptr<PluginLibrary>> OpenPluginFile(const std::vector<std::string>& dirs, const std::string& path) {
  const fs::path file = Normal(path);
  for (const std::string& dir : dirs) {
    if (file.parent_path() == Normal(dir)) return PluginLibrary::Load(file.string());
  }
  return Status::Forbidden("driver plugin " + file.string() + ": not in a configured plugin directory (" +
                           (dirs.empty() ? std::string("none configured") : DirList(dirs)) + ")");
}

Result<std::shared_ptr<PluginLibrary>> OpenPlugin(const std::vector<std::string>& dirs, const std::string& name) {
  if (!ValidDriverName(name)) {
    return Status::Invalid("driver \"" + name + "\": a driver name matches [a-z0-9][a-z0-9_-]*");
  }
  const std::string file = CAPSTAN_DRIVER_FILE_PREFIX + name + CAPSTAN_DRIVER_FILE_SUFFIX;
  if (dirs.empty()) return Status::NotFound("driver \"" + name + "\": no plugin directory is configured");
  for (const std::string& dir : dirs) {
    const fs::path candidate = Normal(dir) / file;
    std::error_code ec;
    if (!fs::exists(candidate, ec)) continue;
    auto lib = PluginLibrary::Load(candidate.string());
    if (!lib.ok()) return lib.status();
    if ((*lib)->name() != name) {
      return Status::Invalid("driver plugin " + candidate.string() + ": its table names the driver \"" +
                             (*lib)->name() + "\", not \"" + name + "\"");
    }
    return lib;
  }
  return Status::NotFound("driver \"" + name + "\": no " + file + " in the plugin directories (" + DirList(dirs) + ")");
}

Result<std::vector<PluginInfo>> ListPlugins(const std::vector<std::string>& dirs) {
  std::vector<PluginInfo> out;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(Normal(dir), ec), end; !ec && it != end; it.increment(ec)) {
      const std::string f = it->path().filename().string();
      const std::string prefix = CAPSTAN_DRIVER_FILE_PREFIX, suffix = CAPSTAN_DRIVER_FILE_SUFFIX;
      if (f.size() > prefix.size() + suffix.size() && f.compare(0, prefix.size(), prefix) == 0 &&
          f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0) {
        files.push_back(it->path());
      }
    }
    if (ec) return Status::NotFound("plugin directory " + dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      PluginInfo info;
      info.path = file.string();
      auto lib = PluginLibrary::Load(info.path);
      if (!lib.ok()) {
        info.error = lib.status().message();
        out.push_back(std::move(info));
        continue;
      }
      info.name = (*lib)->name();
      info.version = (*lib)->version();
      info.abi_version = (*lib)->abi_version();
      auto instance = PluginInstance::Create(*lib, nullptr);
      if (!instance.ok()) {
        info.error = "capabilities unknown: " + instance.status().message();
      } else {
        auto caps = (*instance)->CallDoc<sdk::Capabilities>(PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
        if (caps.ok()) {
          info.capabilities = std::move(*caps);
        } else {
          info.error = "capabilities unknown: " + caps.status().message();
        }
      }
      out.push_back(std::move(info));
    }
  }
  return out;
}

}  // namespace capstan::node
