// capstan/driver_sdk.hpp: the C++ SDK for driver plugin authors. Header-only; needs C++17 or later
// and nlohmann_json (3.10 or later) in the plugin's build.
//
// Implement capstan::sdk::Driver, give the class a name, a version and a static Create, and put
// CAPSTAN_DEFINE_DRIVER(MyDriver) in one .cc file: the SDK generates capstan_driver_entry, the C
// table of capstan/driver.h, the JSON decoding of requests and encoding of results, the checks
// every driver needs (well-formed documents, declared capabilities and network modes), and the
// mapping of errors to codes. Build the plugin with -fvisibility=hidden (the CMake package's
// capstan_add_driver does) so the entry point is its only exported symbol.
//
//   class MyDriver final : public capstan::sdk::Driver {
//    public:
//     static constexpr char kName[] = "mine";       // the file is capstan-driver-mine.so
//     static constexpr char kVersion[] = "0.1.0";
//     static capstan::sdk::Result<std::unique_ptr<capstan::sdk::Driver>> Create(
//         const nlohmann::json& config, const capstan::sdk::Host& host);
//     ... the pure virtual methods of Driver ...
//   };
//   CAPSTAN_DEFINE_DRIVER(MyDriver)
//
// Errors: a method returns an sdk::Error{code, message} (helpers: NotFound(...), ...). An exception
// that escapes a method never crosses the ABI: the SDK catches it and answers CAPSTAN_ERR_INTERNAL
// with its what() as the message. Destructors must not throw.
//
// Threading: the SDK adds no lock. Every method of a Driver may be called concurrently from
// several host threads (capstan/driver.h states the rules); the destructor runs after every call
// on the instance has returned.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "capstan/driver.h"
#include "capstan/driver_json.hpp"

