// SchedulerController ("scheduler"): kube-scheduler's loop around the pure decision logic of
// scheduling.h. It watches Pods and Nodes, keeps one NodeInfo per Node current, and places every
// Pod that NeedsScheduling by POSTing its pods/binding.
//
// The cache (informer handlers, under mu_):
//   - Node add/update/delete: SetNode on the Node's NodeInfo; a deleted Node's NodeInfo leaves the
//     candidate list (and the map once it holds no pods).
//   - Pod add/update with spec.nodeName set and not terminal: AddPod on that node (replacing the
//     entry with the same PodKey, so a Pod this scheduler assumed is not counted twice when the
//     watch confirms it); deleted or terminal: RemovePod.
//   - Pods that NeedsScheduling are queued (key "namespace/name") and remembered as unscheduled.
//     An update of an unbound Pod queues it only when its spec, owner or schedulability changed
//     (the scheduler's own status writes do not trigger a second attempt).
//   - A Node that appears, or whose scheduling-relevant fields change (readiness and pressure,
//     i.e. the derived taints; spec.unschedulable; labels; allocatable), and a bound Pod that is
//     deleted or finishes (freeing capacity), queue every unscheduled Pod again, as Kubernetes
//     moves its unschedulable pods back to the active queue.
//
// Reconcile(key), on up to `workers` threads (never two for one key):
//   1. The Pod from the informer cache; done unless it NeedsScheduling and is not already assumed.
//   2. Under mu_: Schedule() over the candidate NodeInfos; on a decision, "assume" the Pod (AddPod
//      to the chosen NodeInfo) before releasing mu_, so concurrent workers see the capacity taken.
//      Holding mu_ during Schedule keeps NodeInfos from changing under it; a decision is a few
//      tens of microseconds on 100 nodes, and the binding call happens outside the lock.
//   3. POST the binding. Success: a Normal "Scheduled" event. 409 (bound by someone else, being
//      deleted) or 404: drop the assumption, done (the watch brings the Pod's real state). Any
//      other error: drop the assumption, kRetry (the queue's backoff).
//   4. No node fits: strategic-merge PATCH of pods/status with PodScheduled=False, reason
//      Unschedulable, message = the decision's message (only when the cached condition differs),
//      a Warning "FailedScheduling" event, and RequeueAfter a per-pod backoff doubling from
//      `initial_backoff` to `max_backoff` (Kubernetes' podInitialBackoff / podMaxBackoff), in
//      addition to the cluster-change triggers above.
// An assumption that is never confirmed (its binding succeeded but the Pod was deleted before the
// watch showed it bound) goes away with the Pod's delete event.
//
// Cost per decision: one PodInfo, one pass over the candidate nodes, no per-pod copy of any Pod
// or Node object (the NodeInfos hold the informer's immutable cached objects). Work proportional
// to the number of pods happens only on the cluster-change triggers, never per decision.
//
// Lifecycle (controller.h): Setup registers the informers' handlers and creates the queue; Start
// starts the event recorder and the workers; Stop drains both. The informers must be stopped
// before the controller is destroyed (the ControllerManager does that), since their handlers
// call into it.
//
// Thread-safety: Setup/Start/Stop from the manager's thread; Stats from any thread. Handlers run
// on the informer threads, reconciles on the workers; the cache is guarded by mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "controller/runtime/controller.h"
#include "controller/runtime/work_queue.h"
#include "controller/runtime/worker_pool.h"
#include "controller/scheduler/node_info.h"
#include "controller/scheduler/priorities.h"
#include "controller/scheduler/scheduling.h"

