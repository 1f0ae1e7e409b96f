// NodeAgent: the kubelet role. Registers this host as a Node, keeps its heartbeat Lease and Ready
// condition current, and runs the Pods bound to it through a RuntimeDriver, reporting their
// status.
//
// Start():
//   1. Register the Node (NodeRegistration: create, or update keeping the user's spec and labels).
//   2. Watch Pods (the informer of every Pod from the given SharedInformerFactory, shared with
//      the load balancer in `capstan server`, or from one the agent owns) and wait for the cache
//      to sync. The agent looks only at the Pods whose spec.nodeName is its node (an index): one
//      cache of all Pods serves both, where a watch of its own with fieldSelector
//      spec.nodeName=<node> cost a second decode and cache of every Pod on a one-node server.
//   3. Recover: every run the driver lists whose pod uid is still bound here is adopted (its
//      handle, restart count and last states taken over, nothing restarted); the others are
//      stopped and removed.
//   4. Start the workers and the heartbeat thread.
// Heartbeat thread, every heartbeat_interval: renew the Lease; patch the Node's Ready condition
// (and capacity) when the driver's health or capacity changed, when someone else changed it, or
// when status_update_interval passed. Every orphan_sweep_interval it also removes runs the
// driver holds for pods that are gone and that no record tracks (the kubelet's container GC: a
// start whose answer was lost, a run left by a crash between the driver's work and the record).
//
// Per pod (key "namespace/name"; handlers only enqueue; a key is never reconciled twice at once):
//   - gone from the cache, or re-created with another uid: stop (with the pod's grace period) and
//     remove its run. With deletionTimestamp set: the same, and nothing is started again.
//   - no run yet: host ports are allocated (port_allocator.h) and recorded in status.portMappings
//     before anything starts; images are pulled by imagePullPolicy (image_puller.h: ErrImagePull,
//     ImagePullBackOff); the environment is resolved (pod_launch.h: PORT, CAPSTAN_PORT_*, envFrom,
//     valueFrom, $(VAR); a failure is CreateContainerConfigError); then StartPod. A start error is
//     reported as waiting CreateContainerError and retried with the queue's backoff.
//   - probes (probe_manager.h) set each running container's started and ready; a failed liveness
//     or startup probe stops the run (preStop first) and restartPolicy decides what follows.
//   - stopping a run for good (deletion, liveness) runs the containers' preStop handlers within
//     the grace period first. For a deletion, a Pod the load balancer routes to is first drained
//     there (termination_gate.h): the agent waits, woken by the Pod's updates, bounded by the
//     grace period and lb_drain_wait_max.
//   - InspectPod, then: a terminated container that restartPolicy restarts (Always; OnFailure
//     with a non-zero exit) stops and removes the whole run (the driver ABI restarts pods, not
//     single containers) and starts it again after a back-off (crash_backoff_initial doubling to
//     crash_backoff_max; reset after 2 x max without a crash), meanwhile reporting waiting
//     CrashLoopBackOff with lastState; restartCount counts the restarts. All containers
//     terminated and none to restart: the pod is terminal (Succeeded/Failed) and never restarted.
//   - The status (see pod_status.h) is written only when it differs from the cached pod's, with a
//     strategic merge patch of pods/<name>/status carrying metadata.uid as a precondition.
//   - While containers wait (the driver's recheck_after hint), the key is requeued after the hint.
// An optional periodic resync (pod_resync_interval) re-adds every key as a safety net.
//
// Stop(): stops the workers (draining the queue) and the heartbeat, takes its handler out of the
// Pod informer, and stops an owned informer factory. Neither the Node nor the driver's runs are
// deleted: a restarted agent re-registers and adopts them.
//
// Thread-safety: Start and Stop from one owner thread; the accessors from any thread.
// Lifetime: the ApiClient, the driver, the clock and a given informer factory must outlive the
// agent. No exception leaves the agent's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/api_client.h"
#include "client/informer.h"
#include "client/informer_factory.h"
#include "controller/runtime/clock.h"
#include "controller/runtime/reconcile.h"
#include "controller/runtime/work_queue.h"
#include "controller/runtime/worker_pool.h"
#include "client/event_recorder.h"
#include "node/image_gc.h"
#include "node/image_puller.h"
#include "node/node_registration.h"
#include "node/own_status_writes.h"
#include "node/pod_launch.h"
#include "node/pod_status.h"
#include "node/port_allocator.h"
#include "node/probe_manager.h"
#include "node/runtime_driver.h"

