#include "node/probe_manager.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "base/log.h"
#include "client/json_fields.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::StringField;
using std::chrono::milliseconds;

enum class ProbeType { kStartup, kLiveness, kReadiness };

struct ProbeManager::Probe {
  std::string key;
  ProbeType type;
  json spec;
  ProbeTarget target;
  milliseconds period{10000}, timeout{1000};
  int success_threshold = 1, failure_threshold = 3;
  // Guarded by mu_.
  SteadyTime due{};
  bool in_flight = false;
  bool removed = false;
  int successes = 0, failures = 0;
  std::weak_ptr<Container> container;
};

struct ProbeManager::Container {
  std::string name;
  std::optional<std::chrono::system_clock::time_point> started_at;
  // Guarded by mu_.
  bool started = true;  // false while a startup probe has not succeeded
  bool ready = true;    // false while a readiness probe has not succeeded
  bool kill = false;
  std::string kill_message;
  std::vector<std::shared_ptr<Probe>> probes;
};

struct ProbeManager::Pod {
  std::string run_id;
  std::map<std::string, std::shared_ptr<Container>> containers;
};

namespace {

const char* TypeName(ProbeType t) {
  switch (t) {
    case ProbeType::kStartup: return "Startup";
    case ProbeType::kLiveness: return "Liveness";
    case ProbeType::kReadiness: return "Readiness";
  }
  return "";
}

milliseconds Seconds(const json& probe, const char* field, int64_t fallback, int64_t minimum) {
  return std::chrono::seconds(std::max(client::IntField(probe, field, fallback), minimum));
}

}  // namespace

ProbeManager::ProbeManager(ProbeManagerOptions options) : options_(std::move(options)) {
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  for (int i = 0; i < std::max(1, options_.threads); ++i) probers_.emplace_back([this] { ProbeLoop(); });
}

ProbeManager::~ProbeManager() { Stop(); }

void ProbeManager::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_scheduler_.notify_all();
  wake_probers_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (auto& t : probers_) {
    if (t.joinable()) t.join();
  }
}

void ProbeManager::Sync(const std::string& key, const std::string& run_id, const json& pod,
                        const std::vector<PortMapping>& ports, const PodState& state, ExecFn exec) {
  const json& containers = Field(Field(pod, "spec"), "containers");
  if (!containers.is_array()) return;
  // Most pods have no probes: they cost nothing here (no entry, no lock).
  const bool any = std::any_of(containers.begin(), containers.end(), [](const json& c) {
    return Field(c, "startupProbe").is_object() || Field(c, "livenessProbe").is_object() ||
           Field(c, "readinessProbe").is_object();
  });
  if (!any) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto& entry = pods_[key];
  if (entry == nullptr || entry->run_id != run_id) {
    if (entry != nullptr) {
      for (auto& [name, c] : entry->containers) {
        for (auto& p : c->probes) p->removed = true;
      }
    }
    entry = std::make_shared<Pod>();
    entry->run_id = run_id;
  }
  bool added = false;
  for (const json& spec : containers) {
    const std::string name = StringField(spec, "name");
    const ContainerState* cs = nullptr;
    for (const ContainerState& s : state.containers) {
      if (s.name == name) cs = &s;
    }
    const bool running = cs != nullptr && cs->phase == ContainerPhase::kRunning;
    auto it = entry->containers.find(name);
    if (it != entry->containers.end() && (!running || it->second->started_at != cs->started_at)) {
      for (auto& p : it->second->probes) p->removed = true;
      entry->containers.erase(it);
      it = entry->containers.end();
    }
    if (!running || it != entry->containers.end()) continue;
    auto c = std::make_shared<Container>();
    c->name = name;
    c->started_at = cs->started_at;
    const auto now = std::chrono::system_clock::now();
    const SteadyTime steady_now = std::chrono::steady_clock::now();
    for (auto [field, type] : {std::pair{"startupProbe", ProbeType::kStartup},
                               std::pair{"livenessProbe", ProbeType::kLiveness},
                               std::pair{"readinessProbe", ProbeType::kReadiness}}) {
      const json& spec_probe = Field(spec, field);
      if (!spec_probe.is_object()) continue;
      auto p = std::make_shared<Probe>();
      p->key = key;
      p->type = type;
      p->spec = spec_probe;
      p->target = ProbeTarget{options_.host, name, ports, nullptr};
      if (exec) {
        p->target.exec = [exec, name](const std::vector<std::string>& cmd, milliseconds timeout) {
          return exec(name, cmd, timeout);
        };
      }
      p->period = Seconds(spec_probe, "periodSeconds", 10, 1);
      p->timeout = Seconds(spec_probe, "timeoutSeconds", 1, 1);
      p->success_threshold = static_cast<int>(std::max<int64_t>(1, client::IntField(spec_probe, "successThreshold", 1)));
      p->failure_threshold = static_cast<int>(std::max<int64_t>(1, client::IntField(spec_probe, "failureThreshold", 3)));
      // First run initialDelaySeconds after the container started (already past: now).
      const auto first = cs->started_at.value_or(now) + Seconds(spec_probe, "initialDelaySeconds", 0, 0);
      p->due = steady_now + std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(first - now));
      p->container = c;
      if (type == ProbeType::kStartup) c->started = false;
      if (type == ProbeType::kReadiness) c->ready = false;
      c->probes.push_back(std::move(p));
      added = true;
    }
    entry->containers[name] = std::move(c);
  }
  if (added) wake_scheduler_.notify_all();
}

