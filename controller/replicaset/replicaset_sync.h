// The decision logic of the ReplicaSet controller: one pure function from (ReplicaSet, Pods in
// its namespace, now) to what the controller should do. No I/O, no threads, no clock reads.
//
// The controller around it (informers, work queue, API calls) does, per key "namespace/name":
//   1. satisfied = expectations.Satisfied(key);
//   2. plan = PlanReplicaSet(rs, pods_in_namespace, now, {.expectations_satisfied = satisfied});
//   3. sends plan.adopt / plan.release patches (strategic merge patch; a failed adoption means the
//      Pod changed under us: requeue);
//   4. if plan.create > 0: expectations.ExpectCreations(key, plan.create), then POSTs
//      PodFromTemplate(rs) in SlowStartBatches(plan.create); at the first failing batch it stops
//      and calls expectations.CreationObserved(key, n) for every Pod it did not create, so the
//      expectations do not wait for Pods that will never appear;
//   5. if plan.to_delete is non-empty: expectations.ExpectDeletions(key, uids), then DELETEs each
//      (a NotFound or failed delete calls DeletionObserved for that uid);
//   6. writes plan.status through the status subresource when plan.status_changed — when step 4
//      or 5 failed, it first re-plans with options.last_error set and writes that plan's status
//      (which carries the ReplicaFailure condition);
//   7. requeues after plan.requeue_after when set (a Pod that will become available).
// Informer handlers call CreationObserved(owner key) on a Pod add and DeletionObserved(owner key,
// uid) on a Pod delete (or an update that set deletionTimestamp).
//
// Semantics follow Kubernetes' pkg/controller/replicaset (syncReplicaSet, manageReplicas,
// calculateStatus) and the PodControllerRefManager's claim rules:
//   * Only active Pods count (not Succeeded/Failed, no deletionTimestamp); inactive ones are
//     neither counted, adopted, released, nor deleted.
//   * A Pod controlled by another owner is ignored. An orphan (no controller reference) that
//     matches the selector and is not being deleted is adopted — unless the ReplicaSet itself is
//     being deleted. A Pod we control that no longer matches is released (again not while the
//     ReplicaSet is being deleted). Adopted Pods count as owned in this same plan.
//   * create / to_delete are planned only when expectations are satisfied and the ReplicaSet is
//     not being deleted, and are capped at options.burst_replicas (Kubernetes' 500) per sync.
//   * Victims are the first Pods of RankPodsForDeletion over the owned active Pods.
//   * Status: replicas (owned active Pods, less the ones this plan deletes — a deliberate
//     difference: Kubernetes counts them until its next sync, which lets a Deployment see
//     availability that is already going away), fullyLabeledReplicas (Pods carrying every template
//     label), readyReplicas, availableReplicas (ready for more than spec.minReadySeconds, from
//     the Ready condition's lastTransitionTime), observedGeneration = metadata.generation, and
//     the ReplicaFailure condition (FailedCreate / FailedDelete) while options.last_error is set.
//     Fields Kubernetes marks omitempty are omitted when zero; other existing status fields are
//     kept as they are.
//   * An empty selector adopts nothing (validation forbids it; Kubernetes would adopt every Pod).
//
// Invariants: the inputs are never mutated (cached objects are shared and immutable); the
// returned Pod pointers are the caller's own shared_ptrs.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "controller/replicaset/object_util.h"

namespace capstan::controller::replicaset {

// Pods as the informer cache hands them out: shared and immutable.
using PodList = std::vector<std::shared_ptr<const json>>;

// Kubernetes' BurstReplicas: the most Pods one sync creates or deletes.
inline constexpr int kBurstReplicas = 500;

struct ReplicaSetPlanOptions {
  // ControllerExpectations::Satisfied for this ReplicaSet. When false, nothing is created or
  // deleted (the cache does not yet show this controller's own earlier writes); adoption,
  // release and status still happen.
  bool expectations_satisfied = true;
  // The error of the last create/delete batch for this ReplicaSet, if it failed: sets the
  // ReplicaFailure condition (kept, with its first message, while errors continue; removed on
  // the first plan without an error).
  std::optional<std::string> last_error;
  int burst_replicas = kBurstReplicas;
  // Uids of Pods this controller already asked to delete, not yet seen going in the cache
  // (ControllerExpectations::PendingDeletions): not counted in the status, like the Pods this
  // plan deletes, so the counts never go back up while the cache catches up.
  std::unordered_set<std::string> deleting;
};

// A patch for one Pod, to send as application/strategic-merge-patch+json. It carries
// metadata.uid as a precondition, as Kubernetes' controller does, so a Pod deleted and recreated
// under the same name is not adopted or released by mistake.
struct PodPatch {
  std::shared_ptr<const json> pod;
  json patch;
};

struct ReplicaSetPlan {
  std::vector<PodPatch> adopt;     // adds our controller ownerReference
  std::vector<PodPatch> release;   // removes our ownerReference ($patch: delete by uid)
  int create = 0;                  // Pods to create from PodFromTemplate(rs)
  PodList to_delete;               // Pods to delete, in deletion order
  json status;                     // the ReplicaSet's new status (always a full object)
  bool status_changed = false;     // status differs from rs.status
  // Set when some Pod is ready but not yet available (minReadySeconds): sync again then.
  std::optional<std::chrono::milliseconds> requeue_after;
};

// Plans one sync of `rs` (an apps/v1 ReplicaSet) against `pods_in_namespace` (all Pods of its
// namespace, any owner). kInvalid when the selector cannot be parsed.
Result<ReplicaSetPlan> PlanReplicaSet(const json& rs, const PodList& pods_in_namespace,
                                      std::chrono::system_clock::time_point now,
                                      const ReplicaSetPlanOptions& options = {});

// The Pod to POST for `rs` (controller.GetPodFromTemplate): apiVersion v1, kind Pod,
// metadata.generateName "<rs-name>-", the ReplicaSet's namespace, the template's labels,
// annotations and finalizers, one controller ownerReference to the ReplicaSet
// (blockOwnerDeletion), and the template's spec.
json PodFromTemplate(const json& rs);

// Kubernetes' slowStartBatch sizes for `count` creations: 1, 2, 4, ... (the last one is what
// remains). A batch runs only if every earlier one fully succeeded, so a failing template costs
// one failed request, not `count`.
std::vector<int> SlowStartBatches(int count);

}  // namespace capstan::controller::replicaset
