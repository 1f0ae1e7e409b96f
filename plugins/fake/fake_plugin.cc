// The fake driver as a plugin (capstan-driver-fake.so): node/fake_driver's FakeDriver behind the
// driver ABI, built on the SDK. FakeDriver keeps its contract (start latency, failure rate and its
// seed, capacity; see node/fake_driver.h, whose configuration this plugin takes unchanged); this
// file adds what the ABI has and FakeDriver has not:
//   - runs live in an engine shared by every instance with the same configuration, for as long as
//     the library is loaded: the engine is what a real driver's daemon is, so destroying an
//     instance leaves its runs running and a new instance recovers them (a real host restart
//     unloads the library: the runs are gone then, and recover answers NOT_FOUND);
//   - labels per run, for list's selector; wait (on a condition variable, woken by stop/remove
//     and at the start time FakeDriver reports); ContainerExited events, sent by stop, and for a
//     crash (failureRate) when a call first observes it (the fake has no thread to notice it);
//   - logs: one line per event of a container (created, started, exited), following until exit;
//   - exec: `true` (0), `false` (1), `echo ARGS...` (prints them); anything else exits 127;
//   - images: pulled images and those of runs not removed, id "fake://<image>"; an image in use
//     cannot be removed (CONFLICT); the image filesystem of the configuration's imageFs (constant:
//     the fake's images have no size), declared as imageFs only when configured.
// Thread-safety: every method is thread-safe: the engine's mutex guards its maps, FakeDriver is
// thread-safe itself. Lock order: Engine::mu, then FakeDriver's own mutex. Events and log sinks are
// called without the engine's mutex held.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "capstan/driver_sdk.hpp"
#include "node/fake_driver.h"

namespace capstan::plugins::fake {
namespace {

namespace sdk = ::capstan::sdk;
using json = nlohmann::json;
using node::ContainerPhase;
using node::FakeDriver;
using node::PodHandle;
using Steady = std::chrono::steady_clock;

struct RunMeta {
  std::string pod_uid;
  std::map<std::string, std::string> labels;
  std::vector<std::string> images;
  std::set<std::string> exit_reported;  // containers whose ContainerExited was sent
};

// The runs of one configuration (see the file comment).
struct Engine {
  explicit Engine(node::FakeDriverConfig config) : driver(std::move(config)) {}

  FakeDriver driver;  // thread-safe
  std::mutex mu;
  std::condition_variable changed;  // notified on stop and remove
  // Guarded by mu.
  std::map<std::string, RunMeta> runs;  // handle id -> meta; exactly FakeDriver's runs
  std::set<std::string> pulled;
};

// One engine per canonical configuration, alive while the library is loaded.
std::shared_ptr<Engine> EngineFor(const std::string& key, const node::FakeDriverConfig& config) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<Engine>> engines;
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<Engine>& e = engines[key];
  if (e == nullptr) e = std::make_shared<Engine>(config);
  return e;
}

int64_t UnixNano(const std::optional<std::chrono::system_clock::time_point>& t) { return sdk::UnixNano(*t); }

sdk::ContainerStatus ToAbi(const node::ContainerState& s) {
  sdk::ContainerStatus out;
  out.name = s.name;
  out.id = s.id;
  out.image = s.image;
  out.image_id = s.image_id;
  out.state = s.phase == ContainerPhase::kRunning      ? sdk::ContainerState::kRunning
              : s.phase == ContainerPhase::kTerminated ? sdk::ContainerState::kTerminated
                                                       : sdk::ContainerState::kWaiting;
  out.reason = s.reason;
  out.message = s.message;
  out.exit_code = s.exit_code;
  if (s.started_at) out.started_at_unix_nano = UnixNano(s.started_at);
  if (s.finished_at) out.finished_at_unix_nano = UnixNano(s.finished_at);
  out.ready = s.ready;
  return out;
}

sdk::PodRunHandle ToAbi(const PodHandle& h) {
  sdk::PodRunHandle out;
  out.id = h.id;
  out.pod = {h.pod_uid, h.pod_namespace, h.pod_name};
  for (const node::ContainerHandle& c : h.containers) out.containers.push_back({c.name, c.id});
  return out;
}

sdk::Error FromStatus(const Status& s) {
  const int32_t code = s.code() == Code::kNotFound  ? CAPSTAN_ERR_NOT_FOUND
                       : s.code() == Code::kInvalid ? CAPSTAN_ERR_INVALID_ARGUMENT
                                                    : CAPSTAN_ERR_INTERNAL;
  return sdk::Error{code, s.message()};
}

bool AllTerminated(const std::vector<sdk::ContainerStatus>& cs) {
  return std::all_of(cs.begin(), cs.end(),
                     [](const sdk::ContainerStatus& c) { return c.state == sdk::ContainerState::kTerminated; });
}

// The log of one container: a line per event it went through.
std::vector<std::string> LogLines(const sdk::ContainerStatus& c) {
  std::vector<std::string> lines = {"fake: container " + c.name + " created (image " + c.image + ")\n"};
  if (c.started_at_unix_nano) lines.push_back("fake: container " + c.name + " started\n");
  if (c.state == sdk::ContainerState::kTerminated) {
    lines.push_back("fake: container " + c.name + " exited with code " + std::to_string(c.exit_code) + " (" + c.reason +
                    ")\n");
  }
  return lines;
}

class FakePlugin final : public sdk::Driver {
 public:
  static constexpr char kName[] = "fake";
  static constexpr char kVersion[] = "1.0.0";