ContainerProbeResult ProbeManager::Get(const std::string& key, const std::string& container) const {
  std::lock_guard<std::mutex> lock(mu_);
  ContainerProbeResult r;
  auto it = pods_.find(key);
  if (it == pods_.end()) return r;
  auto c = it->second->containers.find(container);
  if (c == it->second->containers.end()) return r;
  r.started = c->second->started;
  r.ready = c->second->ready && c->second->started;
  r.kill = c->second->kill;
  r.kill_message = c->second->kill_message;
  return r;
}

void ProbeManager::Remove(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  for (auto& [name, c] : it->second->containers) {
    for (auto& p : c->probes) p->removed = true;
  }
  pods_.erase(it);
}

size_t ProbeManager::ActiveProbes() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, pod] : pods_) {
    for (const auto& [name, c] : pod->containers) n += c->probes.size();
  }
  return n;
}

void ProbeManager::SchedulerLoop() noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const SteadyTime now = std::chrono::steady_clock::now();
    SteadyTime next = now + std::chrono::seconds(60);
    bool dispatched = false;
    for (auto& [key, pod] : pods_) {
      for (auto& [name, c] : pod->containers) {
        for (auto& p : c->probes) {
          if (p->in_flight || p->removed || c->kill) continue;
          // Liveness and readiness wait for the startup probe; a succeeded startup probe rests.
          const bool gated = p->type == ProbeType::kStartup ? c->started : !c->started;
          if (gated) continue;
          if (p->due <= now) {
            p->in_flight = true;
            ready_.push_back(p);
            dispatched = true;
          } else {
            next = std::min(next, p->due);
          }
        }
      }
    }
    if (dispatched) wake_probers_.notify_all();
    wake_scheduler_.wait_until(lock, next);
  }
}

void ProbeManager::ProbeLoop() noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_probers_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Probe> p = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    ProbeOutcome outcome;
    try {
      outcome = RunProbe(p->spec, p->target, p->timeout);
    } catch (const std::exception& e) {
      outcome = {false, e.what()};
    } catch (...) {
      outcome = {false, "unknown error"};
    }
    Finish(p, outcome);
    lock.lock();
  }
}

void ProbeManager::Finish(const std::shared_ptr<Probe>& p, const ProbeOutcome& outcome) {
  bool changed = false;
  std::string failure;
  {
    std::lock_guard<std::mutex> lock(mu_);
    p->in_flight = false;
    p->due = std::chrono::steady_clock::now() + p->period;
    auto c = p->container.lock();
    if (p->removed || c == nullptr) return;
    if (outcome.success) {
      ++p->successes;
      p->failures = 0;
    } else {
      ++p->failures;
      p->successes = 0;
      failure = std::string(TypeName(p->type)) + " probe failed: " + outcome.message;
    }
    switch (p->type) {
      case ProbeType::kStartup:
        if (outcome.success) {
          changed = !c->started;
          c->started = true;
        } else if (p->failures >= p->failure_threshold && !c->kill) {
          c->kill = changed = true;
          c->kill_message = failure;
        }
        break;
      case ProbeType::kLiveness:
        if (!outcome.success && p->failures >= p->failure_threshold && !c->kill) {
          c->kill = changed = true;
          c->kill_message = failure;
        }
        break;
      case ProbeType::kReadiness:
        if (outcome.success && p->successes >= p->success_threshold && !c->ready) {
          c->ready = changed = true;
        } else if (!outcome.success && p->failures >= p->failure_threshold && c->ready) {
          c->ready = false;
          changed = true;
        }
        break;
    }
  }
  wake_scheduler_.notify_all();
  if (!failure.empty() && options_.on_failure) options_.on_failure(p->key, failure);
  if (changed && options_.on_change) options_.on_change(p->key);
}

}  // namespace capstan::node