namespace capstan::node {

// The host name, lower-cased: the Node name when none is given.
std::string DefaultNodeName();

struct NodeAgentOptions {
  std::string node_name;            // default: the host name, lower-cased
  RuntimeDriver* driver = nullptr;  // required
  std::string address = "127.0.0.1";          // InternalIP, hostIP and podIP
  std::map<std::string, std::string> labels;  // added to the Node's labels
  std::string driver_endpoint;                // spec.driver.endpoint when the Node has none
  nlohmann::json driver_config;               // spec.driver.config when the Node has none
  std::chrono::milliseconds heartbeat_interval{10000};      // Lease renewals
  std::chrono::seconds lease_duration{40};                  // leaseDurationSeconds
  std::chrono::milliseconds status_update_interval{60000};  // Ready heartbeat when nothing changed
  std::chrono::milliseconds pod_resync_interval{60000};     // 0: no periodic resync of pods
  std::chrono::milliseconds crash_backoff_initial{10000};   // first restart delay
  std::chrono::milliseconds crash_backoff_max{300000};      // restart delays double up to this
  std::chrono::milliseconds sync_timeout{30000};            // for the pod informer's first LIST
  std::chrono::milliseconds orphan_sweep_interval{60000};   // 0: orphans are removed at Start only
  int workers = 16;  // pod starts wait on the engine, not the CPU: the kubelet runs one per pod
  PortRange port_range;                                     // host ports for containerPorts
  std::function<bool(int)> port_free;                       // null: HostPortFree (tests replace it)
  std::chrono::milliseconds image_pull_backoff_initial{10000};
  std::chrono::milliseconds image_pull_backoff_max{300000};
  int probe_threads = 4;
  // A terminating Pod the load balancer routes to waits for its drain (termination_gate.h) at
  // most this long (and never beyond its grace period).
  std::chrono::milliseconds lb_drain_wait_max{60000};
  ImageGcPolicy image_gc;                              // image garbage collection (image_gc.h)
  bool record_events = true;                           // Events as the kubelet's (component "kubelet")
  controller::Clock* clock = nullptr;                  // nullptr: Clock::Real()
  client::SharedInformerFactory* informers = nullptr;  // nullptr: the agent owns one
};

class NodeAgent {
 public:
  // `api` and options.driver must be set and outlive the agent.
  NodeAgent(client::ApiClient* api, NodeAgentOptions options);
  ~NodeAgent();  // Stop()

  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // See above. Once; kInvalid without a driver, kUnavailable when the pod cache does not sync in
  // time, or the error of registration or recovery. After a failure, Stop() (or destruction)
  // releases what was started.
  Status Start();
  // Idempotent; also when Start failed or was never called.
  void Stop();

  const std::string& node_name() const { return node_name_; }
  // Pods with a record (running, restarting or terminal), for tests and benchmarks.
  size_t TrackedPods() const;
  // Pod status patches written since construction.
  uint64_t StatusWrites() const { return status_writes_.load(std::memory_order_relaxed); }
  // Orphaned runs removed by the periodic sweep since construction.
  uint64_t OrphansRemoved() const { return orphans_removed_.load(std::memory_order_relaxed); }
  controller::WorkQueueStats QueueStats() { return queue_.Stats(); }

 private:
  // What the agent remembers of one pod. Created and erased under records_mu_; its fields are
  // touched only by the reconcile of its key (never concurrent with itself) and by Recover()
  // before the workers start.
  struct PodRecord {
    std::string uid;
    std::optional<PodHandle> handle;  // the current run; empty before a start and in back-off
    int32_t restart_count = 0;
    int crashes = 0;                  // back-off exponent
    controller::Clock::TimePoint last_crash{};
    bool backing_off = false;         // waiting for restart_at before starting again
    controller::Clock::TimePoint restart_at{};
    std::chrono::milliseconds backoff{0};
    std::map<std::string, nlohmann::json> last_terminated;  // container -> lastState.terminated
    bool terminal = false;            // Succeeded/Failed: never started again
    std::chrono::milliseconds grace{30000};
    bool ports_assigned = false;      // ports below hold this pod's host ports (none needed is fine)
    std::vector<PortMapping> ports;
    // container -> lifecycle.preStop, kept from the pod at start: a pod gone from the cache is
    // still stopped the way its spec asked.
    std::vector<std::pair<std::string, nlohmann::json>> pre_stop;
    // When the agent first saw the pod terminating (the load balancer's drain wait starts there).
    std::optional<controller::Clock::TimePoint> terminating_since;
  };
  using RecordPtr = std::shared_ptr<PodRecord>;

