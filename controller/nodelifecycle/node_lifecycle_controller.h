// NodeLifecycleController ("nodelifecycle"): Kubernetes' node-lifecycle-controller and its
// taint-based eviction, over the pure logic of node_conditions.h and taint_eviction.h. A Node whose
// agent stops answering becomes Unknown, is tainted, its Pods are marked not ready and, after their
// toleration of the taint, deleted so that their controllers replace them on Ready nodes.
//
// Informers (shared): Nodes; Leases of kube-node-lease (the node agent's heartbeats, named after
// their Node); all Pods, indexed by spec.nodeName. Handlers only compute a node name and queue it:
//   - a Node added/changed/deleted: its name (and every node's when the cluster enters or leaves
//     full disruption, see below);
//   - a Lease: its name (= its Node's);
//   - a Pod bound to a node that is not Ready or carries a NoExecute taint: that node. Pods of
//     healthy nodes cost nothing but the lookup of their node.
//
// Reconcile(node name), never twice at once for one node:
//   1. Monitor. When the node's heartbeat (Ready's lastHeartbeatTime, the Lease's renewTime)
//      changes, the Node and Lease handlers (and the reconcile) note the time on the controller's
//      clock (probe time); the first look counts as a heartbeat, as in Kubernetes. Once
//      node_monitor_grace_period (node_startup_grace_period for a node that never posted Ready)
//      has passed since the probe time, patch nodes/<name>/status: the agent's conditions become
//      Unknown (NodeStatusUnknown, "Kubelet stopped posting node status."), with the
//      resourceVersion read as a precondition.
//   2. Events on readiness transitions: Normal NodeNotReady / NodeReady on the Node ("Node X
//      status is now: NodeNotReady"), as Kubernetes' RecordNodeStatusChange.
//   3. Taints (taint_eviction.h): the NoSchedule taint at once; the NoExecute taint when the node
//      already carries one of the controller's (a not-ready <-> unreachable swap) or the eviction
//      limiter gives a token (eviction_rate nodes per second, burst 1); never in full disruption.
//      One merge patch of spec.taints with the resourceVersion as precondition; the user's taints
//      stay as they are.
//   4. Pods on a not-ready node: Ready set False (MarkPodsNotReady; a Warning NodeNotReady event,
//      "Node is not ready"), once per Pod per not-ready episode: a live agent that reports its Pod
//      ready again is believed, not fought.
//   5. Pods on a node with NoExecute taints: each Pod's eviction time (taint_eviction.h). Due: a
//      Normal TaintManagerEviction event ("Marking for deletion Pod ns/name") and a DELETE with
//      the Pod's uid as a precondition (a new Pod of the same name is never touched). On an
//      unreachable node (Ready Unknown) with gracePeriodSeconds 0: nobody is left to finish a
//      graceful deletion there (the API marks a bound Pod Terminating until its agent confirms its
//      containers stopped), so the Pod would stay Terminating for ever, holding its name (a
//      same-named replacement could not be created); if the agent comes back it stops the
//      containers of Pods that no longer exist. On a node whose agent still answers (Ready False, or a user's NoExecute
//      taint on a Ready node) the deletion is graceful: the agent stops the containers, then
//      removes the Pod. Pods already Terminating are left to their agent, except on an
//      unreachable node, where they are deleted with grace 0 at their eviction time. Finished
//      Pods (Succeeded, Failed) are left alone. A node that recovers before the time: its
//      NoExecute taint goes, and a Normal TaintManagerEviction "Cancelling deletion of Pod ns/name"
//      is recorded for each Pod that was waiting.
//   6. Result: 409/other write errors -> Retry (the queue's backoff); else RequeueAfter the
//      earliest of: the grace deadline, the limiter's wait, the next eviction time.
//
// Full disruption (Kubernetes' zone state FullDisruption, the cluster being one zone): when no
// Node is Ready and at least one is not, the fault is more likely the control plane's (its own
// network, a stalled API) than every node's: the controller removes its NoExecute taints and
// evicts nothing until a node is Ready again; the NoSchedule taints, the Unknown conditions and
// the not-ready Pods stay. On leaving it, NoExecute taints come back with a new timeAdded, so
// every Pod gets its full toleration again.
//
// Time: the probe times, grace deadlines and requeues use the Clock (options.clock, else the
// manager's); written times (lastTransitionTime, timeAdded) and eviction times use wall time:
// system_clock with the real clock, and with any other clock the wall time at construction plus
// the Clock time elapsed since, so a FakeClock moves both and unit tests never sleep.
//
// Thread-safety: Controller's; Stats and FlushEvents from any thread. Handlers run on the informer
// threads, reconciles on `workers` threads. mu_ guards the readiness census, the map of per-node
// records and each record's heartbeat fields (handlers observe heartbeats as they arrive); the
// rest of a record is touched only by the reconcile of its node, which never runs twice at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "controller/nodelifecycle/eviction_limiter.h"
#include "controller/nodelifecycle/node_conditions.h"
#include "controller/nodelifecycle/taint_eviction.h"
#include "controller/runtime/queued_controller.h"

