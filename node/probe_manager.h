// ProbeManager: runs the startup, liveness and readiness probes of the containers the node agent
// runs, on the kubelet's schedule, and keeps their results for the agent's reconcile.
//
// Per container of a run (Kubernetes' timing fields; defaults period 10 s, timeout 1 s, success
// threshold 1, failure threshold 3, initial delay 0):
//   - the first probe runs initialDelaySeconds after the container started, then every period;
//   - startup: until it succeeds once the container is not `started` and neither liveness nor
//     readiness runs; failureThreshold failures in a row ask for the container to be killed;
//   - liveness: failureThreshold failures in a row ask for a kill (the agent restarts the pod by
//     its restartPolicy); a success resets the count;
//   - readiness: not ready until successThreshold successes in a row; failureThreshold failures
//     make it not ready again.
// A container without probes reads started and ready. Whenever a result changes, on_change(key)
// is called (from a probe thread: it must only enqueue) so the agent writes the new status.
//
// Results belong to a run: Sync with another run id discards the earlier run's probes and their
// results, so a restarted pod begins unready and unstarted again.
//
// Threads: one scheduler thread and `threads` probe threads (an httpGet may block for its whole
// timeout). Thread-safety: every method is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/pod_launch.h"
#include "node/prober.h"
#include "node/runtime_driver.h"

namespace capstan::node {

struct ContainerProbeResult {
  bool started = true;
  bool ready = true;
  bool kill = false;         // a liveness or startup probe failed failureThreshold times
  std::string kill_message;  // "Liveness probe failed: HTTP probe failed with statuscode: 500"
};

struct ProbeManagerOptions {
  int threads = 4;
  std::string host = "127.0.0.1";                       // where httpGet and tcpSocket go
  std::function<void(const std::string& key)> on_change;  // required
  // Records a probe failure (the kubelet's "Unhealthy" event); may be null.
  std::function<void(const std::string& key, const std::string& message)> on_failure;
};

using ExecFn = std::function<Result<ExecOutput>(const std::string& container, const std::vector<std::string>& command,
                                                std::chrono::milliseconds timeout)>;

class ProbeManager {
 public:
  explicit ProbeManager(ProbeManagerOptions options);
  ~ProbeManager();  // Stop()
  ProbeManager(const ProbeManager&) = delete;
  ProbeManager& operator=(const ProbeManager&) = delete;

  // Declares what to probe in run `run_id` of the pod at `key` (`pod` as launched, `state` as just
  // inspected). Called at every reconcile of a run; cheap when nothing changed.
  void Sync(const std::string& key, const std::string& run_id, const nlohmann::json& pod,
            const std::vector<PortMapping>& ports, const PodState& state, ExecFn exec);
  ContainerProbeResult Get(const std::string& key, const std::string& container) const;
  // Drops every probe of the pod (torn down, or between runs).
  void Remove(const std::string& key);
  // Stops the threads; probes in flight finish first. Idempotent.
  void Stop();
  size_t ActiveProbes() const;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Probe;
  struct Container;
  struct Pod;

  void SchedulerLoop() noexcept;
  void ProbeLoop() noexcept;
  void Finish(const std::shared_ptr<Probe>& probe, const ProbeOutcome& outcome);

  const ProbeManagerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_scheduler_, wake_probers_;
  bool stopping_ = false;                              // guarded by mu_
  std::map<std::string, std::shared_ptr<Pod>> pods_;   // guarded by mu_: key -> probes of its run
  std::deque<std::shared_ptr<Probe>> ready_;           // guarded by mu_: due, waiting for a thread
  std::thread scheduler_;
  std::vector<std::thread> probers_;
};

}  // namespace capstan::node