  static sdk::Result<std::unique_ptr<sdk::Driver>> Create(const json& config, const sdk::Host& host) {
    auto parsed = node::FakeDriverConfig::FromJson(config);
    if (!parsed.ok()) return sdk::InvalidConfig(parsed.status().message());
    // json objects are ordered maps: dump() is canonical, and null means the defaults as {} does.
    const std::string key = config.is_null() ? "{}" : config.dump();
    return std::make_unique<FakePlugin>(EngineFor(key, *parsed), host);
  }

  FakePlugin(std::shared_ptr<Engine> engine, sdk::Host host) : engine_(std::move(engine)), host_(host) {}

  sdk::Capabilities GetCapabilities() override {
    sdk::Capabilities c;
    c.exec = c.logs = c.image_pull = c.images = c.exit_events = true;
    c.remote_endpoint = false;
    c.image_fs = engine_->driver.ImageFsInfo().ok();  // configured (imageFs) or not
    c.network_modes = {"host", "bridge", "none"};
    return c;
  }

  sdk::Result<sdk::Fingerprint> GetFingerprint() override {
    node::DriverFingerprint fp = engine_->driver.Fingerprint();
    sdk::Fingerprint out;
    out.healthy = fp.healthy;
    out.message = fp.message;
    out.os = fp.os;
    out.arch = fp.arch;
    out.runtime_version = fp.runtime_version;
    out.capacity = fp.capacity;
    return out;
  }

  sdk::Result<sdk::PodRunHandle> Start(const sdk::PodRunSpec& spec) override {
    json pod = {{"metadata", {{"uid", spec.pod.uid}, {"namespace", spec.pod.namespace_name}, {"name", spec.pod.name}}},
                {"spec", {{"containers", json::array()}}}};
    RunMeta meta;
    meta.pod_uid = spec.pod.uid;
    meta.labels = spec.labels;
    for (const sdk::ContainerSpec& c : spec.containers) {
      pod["spec"]["containers"].push_back({{"name", c.name}, {"image", c.image}});
      meta.images.push_back(c.image);
    }
    std::lock_guard<std::mutex> lock(engine_->mu);
    auto handle = engine_->driver.StartPod(pod);
    if (!handle.ok()) return FromStatus(handle.status());
    engine_->runs[handle->id] = std::move(meta);
    return ToAbi(*handle);
  }

  sdk::Result<void> Recover(const sdk::PodRunHandle& handle) override {
    std::lock_guard<std::mutex> lock(engine_->mu);
    if (engine_->runs.count(handle.id) == 0) return NoRun(handle);
    return sdk::Ok();
  }

  sdk::Result<sdk::PodRunStatus> Inspect(const sdk::PodRunHandle& handle) override {
    std::vector<sdk::ContainerExited> events;
    sdk::PodRunStatus out;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      auto state = ObserveLocked(handle.id, &events);
      if (!state.ok()) return state.error();
      out.containers = std::move(state.value().first);
      out.recheck_after_ms = state.value().second.count();
    }
    Emit(events);
    return out;
  }

