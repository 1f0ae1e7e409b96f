// CapstanLb: the Capstan side of bench/haproxy.sh, through the API of a running `capstan server
// --driver process --lb haproxy` (its kubeconfig): a Service and a Deployment of lb_workload
// replicas (each answers with its Pod name; readinessProbe GET /health every second), scaling,
// a rollout, and a watch of the Pods that records when each one was first seen Ready.
//
// "Ready" is the moment the benchmark's watch delivers the Pod with condition Ready True: the
// status' lastTransitionTime has whole seconds only. The in-process controllers get the same
// event through the same fan-out at about the same moment, so this is at most a few
// milliseconds after the status was written, which counts in Capstan's favour by that much.
//
// The same is recorded for EndpointSlices: when a Pod's endpoint was first seen ready in one (the
// EndpointSlice controller's share of Ready -> routed; the rest is the HAProxy controller, the
// runtime API and the first health check).
//
// Thread-safety: the watches run on threads of their own; ReadyAt/ReadyPods may be called from
// any thread; the rest from one benchmark thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "bench/lb_traffic.h"
#include "client/rest_client.h"

namespace capstan::bench {

class CapstanLb {
 public:
  // `marker` goes into every container's environment as LB_BENCH_MARK (bench/haproxy.sh finds
  // leftovers by it).
  static Result<std::unique_ptr<CapstanLb>> Connect(const std::string& kubeconfig, std::string workload_bin,
                                                    std::string marker);
  ~CapstanLb();  // stops the Pod watch

  // > 0: every container gets lifecycle.preStop exec `sleep N` (the workaround Kubernetes users
  // need without drain-before-SIGTERM; a control for (c)). Call before Create.
  void set_pre_stop_sleep(int seconds) { pre_stop_sleep_ = seconds; }

  // Creates Service `name` (port `port`, targetPort http; `check_interval` non-empty: the
  // annotation haproxy.capstan.io/check-interval) and Deployment `name` with `replicas`.
  Status Create(const std::string& name, int port, int replicas, const std::string& check_interval = "");
  Status Scale(const std::string& name, int replicas);
  // Changes the Pod template (an annotation), which starts a rolling update.
  Status Restart(const std::string& name, const std::string& revision);
  // The rollout is over: every replica updated and available, and no other Pod of `name` left
  // (terminating ones included).
  Result<bool> RolledOut(const std::string& name, int replicas);
  // Pods of `name` (terminating ones included).
  Result<int> CountPods(const std::string& name);
  Status Delete(const std::string& name);

  // Starts the watches of Pods and EndpointSlices in the namespace (call once, before creating
  // anything). Two of each, one second apart: a watch ends every two seconds (so the threads
  // notice stop_), and an event that comes while one reconnects is delivered late, when the new
  // watch replays it; the other watch is connected then. A Pod's Ready time is the earlier
  // delivery.
  void WatchPods();
  std::optional<LbClock::time_point> ReadyAt(const std::string& pod) const;
  // When an EndpointSlice first listed `pod` ready.
  std::optional<LbClock::time_point> EndpointReadyAt(const std::string& pod) const;
  // Pods of app `name` seen Ready and not deleted, by name.
  std::set<std::string> ReadyPods(const std::string& name) const;
  // Waits (bounded) for a Ready Pod of `name` not in `known`; its name and Ready time.
  std::optional<std::pair<std::string, LbClock::time_point>> WaitNewReady(const std::string& name,
                                                                          const std::set<std::string>& known,
                                                                          std::chrono::milliseconds timeout) const;

 private:
  CapstanLb(std::unique_ptr<client::RestClient> rest, std::string workload_bin, std::string marker);
  // A watch thread's top frame: lists for a resourceVersion, then watches `path` from it (again
  // after each short watch ends) and calls on_event(event, arrival time) until stop_.
  void WatchLoop(const std::string& path, const std::function<void(const nlohmann::json&, LbClock::time_point)>& on_event);
  void OnPod(const nlohmann::json& event, LbClock::time_point at);
  void OnSlice(const nlohmann::json& event, LbClock::time_point at);
  nlohmann::json Deployment(const std::string& name, int replicas) const;

  const std::unique_ptr<client::RestClient> rest_;
  const std::string workload_bin_;
  const std::string marker_;
  int pre_stop_sleep_ = 0;
  const std::string ns_ = "default";
  std::atomic<bool> stop_{false};
  std::vector<std::thread> watchers_;
  mutable std::mutex mu_;
  struct PodSeen {
    std::string app;
    std::optional<LbClock::time_point> ready;
    bool deleted = false;
  };
  std::map<std::string, PodSeen> pods_;                             // guarded by mu_
  std::map<std::string, LbClock::time_point> endpoint_ready_;        // by Pod; guarded by mu_
};

}  // namespace capstan::bench