namespace capstan::controller::scheduler {

struct SchedulerControllerOptions {
  int workers = 4;                                       // reconcile threads (at least 1)
  std::string scheduler_name = kDefaultSchedulerName;    // Pods with another spec.schedulerName
                                                         // are left alone; also the events' component
  ScoreWeights weights;
  std::chrono::milliseconds initial_backoff{1000};       // first requeue of an unschedulable Pod
  std::chrono::milliseconds max_backoff{10000};          // the requeue delay doubles up to this
  client::EventRecorderOptions events;                   // the event recorder's queue and window;
                                                         // events.now also stamps the condition's
                                                         // lastTransitionTime
};

// Counters since construction, and the cache's sizes now.
struct SchedulerStats {
  uint64_t attempts = 0;       // Schedule() calls
  uint64_t bound = 0;          // successful bindings
  uint64_t conflicts = 0;      // bindings refused with 409/404 (someone else was faster)
  uint64_t bind_errors = 0;    // other binding failures (retried)
  uint64_t unschedulable = 0;  // attempts where no node fit
  uint64_t status_writes = 0;  // PodScheduled=False patches sent
  size_t nodes = 0;            // candidate nodes
  size_t unscheduled = 0;      // Pods waiting for a node
};

class SchedulerController final : public Controller {
 public:
  explicit SchedulerController(SchedulerControllerOptions options = {});
  ~SchedulerController() override;  // Stop()

  SchedulerController(const SchedulerController&) = delete;
  SchedulerController& operator=(const SchedulerController&) = delete;

  const std::string& name() const override { return name_; }
  Status Setup(const ControllerContext& ctx) override;
  Status Start() override;
  void Stop() override;  // idempotent

  SchedulerStats Stats() const;

 private:
  // One Node's NodeInfo. `present` is false once the Node was deleted (or before it arrived)
  // while bound pods still name it; such an entry is no candidate.
  struct NodeEntry {
    NodeInfo info;
    bool present = false;
  };
  // Where the NodeInfos count a Pod (by PodKey): its node, and whether only this scheduler's
  // assumption says so (false once the informer showed it bound there).
  struct Placement {
    std::string node;
    bool assumed = false;
  };

  void OnNodeAdd(const client::ObjectPtr& node);
  void OnNodeUpdate(const client::ObjectPtr& old_node, const client::ObjectPtr& node);
  void OnNodeDelete(const client::ObjectPtr& node);
  void OnPod(const client::ObjectPtr& old_pod, const client::ObjectPtr& pod, bool deleted);

  ReconcileResult Reconcile(const std::string& key);
  ReconcileResult HandleUnschedulable(const std::string& key, const client::ObjectPtr& pod, const Decision& decision);
  // Writes PodScheduled=False unless the cached Pod already says exactly that.
  void SetUnschedulableCondition(const json& pod, const std::string& message);
  void ForgetAssumed(const std::string& pod_key, const std::string& node);

  // *Locked: mu_ held.
  void RemoveFromNodeLocked(const std::string& node, const std::string& pod_key);
  void RebuildCandidatesLocked();
  std::vector<std::string> UnscheduledKeysLocked() const;

  void AddAll(const std::vector<std::string>& keys);

  // Constant after construction.
  const std::string name_ = "scheduler";
  const SchedulerControllerOptions options_;

  // Set by Setup (queue_, pool_) and Start (recorder_); constant while running.
  client::ApiClient* api_ = nullptr;
  client::Informer* pods_ = nullptr;
  client::Informer* nodes_informer_ = nullptr;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<client::EventRecorder> recorder_;
  bool stopped_ = false;  // Stop() ran; owned by the manager's thread

  mutable std::mutex mu_;
  // Guarded by mu_. Invariants:
  //  * every Placement names an entry of nodes_ whose NodeInfo holds that PodKey, and every pod a
  //    NodeInfo holds has a Placement;
  //  * candidates_ points at exactly the present entries of nodes_ (std::map nodes are stable);
  //  * an entry that is not present holds at least one pod (it is erased with its last pod).
  std::map<std::string, NodeEntry> nodes_;
  std::vector<const NodeInfo*> candidates_;
  std::unordered_map<std::string, Placement> placements_;  // PodKey -> placement
  std::unordered_set<std::string> unscheduled_;            // "ns/name" of Pods waiting for a node
  std::unordered_map<std::string, int> failures_;          // "ns/name" -> unschedulable attempts

  std::atomic<uint64_t> attempts_{0}, bound_{0}, conflicts_{0}, bind_errors_{0}, unschedulable_{0},
      status_writes_{0};
};

}  // namespace capstan::controller::scheduler
