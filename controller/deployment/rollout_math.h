// The arithmetic of a Deployment rollout, as Kubernetes does it (pkg/controller/deployment:
// util/deployment_util.go, rolling.go, sync.go's scale()). Pure functions over small values, so
// each rule can be tested on its own and the simulation in deployment_sync_test can check the
// guarantees they add up to:
//   * total Pods (sum of spec.replicas) never exceed replicas + maxSurge while rolling, and
//   * available Pods never drop below replicas - maxUnavailable because of the controller
//     (Pods can still fail on their own).
//
// Rounding (intstr.GetScaledValueFromIntOrPercent, via ResolveFenceposts): maxSurge percentages
// round up, maxUnavailable percentages round down, so "25%" of 10 is surge 3, unavailable 2; if
// both resolve to 0, maxUnavailable becomes 1, or the rollout could never make progress.
// MaxUnavailable is also capped at spec.replicas and is 0 when replicas is 0. Recreate has no
// surge and no unavailability budget (both 0).
//
// Thread-safety: pure functions. Functions taking RsState pointers change only `replicas` of
// the pointed-to values (the caller's working copies, never cached objects).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan::controller::deployment {

using json = nlohmann::json;

// An int-or-percent ("25%", or 3) scaled against `total`: a percentage is total*p/100 rounded up
// or down; an int is itself. kInvalid for a string that is not "<digits>%" or for other types.
// null reads as 0 (intstr.ValueOrDefault(x, 0)).
Result<int32_t> ScaledValueFromIntOrPercent(const json& value, int32_t total, bool round_up);

struct Fenceposts {
  int32_t max_surge = 0;
  int32_t max_unavailable = 0;
};
// deploymentutil.ResolveFenceposts.
Result<Fenceposts> ResolveFenceposts(const json& max_surge, const json& max_unavailable, int32_t desired);

// spec.strategy.type is RollingUpdate (absent counts as RollingUpdate, the API default).
bool IsRollingUpdate(const json& deployment);
// deploymentutil.MaxUnavailable / MaxSurge of a Deployment; 0 for Recreate, and 0 for values
// that do not parse (validation rejects them; Kubernetes ignores the error the same way).
int32_t MaxUnavailable(const json& deployment);
int32_t MaxSurge(const json& deployment);

// One ReplicaSet as the arithmetic sees it. `replicas` is the working spec.replicas the functions
// below change; the status counts are what the ReplicaSet controller last reported.
struct RsState {
  std::string name;
  std::chrono::system_clock::time_point created;
  int64_t revision = 0;
  int32_t replicas = 0;
  int32_t status_replicas = 0;
  int32_t ready = 0;
  int32_t available = 0;
  std::optional<int32_t> max_replicas_annotation;      // deployment.kubernetes.io/max-replicas
  std::optional<int32_t> desired_replicas_annotation;  // deployment.kubernetes.io/desired-replicas
};

// What the arithmetic needs from the Deployment, read once.
struct RolloutParams {
  int32_t replicas = 0;         // spec.replicas
  int32_t max_surge = 0;        // MaxSurge(d)
  int32_t max_unavailable = 0;  // MaxUnavailable(d)
  int32_t status_replicas = 0;  // status.replicas: GetProportion's fallback without annotation
  bool rolling = true;

  static RolloutParams From(const json& deployment);
  int32_t MinAvailable() const { return replicas - max_unavailable; }
  int32_t MaxTotal() const { return replicas + max_surge; }
};

// Orderings (controller.ReplicaSetsByCreationTimestamp, ...BySizeNewer, ...BySizeOlder and
// deploymentutil.ReplicaSetsByRevision); ties end on the name so they are total.
bool OlderFirst(const RsState* a, const RsState* b);
bool LargerThenNewerFirst(const RsState* a, const RsState* b);
bool LargerThenOlderFirst(const RsState* a, const RsState* b);
bool LowerRevisionFirst(const RsState* a, const RsState* b);

int32_t SumReplicas(const std::vector<RsState*>& rss);
// Sum of min(available, replicas): what each ReplicaSet will keep available.
int32_t SumAvailable(const std::vector<RsState*>& rss);

// deploymentutil.NewRSNewReplicas: the size the new ReplicaSet may grow to now. RollingUpdate:
// up to min(replicas, new + room under replicas + maxSurge given every ReplicaSet's
// max(spec, status.replicas) — the Pods that still exist, not only the ones asked for);
// Recreate: replicas.
int32_t NewRSNewReplicas(const RolloutParams& p, const std::vector<RsState*>& all, const RsState& new_rs);

// rolling.go reconcileOldReplicaSets: scales down old ReplicaSets as far as availability allows:
//   maxScaledDown = sum(spec) - minAvailable - (new.replicas - new.available);
// first CleanupUnhealthyReplicas (oldest first, only their unavailable replicas, at most
// maxScaledDown), then ScaleDownOldReplicaSetsForRollingUpdate. `old_active` are the old
// ReplicaSets with replicas > 0. Returns the number of replicas removed.
int32_t ReconcileOldReplicaSets(const RolloutParams& p, std::vector<RsState*> old_active, RsState* new_rs);
int32_t CleanupUnhealthyReplicas(std::vector<RsState*> old, int32_t max_cleanup);
// Scales old ReplicaSets (oldest first) down by sum(min(available, spec) of all) - minAvailable in
// total (availability a shrinking ReplicaSet is about to lose does not count).
int32_t ScaleDownOldReplicaSetsForRollingUpdate(const RolloutParams& p, const std::vector<RsState*>& all,
                                                std::vector<RsState*> old);

// deploymentutil.GetProportion: how many replicas of `to_add` (negative: to remove) ReplicaSet
// `rs` gets, given `added` already handed out: its size scaled by
// (replicas + maxSurge) / max-replicas annotation (status.replicas without one), rounded half
// away from zero, then bounded by what is left to hand out.
int32_t GetProportion(const RolloutParams& p, const RsState& rs, int32_t to_add, int32_t added);

// sync.go scale(), the RollingUpdate branch: spreads the difference between replicas + maxSurge
// (0 when scaling to 0) and the current sum over the active ReplicaSets in proportion to their
// size — when adding, largest (then newest) first; when removing, largest (then oldest) first —
// and gives the rounding leftover to the first of them. Changes `replicas` of `active`.
void ScaleProportionally(const RolloutParams& p, std::vector<RsState*> active);

}  // namespace capstan::controller::deployment
