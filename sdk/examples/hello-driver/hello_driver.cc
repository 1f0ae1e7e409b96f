// hello-driver: the smallest complete Capstan driver plugin, for docs/plugins.md.
//
// Its "containers" run as soon as they start and until they are stopped; nothing is executed.
// The runs live in a process-wide Engine, not in the driver instance: runs belong to the engine
// (for a real driver, a daemon or the kernel), and a new instance must recover them after the
// host restarts it. It declares only the "host" network mode and none of the optional
// operations, so the SDK answers UNSUPPORTED for those by itself.
//
// Thread-safety: the host calls every method from several threads; Engine::mu guards the runs.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <capstan/driver_sdk.hpp>

namespace {

namespace sdk = capstan::sdk;

struct Run {
  sdk::PodRunHandle handle;
  std::map<std::string, std::string> labels;
  std::vector<std::string> images;  // in container order
  int64_t started_at = 0;
  std::optional<int64_t> stopped_at;
};

struct Engine {
  std::mutex mu;
  std::condition_variable changed;  // a run stopped or was removed
  std::map<std::string, Run> runs;  // guarded by mu
  uint64_t next_id = 1;             // guarded by mu
};

Engine& TheEngine() {
  static Engine engine;
  return engine;
}

class HelloDriver final : public sdk::Driver {
 public:
  static constexpr char kName[] = "hello";  // so the file is capstan-driver-hello.so
  static constexpr char kVersion[] = "0.1.0";

  // Config: null, or {"greeting": "..."} (logged at creation).
  static sdk::Result<std::unique_ptr<sdk::Driver>> Create(const nlohmann::json& config, const sdk::Host& host) {
    std::string greeting = "hello";
    if (config.is_object()) {
      for (auto it = config.begin(); it != config.end(); ++it) {
        if (it.key() != "greeting") return sdk::InvalidConfig("unknown field \"" + it.key() + "\" (known: greeting)");
        if (!it->is_string()) return sdk::InvalidConfig("greeting: must be a string");
        greeting = it->get<std::string>();
      }
    } else if (!config.is_null()) {
      return sdk::InvalidConfig("the configuration must be an object");
    }
    host.Info("hello driver created: " + greeting);
    return std::make_unique<HelloDriver>();
  }

  sdk::Capabilities GetCapabilities() override {
    sdk::Capabilities caps;  // no exec, logs, image pull or images: the SDK answers UNSUPPORTED
    caps.network_modes = {"host"};
    return caps;
  }

  sdk::Result<sdk::Fingerprint> GetFingerprint() override {
    sdk::Fingerprint fp;
    fp.os = "linux";
    fp.arch = "amd64";
    fp.runtime_version = std::string("hello://") + kVersion;
    fp.capacity = {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "100"}};
    return fp;
  }

  sdk::Result<sdk::PodRunHandle> Start(const sdk::PodRunSpec& spec) override {
    Engine& e = TheEngine();
    std::lock_guard<std::mutex> lock(e.mu);
    Run run;
    run.handle.id = "hello-" + std::to_string(e.next_id++);
    run.handle.pod = spec.pod;
    for (const sdk::ContainerSpec& c : spec.containers) {
      run.handle.containers.push_back({c.name, run.handle.id + "-" + c.name});
      run.images.push_back(c.image);
    }
    run.labels = spec.labels;
    run.started_at = sdk::NowUnixNano();
    sdk::PodRunHandle handle = run.handle;
    e.runs.emplace(handle.id, std::move(run));
    return handle;
  }

  sdk::Result<void> Recover(const sdk::PodRunHandle& handle) override {
    Engine& e = TheEngine();
    std::lock_guard<std::mutex> lock(e.mu);
    if (e.runs.count(handle.id) == 0) return sdk::NotFound("hello: no run " + handle.id);
    return sdk::Ok();
  }

  sdk::Result<sdk::WaitResult> Wait(const sdk::PodRunHandle& handle, std::chrono::milliseconds timeout) override {
    Engine& e = TheEngine();
    std::unique_lock<std::mutex> lock(e.mu);
    e.changed.wait_for(lock, timeout, [&] {
      auto it = e.runs.find(handle.id);
      return it == e.runs.end() || it->second.stopped_at.has_value();
    });
    auto it = e.runs.find(handle.id);
    if (it == e.runs.end()) return sdk::NotFound("hello: no run " + handle.id);
    return sdk::WaitResult{it->second.stopped_at.has_value(), StatusOf(it->second)};
  }

  sdk::Result<void> Stop(const sdk::PodRunHandle& handle, std::chrono::milliseconds /*grace*/) override {
    Engine& e = TheEngine();
    {
      std::lock_guard<std::mutex> lock(e.mu);
      auto it = e.runs.find(handle.id);
      if (it == e.runs.end()) return sdk::NotFound("hello: no run " + handle.id);
      if (!it->second.stopped_at) it->second.stopped_at = sdk::NowUnixNano();
    }
    e.changed.notify_all();
    return sdk::Ok();
  }

  sdk::Result<void> Remove(const sdk::PodRunHandle& handle) override {
    Engine& e = TheEngine();
    {
      std::lock_guard<std::mutex> lock(e.mu);
      e.runs.erase(handle.id);  // removing what is gone succeeds
    }
    e.changed.notify_all();
    return sdk::Ok();
  }

  sdk::Result<sdk::PodRunStatus> Inspect(const sdk::PodRunHandle& handle) override {
    Engine& e = TheEngine();
    std::lock_guard<std::mutex> lock(e.mu);
    auto it = e.runs.find(handle.id);
    if (it == e.runs.end()) return sdk::NotFound("hello: no run " + handle.id);
    return sdk::PodRunStatus{StatusOf(it->second), 0};
  }

  sdk::Result<std::vector<sdk::PodRunHandle>> List(const std::map<std::string, std::string>& selector) override {
    Engine& e = TheEngine();
    std::lock_guard<std::mutex> lock(e.mu);
    std::vector<sdk::PodRunHandle> out;
    for (const auto& [id, run] : e.runs) {
      const bool match = std::all_of(selector.begin(), selector.end(), [&](const auto& kv) {
        auto l = run.labels.find(kv.first);
        return l != run.labels.end() && l->second == kv.second;
      });
      if (match) out.push_back(run.handle);
    }
    return out;
  }

 private:
  static std::vector<sdk::ContainerStatus> StatusOf(const Run& run) {
    std::vector<sdk::ContainerStatus> out;
    for (size_t i = 0; i < run.handle.containers.size(); ++i) {
      sdk::ContainerStatus s;
      s.name = run.handle.containers[i].name;
      s.id = run.handle.containers[i].id;
      s.image = run.images[i];
      s.image_id = "hello://" + s.image;
      s.started_at_unix_nano = run.started_at;
      if (run.stopped_at) {
        s.state = sdk::ContainerState::kTerminated;
        s.reason = "Completed";
        s.finished_at_unix_nano = *run.stopped_at;
      } else {
        s.state = sdk::ContainerState::kRunning;
        s.ready = true;
      }
      out.push_back(std::move(s));
    }
    return out;
  }
};

}  // namespace

CAPSTAN_DEFINE_DRIVER(HelloDriver)