namespace capstan::sdk {

// ---- Errors and results ------------------------------------------------------------------------

struct Error {
  int32_t code = CAPSTAN_ERR_INTERNAL;  // a CAPSTAN_ERR_* or >= CAPSTAN_ERR_PLUGIN_BASE; never 0
  std::string message;
};

inline Error NotFound(std::string m) { return {CAPSTAN_ERR_NOT_FOUND, std::move(m)}; }
inline Error InvalidArgument(std::string m) { return {CAPSTAN_ERR_INVALID_ARGUMENT, std::move(m)}; }
inline Error InvalidConfig(std::string m) { return {CAPSTAN_ERR_INVALID_CONFIG, std::move(m)}; }
inline Error Unsupported(std::string m) { return {CAPSTAN_ERR_UNSUPPORTED, std::move(m)}; }
inline Error RetryLater(std::string m) { return {CAPSTAN_ERR_RETRY_LATER, std::move(m)}; }
inline Error Unavailable(std::string m) { return {CAPSTAN_ERR_UNAVAILABLE, std::move(m)}; }
inline Error AlreadyExists(std::string m) { return {CAPSTAN_ERR_ALREADY_EXISTS, std::move(m)}; }
inline Error Conflict(std::string m) { return {CAPSTAN_ERR_CONFLICT, std::move(m)}; }
inline Error PermissionDenied(std::string m) { return {CAPSTAN_ERR_PERMISSION_DENIED, std::move(m)}; }
inline Error Timeout(std::string m) { return {CAPSTAN_ERR_TIMEOUT, std::move(m)}; }
inline Error Internal(std::string m) { return {CAPSTAN_ERR_INTERNAL, std::move(m)}; }

// A T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design
  // Anything T is constructible from (a unique_ptr<Derived> for a unique_ptr<Driver>, ...).
  template <typename U,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Error>>>
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return !error_.has_value(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

inline Result<void> Ok() { return {}; }

// Nanoseconds since the Unix epoch, as the documents carry times.
inline int64_t UnixNano(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline int64_t NowUnixNano() { return UnixNano(std::chrono::system_clock::now()); }

// ---- Host services -------------------------------------------------------------------------------

// The host's services table (capstan_host_api), checked field by field against its struct_size.
// A copyable view: valid as long as the table it was made from (an instance's Host: until the
// instance is destroyed). Every method is thread-safe and noexcept; with no table it does nothing.
class Host {
 public:
  Host() = default;
  explicit Host(const capstan_host_api* api) : api_(api) {}

  void Log(int32_t level, std::string_view message) const noexcept {
    if (!Has(offsetof(capstan_host_api, log), sizeof(api_->log)) || api_->log == nullptr) return;
    try {
      const std::string text(message);
      api_->log(api_->host_ctx, level, text.c_str());
    } catch (...) {  // out of memory: drop the record rather than fail the caller
    }
  }
  void Debug(std::string_view m) const noexcept { Log(CAPSTAN_LOG_DEBUG, m); }
  void Info(std::string_view m) const noexcept { Log(CAPSTAN_LOG_INFO, m); }
  void Warn(std::string_view m) const noexcept { Log(CAPSTAN_LOG_WARN, m); }
  void Error(std::string_view m) const noexcept { Log(CAPSTAN_LOG_ERROR, m); }

  // Sends a ContainerExited event (declare exitEvents in the capabilities when you do).
  void EmitContainerExited(const ContainerExited& event) const noexcept {
    if (!Has(offsetof(capstan_host_api, emit_event), sizeof(api_->emit_event)) || api_->emit_event == nullptr) {
      return;
    }
    try {
      const std::string text = Encode(event);
      api_->emit_event(api_->host_ctx, text.c_str());
    } catch (...) {  // out of memory: events are hints, the host still polls
    }
  }

 private:
  bool Has(size_t offset, size_t size) const { return api_ != nullptr && offset + size <= api_->struct_size; }

  const capstan_host_api* api_ = nullptr;
};

namespace detail {
// The library table the entry point received (see LibraryHost()).
inline std::atomic<const capstan_host_api*> library_host{nullptr};
}  // namespace detail

// The host's library-wide services (logging outside of any instance). Valid while loaded.
inline Host LibraryHost() { return Host(detail::library_host.load(std::memory_order_acquire)); }

// Where Driver::Logs writes. Each call returns false once the host wants no more: return from
// Logs promptly then. Use only on the thread that called Logs, before Logs returns.
class LogSink {
 public:
  LogSink(capstan_log_sink sink, void* ctx) : sink_(sink), ctx_(ctx) {}
  bool Stdout(std::string_view data) { return Write(CAPSTAN_LOG_STREAM_STDOUT, data); }
  bool Stderr(std::string_view data) { return Write(CAPSTAN_LOG_STREAM_STDERR, data); }
  // While following with nothing to write: call at least every CAPSTAN_LOG_HEARTBEAT_MS.
  bool Heartbeat() { return Write(CAPSTAN_LOG_STREAM_HEARTBEAT, {}); }
  bool stopped() const { return stopped_; }

 private:
  bool Write(int32_t stream, std::string_view data) {
    if (stopped_) return false;
    if (sink_(ctx_, stream, data.empty() ? nullptr : data.data(), data.size()) != 0) stopped_ = true;
    return !stopped_;
  }

  capstan_log_sink sink_;
  void* ctx_;
  bool stopped_ = false;
};

// ---- The interface a plugin implements -------------------------------------------------------------

// One instance of the driver, made by the plugin class's static Create(config, host). The SDK has
// already decoded and checked every request (documents well-formed, the spec's network mode among
// the declared ones, optional operations declared in the capabilities) before calling a method.
// The contract of each method is that of the matching operation in capstan/driver.h.
class Driver {
 public:
  virtual ~Driver() = default;

  // Called once, right after Create; the SDK keeps the answer for the life of the instance.
  virtual Capabilities GetCapabilities() = 0;
  virtual Result<Fingerprint> GetFingerprint() = 0;
  virtual Result<PodRunHandle> Start(const PodRunSpec& spec) = 0;
  virtual Result<void> Recover(const PodRunHandle& handle) = 0;
  virtual Result<WaitResult> Wait(const PodRunHandle& handle, std::chrono::milliseconds timeout) = 0;
  virtual Result<void> Stop(const PodRunHandle& handle, std::chrono::milliseconds grace) = 0;
  virtual Result<void> Remove(const PodRunHandle& handle) = 0;
  virtual Result<PodRunStatus> Inspect(const PodRunHandle& handle) = 0;
  virtual Result<std::vector<PodRunHandle>> List(const std::map<std::string, std::string>& label_selector) = 0;

  // Optional: called only when GetCapabilities() declares them (imagePull, logs, exec, images).
  virtual Result<PullImageResult> PullImage(const PullImageRequest& /*request*/) { return Unsupported("pull_image"); }
  virtual Result<void> Logs(const LogsRequest& /*request*/, LogSink& /*sink*/) { return Unsupported("logs"); }
  virtual Result<ExecResult> Exec(const ExecRequest& /*request*/) { return Unsupported("exec"); }
  virtual Result<std::vector<Image>> ListImages() { return Unsupported("list_images"); }
  virtual Result<void> RemoveImage(const std::string& /*image*/) { return Unsupported("remove_image"); }
  // Optional (imageFs).
  virtual Result<ImageFsInfo> GetImageFsInfo() { return Unsupported("image_fs_info"); }
};

}  // namespace capstan::sdk

// The instance behind the ABI's opaque handle (one definition per plugin; the host never sees it).
struct capstan_driver_instance {
  std::unique_ptr<capstan::sdk::Driver> driver;
  capstan::sdk::Capabilities capabilities;
  capstan::sdk::Host host;
  std::string name;  // the driver's name, for messages
};

namespace capstan::sdk::detail {

// The ABI version range this SDK speaks.
inline constexpr uint32_t kSdkAbiMin = 1;
inline constexpr uint32_t kSdkAbiMax = CAPSTAN_DRIVER_ABI_VERSION;

constexpr bool ValidDriverName(const char* s) {
  if (s == nullptr || *s == '\0') return false;
  for (const char* c = s; *c != '\0'; ++c) {
    const bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9');
    if (!alnum && (c == s || (*c != '-' && *c != '_'))) return false;
  }
  return true;
}

// malloc'ed copies, released by FreeString (the table's free_string). NULL when out of memory.
inline char* Dup(std::string_view s) noexcept {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) return nullptr;
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}
inline void FreeString(char* s) { std::free(s); }

inline int32_t Fail(char** out_error, int32_t code, std::string_view message) noexcept {
  if (out_error != nullptr) *out_error = Dup(message);
  return code;
}
inline int32_t Fail(char** out_error, const Error& e) {
  if (e.code <= CAPSTAN_OK) {
    return Fail(out_error, CAPSTAN_ERR_INTERNAL,
                "driver bug: an error with code " + std::to_string(e.code) + ": " + e.message);
  }
  return Fail(out_error, e.code, e.message);
}

// Runs `body` (returning a code) with every exception turned into CAPSTAN_ERR_INTERNAL.
template <typename F>
int32_t Guard(char** out_error, F&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    try {
      return Fail(out_error, CAPSTAN_ERR_INTERNAL, std::string("driver threw an exception: ") + e.what());
    } catch (...) {
      return Fail(out_error, CAPSTAN_ERR_INTERNAL, "driver threw an exception");
    }
  } catch (...) {
    return Fail(out_error, CAPSTAN_ERR_INTERNAL, "driver threw an exception that is not a std::exception");
  }
}

template <typename Doc>
int32_t ReplyDoc(const Doc& doc, char** out_json, char** out_error) {
  char* text = Dup(Encode(doc));
  if (text == nullptr) return Fail(out_error, CAPSTAN_ERR_INTERNAL, "out of memory");
  *out_json = text;
  return CAPSTAN_OK;
}
template <typename T>
int32_t Reply(const Result<T>& r, char** out_json, char** out_error) {
  if (!r.ok()) return Fail(out_error, r.error());
  return ReplyDoc(r.value(), out_json, out_error);
}
inline int32_t Reply(const Result<void>& r, char** /*out_json*/, char** out_error) {
  return r.ok() ? CAPSTAN_OK : Fail(out_error, r.error());
}

inline bool Contains(const std::vector<std::string>& v, const std::string& s) {
  for (const std::string& e : v) {
    if (e == s) return true;
  }
  return false;
}

// The checks shared by every operation: arguments present, request decoded, capability declared.
template <typename Req>
int32_t Prepare(capstan_driver_instance* inst, const char* request_json, char** out_json, char** out_error,
                bool declared, const char* op, Req* req) {
  if (out_error == nullptr || out_json == nullptr) return CAPSTAN_ERR_INVALID_ARGUMENT;
  if (inst == nullptr) return Fail(out_error, CAPSTAN_ERR_INVALID_ARGUMENT, std::string(op) + ": no instance");
  if (!declared) {
    return Fail(out_error, CAPSTAN_ERR_UNSUPPORTED,
                "driver \"" + inst->name + "\" does not support " + op + " (see its capabilities)");
  }
  std::string error;
  if (!Decode(request_json, req, &error)) return Fail(out_error, CAPSTAN_ERR_INVALID_ARGUMENT, error);
  return CAPSTAN_OK;
}

// The C table of driver class D, and its entry point.
template <typename D>
struct Glue {
  static_assert(std::is_base_of_v<Driver, D>, "CAPSTAN_DEFINE_DRIVER: the class must derive from capstan::sdk::Driver");
  static_assert(ValidDriverName(D::kName), "CAPSTAN_DEFINE_DRIVER: kName must match [a-z0-9][a-z0-9_-]*");

