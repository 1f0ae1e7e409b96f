// The decision logic of the Deployment controller: one pure function from (Deployment, its
// ReplicaSets, their Pods, now) to the writes one sync makes. No I/O, no threads, no clock reads.
//
// The controller around it applies a plan in this order and, at the first failed write, stops and
// requeues the key with backoff (the next sync re-plans from the cache; plans are level-based and
// idempotent):
//   1. update_replicaset (PUT: the full object, carrying the cached resourceVersion) or
//      create_replicaset (POST). On AlreadyExists for the create: if IsNewReplicaSetOf(deployment,
//      existing) the cache was just stale, requeue; otherwise write StatusAfterHashCollision (a
//      foreign object holds the name; the next hash differs). On another error, when the
//      Deployment has a progress deadline, write StatusAfterCreateFailure.
//   2. deployment_revision: set metadata.annotations["deployment.kubernetes.io/revision"] on the
//      Deployment (a merge patch of its metadata).
//   3. scales, in order: ScaleAction::MergePatch() on each ReplicaSet.
//   4. delete_replicasets (a NotFound is success).
//   5. status through the status subresource, when status_changed.
//   6. requeue_after, when set: a progress-deadline check is due then.
//
// Semantics follow Kubernetes' pkg/controller/deployment (syncDeployment, sync.go, rolling.go,
// recreate.go, progress.go):
//   * The new ReplicaSet is the oldest one whose template equals the Deployment's ignoring the
//     pod-template-hash label; the others are old. Its revision annotation becomes max(old) + 1
//     when lower (the old value is appended to deployment.kubernetes.io/revision-history, which
//     is how a rollback shows up), the Deployment's annotations (but not kubectl's
//     last-applied-configuration nor the controller's own) are copied onto it, and its
//     minReadySeconds follows the Deployment's.
//   * A Deployment being deleted only gets its status computed.
//   * Paused: only proportional scaling, cleanup of old ReplicaSets beyond revisionHistoryLimit,
//     and status; no new ReplicaSet and no rollout; Progressing becomes DeploymentPaused
//     (DeploymentResumed on resume) and the progress deadline is not evaluated.
//   * A scaling event (an active ReplicaSet's desired-replicas annotation differs from
//     spec.replicas) is handled like paused, without the cleanup: the active ReplicaSets are
//     scaled proportionally (see rollout_math.h), or the only active one directly.
//   * RollingUpdate: create the new ReplicaSet if missing; grow it (NewRSNewReplicas); if it did
//     not grow, shrink old ones (ReconcileOldReplicaSets); if neither and the rollout was already
//     complete, delete old ReplicaSets beyond revisionHistoryLimit (zero replicas only, lowest
//     revision first). One step per sync: the next step needs the Pods the last one caused.
//   * Recreate: scale every old ReplicaSet to 0; wait until their Pods are gone (status.replicas
//     of old ReplicaSets and every Pod of theirs not Succeeded/Failed, terminating ones included);
//     then create the new ReplicaSet at full size (or scale the existing one up).
//   * Status and conditions: see deployment_status.h.
//
// Invariants: inputs are never mutated; every ReplicaSet named in the plan is one of the inputs
// (or the one being created); ReplicaSets controlled by another owner are ignored.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "controller/deployment/deployment_status.h"

namespace capstan::controller::deployment {

// Objects as the informer cache hands them out: shared and immutable.
using ObjectList = std::vector<std::shared_ptr<const json>>;

inline constexpr char kRevisionAnnotation[] = "deployment.kubernetes.io/revision";
inline constexpr char kRevisionHistoryAnnotation[] = "deployment.kubernetes.io/revision-history";
inline constexpr char kDesiredReplicasAnnotation[] = "deployment.kubernetes.io/desired-replicas";
inline constexpr char kMaxReplicasAnnotation[] = "deployment.kubernetes.io/max-replicas";
inline constexpr char kChangeCauseAnnotation[] = "kubernetes.io/change-cause";
inline constexpr char kLastAppliedAnnotation[] = "kubectl.kubernetes.io/last-applied-configuration";

// The annotations a Deployment does not copy onto its ReplicaSets (and a rollback does not copy
// back): kubectl's last-applied-configuration and the controller's own bookkeeping.
bool SkipCopyAnnotation(const std::string& key);

// Set a ReplicaSet's size, with the desired-replicas / max-replicas annotations that proportional
// scaling reads later (spec.replicas and replicas + maxSurge of the Deployment at this time).
struct ScaleAction {
  std::string name;
  int32_t replicas = 0;
  int32_t desired_replicas = 0;
  int32_t max_replicas = 0;
  // {"metadata":{"annotations":{...}},"spec":{"replicas":n}}, an application/merge-patch+json.
  json MergePatch() const;
};

struct DeploymentPlan {
  std::optional<json> create_replicaset;   // full ReplicaSet to POST
  std::optional<json> update_replicaset;   // full existing new ReplicaSet to PUT
  std::optional<std::string> deployment_revision;  // new value of the revision annotation
  std::vector<ScaleAction> scales;         // at most one per ReplicaSet
  std::vector<std::string> delete_replicasets;
  json status;                             // the Deployment's new status (full object)
  bool status_changed = false;
  std::optional<std::chrono::milliseconds> requeue_after;
};

// Plans one sync. `replicasets`: the ReplicaSets controlled by the Deployment. `pods`: Pods
// controlled by those ReplicaSets (only Recreate reads them). kInvalid for a selector or template
// that cannot be used (validation prevents both).
Result<DeploymentPlan> PlanDeployment(const json& deployment, const ObjectList& replicasets, const ObjectList& pods,
                                      TimePoint now);

// Whether PlanDeployment reads the Pods of `deployment` (its strategy is Recreate, which waits for
// the old Pods to be gone): only then does a Pod's deletion concern the Deployment.
bool ReadsPods(const json& deployment);

// The ReplicaSet `rs` is controlled by `deployment` and has its template (ignoring the hash).
bool IsNewReplicaSetOf(const json& deployment, const json& rs);
// The Deployment's status after the new ReplicaSet's name turned out to be taken by another
// object: collisionCount + 1, so the next sync hashes to a different name.
json StatusAfterHashCollision(const json& deployment);
// The Deployment's status after creating `rs_name` failed with `error`: Progressing False,
// ReplicaSetCreateError (when the Deployment has a progress deadline; otherwise unchanged).
json StatusAfterCreateFailure(const json& deployment, const std::string& rs_name, const std::string& error,
                              TimePoint now);

}  // namespace capstan::controller::deployment