  sdk::Result<sdk::WaitResult> Wait(const sdk::PodRunHandle& handle, std::chrono::milliseconds timeout) override {
    const Steady::time_point deadline = Steady::now() + timeout;
    std::vector<sdk::ContainerExited> events;
    sdk::WaitResult out;
    {
      std::unique_lock<std::mutex> lock(engine_->mu);
      for (;;) {
        auto state = ObserveLocked(handle.id, &events);
        if (!state.ok()) return state.error();
        out.containers = std::move(state.value().first);
        out.exited = AllTerminated(out.containers);
        const Steady::time_point now = Steady::now();
        if (out.exited || now >= deadline) break;
        // A waiting container changes at its start time (FakeDriver's recheck hint); a running one
        // only when stopped or removed, which notify `changed`.
        Steady::time_point next = deadline;
        if (state.value().second.count() > 0) next = std::min(next, now + state.value().second);
        engine_->changed.wait_until(lock, next);
      }
    }
    Emit(events);
    return out;
  }

  sdk::Result<void> Stop(const sdk::PodRunHandle& handle, std::chrono::milliseconds grace) override {
    std::vector<sdk::ContainerExited> events;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      if (engine_->runs.count(handle.id) == 0) return NoRun(handle);
      Status s = engine_->driver.StopPod(PodHandle{handle.id, {}, {}, {}, {}}, grace);
      if (!s.ok()) return FromStatus(s);
      auto state = ObserveLocked(handle.id, &events);
      if (!state.ok()) return state.error();
    }
    engine_->changed.notify_all();
    Emit(events);
    return sdk::Ok();
  }

  sdk::Result<void> Remove(const sdk::PodRunHandle& handle) override {
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      Status s = engine_->driver.RemovePod(PodHandle{handle.id, {}, {}, {}, {}});
      if (!s.ok()) return FromStatus(s);
      engine_->runs.erase(handle.id);
    }
    engine_->changed.notify_all();
    return sdk::Ok();
  }

  sdk::Result<std::vector<sdk::PodRunHandle>> List(const std::map<std::string, std::string>& selector) override {
    std::lock_guard<std::mutex> lock(engine_->mu);
    auto all = engine_->driver.ListPods();
    if (!all.ok()) return FromStatus(all.status());
    std::vector<sdk::PodRunHandle> out;
    for (const PodHandle& h : *all) {
      auto meta = engine_->runs.find(h.id);
      if (meta == engine_->runs.end()) continue;
      const bool match = std::all_of(selector.begin(), selector.end(), [&](const auto& kv) {
        auto l = meta->second.labels.find(kv.first);
        return l != meta->second.labels.end() && l->second == kv.second;
      });
      if (match) out.push_back(ToAbi(h));
    }
    return out;
  }

  sdk::Result<sdk::PullImageResult> PullImage(const sdk::PullImageRequest& request) override {
    std::lock_guard<std::mutex> lock(engine_->mu);
    engine_->pulled.insert(request.image);
    return sdk::PullImageResult{std::string(FakeDriver::kName) + "://" + request.image};
  }

  sdk::Result<void> Logs(const sdk::LogsRequest& request, sdk::LogSink& sink) override {
    size_t written = 0;
    for (bool first = true;; first = false) {
      std::vector<sdk::ContainerExited> events;
      std::vector<std::string> lines;
      bool done = false;
      {
        std::unique_lock<std::mutex> lock(engine_->mu);
        auto c = ObserveContainerLocked(request.handle.id, request.container, &events);
        if (!c.ok()) return c.error();
        lines = LogLines(c.value().first);
        if (first && request.tail_lines >= 0 && static_cast<size_t>(request.tail_lines) < lines.size()) {
          written = lines.size() - static_cast<size_t>(request.tail_lines);
        }
        done = !request.follow || c.value().first.state == sdk::ContainerState::kTerminated;
        if (!done && written >= lines.size()) {
          // Nothing new: wait for a change, at most a heartbeat's time.
          auto wait = std::chrono::milliseconds(CAPSTAN_LOG_HEARTBEAT_MS / 2);
          if (c.value().second.count() > 0) wait = std::min(wait, c.value().second);
          engine_->changed.wait_for(lock, wait);
        }
      }
      Emit(events);
      for (; written < lines.size(); ++written) {
        if (!sink.Stdout(lines[written])) return sdk::Ok();
      }
      if (done) return sdk::Ok();
      if (!sink.Heartbeat()) return sdk::Ok();
    }
  }

  sdk::Result<sdk::ExecResult> Exec(const sdk::ExecRequest& request) override {
    std::vector<sdk::ContainerExited> events;
    sdk::ContainerState state;
    {
      std::lock_guard<std::mutex> lock(engine_->mu);
      auto c = ObserveContainerLocked(request.handle.id, request.container, &events);
      if (!c.ok()) return c.error();
      state = c.value().first.state;
    }
    Emit(events);
    if (state != sdk::ContainerState::kRunning) {
      return sdk::Conflict("fake driver: container " + request.container + " is not running");
    }
    sdk::ExecResult out;
    const std::string& cmd = request.command[0];
    if (cmd == "true") {
      out.exit_code = 0;
    } else if (cmd == "false") {
      out.exit_code = 1;
    } else if (cmd == "echo") {
      for (size_t i = 1; i < request.command.size(); ++i) out.out += (i > 1 ? " " : "") + request.command[i];
      out.out += "\n";
    } else {
      out.exit_code = 127;
      out.err = "fake: " + cmd + ": command not found\n";
    }
    return out;
  }

  sdk::Result<std::vector<sdk::Image>> ListImages() override {
    std::lock_guard<std::mutex> lock(engine_->mu);
    std::set<std::string> all = engine_->pulled;
    for (const auto& [id, meta] : engine_->runs) all.insert(meta.images.begin(), meta.images.end());
    std::vector<sdk::Image> out;
    for (const std::string& image : all) {
      out.push_back(sdk::Image{std::string(FakeDriver::kName) + "://" + image, {image}, 0});
    }
    return out;
  }

  sdk::Result<void> RemoveImage(const std::string& image) override {
    const std::string prefix = std::string(FakeDriver::kName) + "://";
    const std::string tag = image.rfind(prefix, 0) == 0 ? image.substr(prefix.size()) : image;
    std::lock_guard<std::mutex> lock(engine_->mu);
    for (const auto& [id, meta] : engine_->runs) {
      if (std::find(meta.images.begin(), meta.images.end(), tag) != meta.images.end()) {
        return sdk::Conflict("fake driver: image " + tag + " is used by run " + id);
      }
    }
    engine_->pulled.erase(tag);
    return sdk::Ok();
  }

  sdk::Result<sdk::ImageFsInfo> GetImageFsInfo() override {
    auto fs = engine_->driver.ImageFsInfo();
    if (!fs.ok()) return sdk::Unsupported("image_fs_info");
    return sdk::ImageFsInfo{fs->capacity_bytes, fs->available_bytes, fs->used_bytes, fs->path};
  }

 private:
  static sdk::Error NoRun(const sdk::PodRunHandle& handle) {
    return sdk::NotFound("fake driver: no pod run " + handle.id);
  }

  // The run's container statuses and FakeDriver's recheck hint; queues a ContainerExited for each
  // container seen terminated for the first time. Requires engine_->mu.
  sdk::Result<std::pair<std::vector<sdk::ContainerStatus>, std::chrono::milliseconds>> ObserveLocked(
      const std::string& id, std::vector<sdk::ContainerExited>* events) {
    auto meta = engine_->runs.find(id);
    if (meta == engine_->runs.end()) return sdk::NotFound("fake driver: no pod run " + id);
    auto state = engine_->driver.InspectPod(PodHandle{id, {}, {}, {}, {}});
    if (!state.ok()) return FromStatus(state.status());
    std::vector<sdk::ContainerStatus> out;
    for (const node::ContainerState& c : state->containers) {
      out.push_back(ToAbi(c));
      if (out.back().state == sdk::ContainerState::kTerminated && meta->second.exit_reported.insert(c.name).second) {
        events->push_back(sdk::ContainerExited{id, meta->second.pod_uid, out.back()});
      }
    }
    return std::make_pair(std::move(out), state->recheck_after);
  }

  // One container of ObserveLocked's answer. Requires engine_->mu.
  sdk::Result<std::pair<sdk::ContainerStatus, std::chrono::milliseconds>> ObserveContainerLocked(
      const std::string& id, const std::string& container, std::vector<sdk::ContainerExited>* events) {
    auto state = ObserveLocked(id, events);
    if (!state.ok()) return state.error();
    for (sdk::ContainerStatus& c : state.value().first) {
      if (c.name == container) return std::make_pair(std::move(c), state.value().second);
    }
    return sdk::NotFound("fake driver: run " + id + " has no container " + container);
  }

  void Emit(const std::vector<sdk::ContainerExited>& events) const {
    for (const sdk::ContainerExited& e : events) host_.EmitContainerExited(e);
  }

  // Constant after construction.
  const std::shared_ptr<Engine> engine_;
  const sdk::Host host_;
};

}  // namespace
}  // namespace capstan::plugins::fake

CAPSTAN_DEFINE_DRIVER(capstan::plugins::fake::FakePlugin)