  static int32_t Create(const char* config_json, const capstan_host_api* host, capstan_driver_instance** out,
                        char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      if (out == nullptr || out_error == nullptr) return CAPSTAN_ERR_INVALID_ARGUMENT;
      *out = nullptr;
      DriverConfig config;
      std::string error;
      if (!Decode(config_json, &config, &error)) return Fail(out_error, CAPSTAN_ERR_INVALID_CONFIG, error);
      auto inst = std::make_unique<capstan_driver_instance>();
      inst->host = Host(host);
      inst->name = D::kName;
      Result<std::unique_ptr<Driver>> made = D::Create(config.config, inst->host);
      if (!made.ok()) return Fail(out_error, made.error());
      if (made.value() == nullptr) return Fail(out_error, CAPSTAN_ERR_INTERNAL, "driver bug: Create returned null");
      inst->driver = std::move(made.value());
      inst->capabilities = inst->driver->GetCapabilities();
      for (const std::string& m : inst->capabilities.network_modes) {
        if (m != "host" && m != "bridge" && m != "none") {
          return Fail(out_error, CAPSTAN_ERR_INTERNAL,
                      "driver bug: unknown network mode \"" + m + "\" in capabilities");
        }
      }
      if (inst->capabilities.network_modes.empty()) {
        return Fail(out_error, CAPSTAN_ERR_INTERNAL, "driver bug: capabilities declare no network mode");
      }
      *out = inst.release();
      return CAPSTAN_OK;
    });
  }

  static void Destroy(capstan_driver_instance* inst) noexcept { delete inst; }

  static int32_t Capabilities(capstan_driver_instance* inst, const char* req, char** out_json,
                              char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      CapabilitiesRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "capabilities", &r)) return c;
      return ReplyDoc(inst->capabilities, out_json, out_error);
    });
  }

  static int32_t Fingerprint(capstan_driver_instance* inst, const char* req, char** out_json,
                             char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      FingerprintRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "fingerprint", &r)) return c;
      return Reply(inst->driver->GetFingerprint(), out_json, out_error);
    });
  }

  static int32_t Start(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      PodRunSpec spec;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "start", &spec)) return c;
      if (!Contains(inst->capabilities.network_modes, spec.network_mode)) {
        return Fail(out_error, CAPSTAN_ERR_UNSUPPORTED,
                    "driver \"" + inst->name + "\" does not support network mode \"" + spec.network_mode + "\"");
      }
      Result<PodRunHandle> handle = inst->driver->Start(spec);
      if (handle.ok() && handle.value().id.empty()) {
        return Fail(out_error, CAPSTAN_ERR_INTERNAL, "driver bug: Start returned a handle without an id");
      }
      return Reply(handle, out_json, out_error);
    });
  }

  static int32_t Recover(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      HandleRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "recover", &r)) return c;
      return Reply(inst->driver->Recover(r.handle), out_json, out_error);
    });
  }

  static int32_t Wait(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      WaitRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "wait", &r)) return c;
      return Reply(inst->driver->Wait(r.handle, std::chrono::milliseconds(r.timeout_ms)), out_json, out_error);
    });
  }

  static int32_t Stop(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      StopRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "stop", &r)) return c;
      return Reply(inst->driver->Stop(r.handle, std::chrono::milliseconds(r.grace_period_ms)), out_json, out_error);
    });
  }

  static int32_t Remove(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      HandleRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "remove", &r)) return c;
      return Reply(inst->driver->Remove(r.handle), out_json, out_error);
    });
  }

  static int32_t Inspect(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      HandleRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "inspect", &r)) return c;
      return Reply(inst->driver->Inspect(r.handle), out_json, out_error);
    });
  }

  static int32_t List(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      ListRequest r;
      if (int32_t c = Prepare(inst, req, out_json, out_error, true, "list", &r)) return c;
      Result<std::vector<PodRunHandle>> items = inst->driver->List(r.label_selector);
      if (!items.ok()) return Fail(out_error, items.error());
      return ReplyDoc(PodRunList{std::move(items.value())}, out_json, out_error);
    });
  }

  static int32_t PullImage(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      PullImageRequest r;
      const bool declared = inst != nullptr && inst->capabilities.image_pull;
      if (int32_t c = Prepare(inst, req, out_json, out_error, declared, "pull_image", &r)) return c;
      return Reply(inst->driver->PullImage(r), out_json, out_error);
    });
  }

  static int32_t Logs(capstan_driver_instance* inst, const char* req, capstan_log_sink sink, void* sink_ctx,
                      char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      LogsRequest r;
      const bool declared = inst != nullptr && inst->capabilities.logs;
      char* no_json = nullptr;  // logs has no result document
      if (int32_t c = Prepare(inst, req, &no_json, out_error, declared, "logs", &r)) return c;
      if (sink == nullptr) return Fail(out_error, CAPSTAN_ERR_INVALID_ARGUMENT, "logs: no sink");
      LogSink s(sink, sink_ctx);
      Result<void> done = inst->driver->Logs(r, s);
      return done.ok() ? CAPSTAN_OK : Fail(out_error, done.error());
    });
  }

  static int32_t Exec(capstan_driver_instance* inst, const char* req, char** out_json, char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      ExecRequest r;
      const bool declared = inst != nullptr && inst->capabilities.exec;
      if (int32_t c = Prepare(inst, req, out_json, out_error, declared, "exec", &r)) return c;
      return Reply(inst->driver->Exec(r), out_json, out_error);
    });
  }

  static int32_t ListImages(capstan_driver_instance* inst, const char* req, char** out_json,
                            char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      ListImagesRequest r;
      const bool declared = inst != nullptr && inst->capabilities.images;
      if (int32_t c = Prepare(inst, req, out_json, out_error, declared, "list_images", &r)) return c;
      Result<std::vector<Image>> images = inst->driver->ListImages();
      if (!images.ok()) return Fail(out_error, images.error());
      return ReplyDoc(ImageList{std::move(images.value())}, out_json, out_error);
    });
  }

  static int32_t RemoveImage(capstan_driver_instance* inst, const char* req, char** out_json,
                             char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      RemoveImageRequest r;
      const bool declared = inst != nullptr && inst->capabilities.images;
      if (int32_t c = Prepare(inst, req, out_json, out_error, declared, "remove_image", &r)) return c;
      return Reply(inst->driver->RemoveImage(r.image), out_json, out_error);
    });
  }

  static int32_t ImageFsInfoOp(capstan_driver_instance* inst, const char* req, char** out_json,
                               char** out_error) noexcept {
    return Guard(out_error, [&]() -> int32_t {
      ImageFsInfoRequest r;
      const bool declared = inst != nullptr && inst->capabilities.image_fs;
      if (int32_t c = Prepare(inst, req, out_json, out_error, declared, "image_fs_info", &r)) return c;
      Result<ImageFsInfo> info = inst->driver->GetImageFsInfo();
      if (info.ok()) {
        // The host refuses an inconsistent document: say here that it is the driver's bug.
        const ImageFsInfo& v = info.value();
        if (v.capacity_bytes <= 0 || v.available_bytes < 0 || v.available_bytes > v.capacity_bytes) {
          return Fail(out_error, CAPSTAN_ERR_INTERNAL,
                      "driver bug: image_fs_info: capacityBytes " + std::to_string(v.capacity_bytes) +
                          " and availableBytes " + std::to_string(v.available_bytes) +
                          " (need 0 <= available <= capacity, capacity > 0)");
        }
      }
      return Reply(info, out_json, out_error);
    });
  }

  static const capstan_driver_api* Table() noexcept {
    static const capstan_driver_api api = {
        sizeof(capstan_driver_api),
        CAPSTAN_DRIVER_ABI_VERSION,
        D::kName,
        D::kVersion,
        &FreeString,
        &Create,
        &Destroy,
        &Capabilities,
        &Fingerprint,
        &Start,
        &Recover,
        &Wait,
        &Stop,
        &Remove,
        &Inspect,
        &List,
        &PullImage,
        &Logs,
        &Exec,
        &ListImages,
        &RemoveImage,
        &ImageFsInfoOp,
    };
    return &api;
  }

  static int32_t Entry(uint32_t host_abi_min, uint32_t host_abi_max, const capstan_host_api* host,
                       const capstan_driver_api** out_api) noexcept {
    if (out_api == nullptr) return CAPSTAN_ERR_INVALID_ARGUMENT;
    *out_api = nullptr;
    if (host_abi_min > kSdkAbiMax || host_abi_max < kSdkAbiMin || host_abi_min > host_abi_max) {
      return CAPSTAN_ERR_ABI_MISMATCH;
    }
    if (host != nullptr) library_host.store(host, std::memory_order_release);
    *out_api = Table();
    return CAPSTAN_OK;
  }
};

}  // namespace capstan::sdk::detail

// Defines capstan_driver_entry for DriverClass. Use once per plugin, at namespace scope.
#define CAPSTAN_DEFINE_DRIVER(DriverClass)                                                                    \
  extern "C" CAPSTAN_DRIVER_EXPORT int32_t capstan_driver_entry(uint32_t host_abi_min, uint32_t host_abi_max, \
                                                                const capstan_host_api* host,                 \
                                                                const capstan_driver_api** out_api) {         \
    return ::capstan::sdk::detail::Glue<DriverClass>::Entry(host_abi_min, host_abi_max, host, out_api);       \
  }