namespace capstan::controller::nodelifecycle {

// Where node agents keep their heartbeat Leases (node/node_registration.h writes them there).
inline constexpr char kNodeLeaseNamespace[] = "kube-node-lease";

struct NodeLifecycleControllerOptions {
  // How long a node may go without a heartbeat (Lease renewal or Ready heartbeat) before its
  // conditions become Unknown. Kubernetes' --node-monitor-grace-period, default 40 s (four
  // missed 10 s Lease renewals). Must be positive.
  std::chrono::milliseconds node_monitor_grace_period{40000};
  // The same for a node that never posted a Ready condition. Kubernetes'
  // --node-startup-grace-period, default 60 s. Must be positive.
  std::chrono::milliseconds node_startup_grace_period{60000};
  // How long a Pod stays on a not-ready or unreachable node when it has no toleration of its own
  // for the taint: the tolerationSeconds Kubernetes' DefaultTolerationSeconds admission adds
  // (default 300 s). A Pod's own toleration wins (without tolerationSeconds: never evicted).
  // >= 0.
  std::chrono::milliseconds pod_eviction_timeout{300000};
  // Nodes per second that may get a NoExecute taint (Kubernetes' --node-eviction-rate, 0.1);
  // burst 1. Must be positive.
  double eviction_rate = 0.1;
  int workers = 2;  // reconcile threads (at least 1)
  // The clock of probe times, deadlines and requeues; nullptr: the manager's (ctx.clock).
  Clock* clock = nullptr;
  client::EventRecorderOptions events;  // the recorder of NodeNotReady / TaintManagerEviction
};

// Counters since construction.
struct NodeLifecycleStats {
  uint64_t nodes_marked_unknown = 0;  // status patches to Unknown
  uint64_t taint_updates = 0;         // spec.taints patches
  uint64_t pods_marked_not_ready = 0;
  uint64_t evictions = 0;             // Pod deletes sent (404/409 included)
  uint64_t rate_limited = 0;          // NoExecute taints deferred by the limiter
  bool full_disruption = false;       // now
};

class NodeLifecycleController final : public QueuedController {
 public:
  explicit NodeLifecycleController(NodeLifecycleControllerOptions options = {});
  ~NodeLifecycleController() override;  // Stop()

  NodeLifecycleController(const NodeLifecycleController&) = delete;
  NodeLifecycleController& operator=(const NodeLifecycleController&) = delete;

  // kInvalid for options out of range. Creates the queue and the event recorder.
  Status Setup(const ControllerContext& ctx) override;
  void Stop() override;  // idempotent

  // One pass over the Node `key` (its name); public for tests.
  ReconcileResult Reconcile(const std::string& key) override;

  NodeLifecycleStats Stats() const;
  // Waits until the events recorded so far are written (tests).
  bool FlushEvents(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

 private:
  // What the controller remembers of one Node. `seen`, `heartbeat` and `probe` are guarded by
  // mu_ (the informer handlers observe heartbeats as they arrive); the other fields are touched
  // only by the reconcile of the node.
  struct NodeRecord {
    bool seen = false;
    Heartbeat heartbeat;            // as last observed
    Clock::TimePoint probe{};       // when the heartbeat last changed (or was first seen)
    bool readiness_known = false;
    Readiness readiness = Readiness::kMissing;  // as of the last reconcile (for the events)
    std::set<std::string> marked;   // uids of Pods set not ready in this not-ready episode
    std::set<std::string> pending;  // uids of Pods with an eviction time ahead
    std::set<std::string> evicted;  // uids of Pods deleted (until the informer drops them)
    // NoExecute taints without timeAdded ("key=value") -> when first seen.
    std::map<std::string, WallTime> first_seen;
  };
  using RecordPtr = std::shared_ptr<NodeRecord>;

  void OnNode(const client::ObjectPtr& node, bool deleted);
  void OnLease(const client::ObjectPtr& lease);
  // Notes a heartbeat of Node `name` (its current Node and Lease; either may be null) at the
  // clock's now if it changed; returns the probe time. A Node not in the cache is not recorded.
  Clock::TimePoint Observe(const std::string& name, const client::ObjectPtr& node, const client::ObjectPtr& lease);
  void OnPod(const client::ObjectPtr& pod);
  bool FullDisruptionLocked() const { return !ready_.empty() && ready_count_ == 0; }
  bool FullDisruption() const;
  // FullDisruption() as it will be once the informer shows Node `name` with this readiness (a
  // reconcile that just marked its node Unknown knows before the census does).
  bool FullDisruptionWith(const std::string& name, bool ready) const;
  RecordPtr Record(const std::string& name);

  WallTime WallNow() const;
  // The Pods' part of a reconcile (steps 4 and 5); `next` is lowered to the next eviction time.
  Status ProcessPods(const std::string& name, const json& node, Readiness readiness, NodeRecord& rec,
                     Clock::TimePoint now, WallTime wall, Clock::TimePoint* next);
  Status EvictPod(const json& pod, bool unreachable);

  // Constant after construction.
  const NodeLifecycleControllerOptions options_;

  // Set by Setup; constant afterwards.
  client::ApiClient* api_ = nullptr;
  Clock* clock_ = nullptr;
  WallTime wall_base_{};
  Clock::TimePoint clock_base_{};
  client::Informer* nodes_ = nullptr;
  client::Informer* leases_ = nullptr;
  client::Informer* pods_ = nullptr;
  std::unique_ptr<EvictionLimiter> limiter_;
  std::unique_ptr<client::EventRecorder> recorder_;

  mutable std::mutex mu_;
  // Guarded by mu_. ready_: every Node in the informer -> whether it is Ready; ready_count_ is the
  // number of true entries.
  std::unordered_map<std::string, bool> ready_;
  size_t ready_count_ = 0;
  std::unordered_map<std::string, RecordPtr> records_;

  std::atomic<uint64_t> nodes_marked_unknown_{0}, taint_updates_{0}, pods_marked_not_ready_{0}, evictions_{0},
      rate_limited_{0};
};

}  // namespace capstan::controller::nodelifecycle