  controller::ReconcileResult Reconcile(const std::string& key);
  // The restart decision after an inspect; returns a result when the reconcile is over.
  std::optional<controller::ReconcileResult> MaybeRestart(const nlohmann::json& pod, PodRecord& rec,
                                                          const PodState& state);
  Status Teardown(PodRecord& rec);
  // node_agent_start.cc: what precedes StartPod (host ports recorded in the status, images pulled
  // by policy, the environment resolved) and what precedes StopPod (preStop handlers). Prepare
  // returns the pod to start, or the reconcile's result when it cannot start yet.
  std::variant<nlohmann::json, controller::ReconcileResult> PrepareStart(const std::string& key, const nlohmann::json& pod,
                                                                         PodRecord& rec);
  // Runs the preStop handlers of the record's containers; returns the grace left for StopPod.
  std::chrono::milliseconds RunPreStop(const PodRecord& rec, std::chrono::milliseconds grace);
  // Applies the probes' results to `state` (started, ready); true when a probe asks for a kill.
  bool ApplyProbes(const std::string& key, const nlohmann::json& pod, PodRecord& rec, PodState& state);
  void ReleasePod(const std::string& key, const std::string& uid);
  Result<nlohmann::json> LookupConfig(const nlohmann::json& pod, const std::string& kind, const std::string& name,
                                      const std::string& key);
  std::vector<nlohmann::json> PullSecrets(const nlohmann::json& pod);
  void RecordEvent(const nlohmann::json& pod, bool warning, const std::string& reason, std::string message);
  // Deletes a Pod whose containers this agent has stopped, with grace 0 and its uid as a
  // precondition. A Pod already gone or replaced is fine.
  Status FinishDeletion(const nlohmann::json& pod);
  Status WriteStatus(const nlohmann::json& pod, const PodRunInfo& info);
  // node_agent_image_gc.cc: the image GC manager's view of this agent (the driver, the images
  // of the Pods in the cache, Events on the Node).
  ImageGcManagerOptions ImageGcOptionsFor(const ImageGcPolicy& policy);
  // node_agent_recovery.cc: adopting runs at start; the orphan sweep (stops and removes runs whose
  // pod is neither in the cache nor recorded; heartbeat thread); both remove a run with
  // RemoveOrphanRun (no grace; false, logged, when the driver refused).
  Status Recover();
  void SweepOrphans();
  bool RemoveOrphanRun(const PodHandle& run);
  RecordPtr FindRecord(const std::string& key) const;
  void EraseRecord(const std::string& key);
  void PutRecord(const std::string& key, RecordPtr rec);  // replaces any record of key
  std::vector<std::string> ListKeys() const;
  // The cached Pod of `key` if it is bound to this node, else null; and every such Pod.
  client::ObjectPtr PodOnThisNode(const std::string& key) const;
  std::vector<client::ObjectPtr> PodsOnThisNode() const;
  bool OnThisNode(const nlohmann::json& pod) const;

  void HeartbeatLoop() noexcept;
  void Heartbeat();

  // Constant after construction.
  client::ApiClient* const api_;
  const NodeAgentOptions options_;
  const std::string node_name_;
  RuntimeDriver* const driver_;
  controller::Clock* const clock_;
  std::unique_ptr<client::SharedInformerFactory> owned_informers_;
  client::SharedInformerFactory* const informers_;

  // Set by Start() before any worker or heartbeat thread exists.
  client::Informer* informer_ = nullptr;  // every Pod; read through PodOnThisNode/PodsOnThisNode
  client::Informer* services_ = nullptr;  // every Service: the service env vars of starting Pods
  std::unique_ptr<NodeRegistration> registration_;  // then used by the heartbeat thread only

  controller::WorkQueue queue_;
  std::unique_ptr<controller::WorkerPool> pool_;
  PortAllocator ports_;
  ImagePuller puller_;
  std::unique_ptr<ProbeManager> probes_;           // started by Start()
  std::unique_ptr<client::EventRecorder> events_;  // null unless options.record_events
  std::unique_ptr<ImageGcManager> image_gc_;       // started by Start() unless the policy is off

  mutable std::mutex records_mu_;
  std::unordered_map<std::string, RecordPtr> records_;  // guarded by records_mu_; key -> record
  // uid -> key of every record, for exit notices (which name a pod by uid): a scan of records_
  // per exit made scaling 10,000 Pods down quadratic. Guarded by records_mu_.
  std::unordered_map<std::string, std::string> key_by_uid_;
  // uids of Pods whose final delete (FinishDeletion) was sent, until the cache shows them gone.
  // Guarded by records_mu_.
  std::unordered_set<std::string> deletions_sent_;

  // Heartbeat thread. Guarded by hb_mu_: hb_stopping_.
  std::mutex hb_mu_;
  controller::ClockCondition hb_wake_;
  bool hb_stopping_ = false;
  std::thread heartbeat_;
  // Heartbeat thread only (set by Start before it runs): what the Node last said.
  bool posted_healthy_ = true;
  std::string posted_message_;
  nlohmann::json posted_capacity_;
  controller::Clock::TimePoint posted_at_{};
  controller::Clock::TimePoint swept_at_{};

  std::mutex lifecycle_mu_;
  bool started_ = false;  // guarded by lifecycle_mu_
  bool stopped_ = false;  // guarded by lifecycle_mu_

  std::atomic<uint64_t> status_writes_{0};
  // Its own status writes, so their echo from the informer wakes nothing (own_status_writes.h).
  OwnStatusWrites own_writes_;
  std::atomic<uint64_t> orphans_removed_{0};
};

}  // namespace capstan::node
