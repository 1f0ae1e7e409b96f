#include "controller/deployment/rollout_math.h"

#include <algorithm>
#include <cmath>

#include "controller/replicaset/object_util.h"

namespace capstan::controller::deployment {

using replicaset::At;
using replicaset::IntAt;
using replicaset::StringAt;

Result<int32_t> ScaledValueFromIntOrPercent(const json& value, int32_t total, bool round_up) {
  if (value.is_null()) return 0;
  if (value.is_number_integer()) return static_cast<int32_t>(value.get<int64_t>());
  if (!value.is_string()) return Status::Invalid("invalid type: neither int nor percentage");
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() < 2 || s.back() != '%') {
    return Status::Invalid("invalid value for IntOrString: invalid type: string is not a percentage");
  }
  int64_t percent = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || percent > 1000000000) {
      return Status::Invalid("invalid value \"" + s + "\": not a percentage");
    }
    percent = percent * 10 + (s[i] - '0');
  }
  int64_t scaled = percent * total;
  // Go computes math.Ceil/Floor(float64(percent) * float64(total) / 100); integers are exact here.
  int64_t q = scaled / 100;
  if (round_up && scaled % 100 != 0 && scaled > 0) ++q;
  return static_cast<int32_t>(q);
}

Result<Fenceposts> ResolveFenceposts(const json& max_surge, const json& max_unavailable, int32_t desired) {
  Result<int32_t> surge = ScaledValueFromIntOrPercent(max_surge, desired, true);
  if (!surge.ok()) return surge.status();
  Result<int32_t> unavailable = ScaledValueFromIntOrPercent(max_unavailable, desired, false);
  if (!unavailable.ok()) return unavailable.status();
  Fenceposts f{*surge, *unavailable};
  // Both zero would forbid any progress: allow one unavailable Pod, as Kubernetes does.
  if (f.max_surge == 0 && f.max_unavailable == 0) f.max_unavailable = 1;
  return f;
}

bool IsRollingUpdate(const json& deployment) {
  std::string type = StringAt(At(At(deployment, "spec"), "strategy"), "type");
  return type.empty() || type == "RollingUpdate";
}

namespace {
Fenceposts DeploymentFenceposts(const json& d) {
  const json& ru = At(At(At(d, "spec"), "strategy"), "rollingUpdate");
  Result<Fenceposts> f = ResolveFenceposts(At(ru, "maxSurge"), At(ru, "maxUnavailable"), replicaset::SpecReplicas(d));
  return f.ok() ? *f : Fenceposts{};
}
}  // namespace

int32_t MaxUnavailable(const json& deployment) {
  int32_t replicas = replicaset::SpecReplicas(deployment);
  if (!IsRollingUpdate(deployment) || replicas == 0) return 0;
  return std::min(DeploymentFenceposts(deployment).max_unavailable, replicas);
}

int32_t MaxSurge(const json& deployment) {
  if (!IsRollingUpdate(deployment)) return 0;
  return DeploymentFenceposts(deployment).max_surge;
}

RolloutParams RolloutParams::From(const json& d) {
  RolloutParams p;
  p.replicas = replicaset::SpecReplicas(d);
  p.max_surge = MaxSurge(d);
  p.max_unavailable = MaxUnavailable(d);
  p.status_replicas = static_cast<int32_t>(IntAt(At(d, "status"), "replicas"));
  p.rolling = IsRollingUpdate(d);
  return p;
}

bool OlderFirst(const RsState* a, const RsState* b) {
  if (a->created != b->created) return a->created < b->created;
  return a->name < b->name;
}

bool LargerThenNewerFirst(const RsState* a, const RsState* b) {
  if (a->replicas != b->replicas) return a->replicas > b->replicas;
  return OlderFirst(b, a);
}

bool LargerThenOlderFirst(const RsState* a, const RsState* b) {
  if (a->replicas != b->replicas) return a->replicas > b->replicas;
  return OlderFirst(a, b);
}

bool LowerRevisionFirst(const RsState* a, const RsState* b) {
  if (a->revision != b->revision) return a->revision < b->revision;
  return OlderFirst(a, b);
}

int32_t SumReplicas(const std::vector<RsState*>& rss) {
  int32_t n = 0;
  for (const RsState* rs : rss) n += rs->replicas;
  return n;
}

int32_t SumAvailable(const std::vector<RsState*>& rss) {
  // A ReplicaSet already told to shrink keeps at most `replicas` of its available Pods, even while
  // its status (not yet caught up) still reports more: counting the reported number would let a
  // scale-down spend availability that is about to disappear (Kubernetes sums status alone and
  // can briefly dip below minAvailable; the e2e rolling-update test caught exactly that).
  int32_t n = 0;
  for (const RsState* rs : rss) n += std::min(rs->available, rs->replicas);
  return n;
}

int32_t NewRSNewReplicas(const RolloutParams& p, const std::vector<RsState*>& all, const RsState& new_rs) {
  if (!p.rolling) return p.replicas;
  // The Pods that exist, not only the ones asked for: a ReplicaSet told to shrink still has its
  // old Pods until its controller deletes them (status.replicas), and growing the new one on the
  // strength of the smaller spec would exceed replicas + maxSurge meanwhile.
  int32_t current = 0;
  for (const RsState* rs : all) current += std::max(rs->replicas, rs->status_replicas);
  if (current >= p.MaxTotal()) return new_rs.replicas;
  int32_t scale_up = std::min(p.MaxTotal() - current, p.replicas - new_rs.replicas);
  return new_rs.replicas + scale_up;
}

int32_t CleanupUnhealthyReplicas(std::vector<RsState*> old, int32_t max_cleanup) {
  // Unhealthy replicas go first: deleting them does not lower availability, and left alone they
  // would block the rollout until the progress deadline (kubernetes#16737).
  std::sort(old.begin(), old.end(), OlderFirst);
  int32_t total = 0;
  for (RsState* rs : old) {
    if (total >= max_cleanup) break;
    if (rs->replicas == 0 || rs->replicas == rs->available) continue;
    int32_t n = std::min(max_cleanup - total, rs->replicas - rs->available);
    if (n <= 0) continue;  // more available than desired: nothing unhealthy to remove
    rs->replicas -= n;
    total += n;
  }
  return total;
}

int32_t ScaleDownOldReplicaSetsForRollingUpdate(const RolloutParams& p, const std::vector<RsState*>& all,
                                                std::vector<RsState*> old) {
  int32_t available = SumAvailable(all);
  if (available <= p.MinAvailable()) return 0;
  std::sort(old.begin(), old.end(), OlderFirst);
  int32_t budget = available - p.MinAvailable();
  int32_t total = 0;
  for (RsState* rs : old) {
    if (total >= budget) break;
    if (rs->replicas == 0) continue;
    int32_t n = std::min(rs->replicas, budget - total);
    rs->replicas -= n;
    total += n;
  }
  return total;
}

int32_t ReconcileOldReplicaSets(const RolloutParams& p, std::vector<RsState*> old_active, RsState* new_rs) {
  if (SumReplicas(old_active) == 0) return 0;
  std::vector<RsState*> all = old_active;
  if (new_rs != nullptr) all.push_back(new_rs);
  int32_t new_unavailable = new_rs != nullptr ? new_rs->replicas - new_rs->available : 0;
  // Counting the new ReplicaSet's unavailable Pods keeps a broken new template from letting the
  // old ReplicaSets shrink below minAvailable (see the worked example in Kubernetes' rolling.go).
  int32_t max_scaled_down = SumReplicas(all) - p.MinAvailable() - new_unavailable;
  if (max_scaled_down <= 0) return 0;
  int32_t cleaned = CleanupUnhealthyReplicas(old_active, max_scaled_down);
  int32_t scaled = ScaleDownOldReplicaSetsForRollingUpdate(p, all, old_active);
  return cleaned + scaled;
}

namespace {
int32_t ReplicaSetFraction(const RolloutParams& p, const RsState& rs) {
  if (p.replicas == 0) return -rs.replicas;  // scaling to zero: each gives up all it has
  int64_t deployment_replicas = p.MaxTotal();
  int64_t annotated = rs.max_replicas_annotation.value_or(p.status_replicas);
  if (annotated <= 0) return 0;  // Kubernetes would divide by zero here
  double size = static_cast<double>(rs.replicas) * static_cast<double>(deployment_replicas) / static_cast<double>(annotated);
  return static_cast<int32_t>(std::llround(size)) - rs.replicas;  // Go's math.Round: half away from zero
}
}  // namespace

int32_t GetProportion(const RolloutParams& p, const RsState& rs, int32_t to_add, int32_t added) {
  if (rs.replicas == 0 || to_add == 0 || to_add == added) return 0;
  int32_t fraction = ReplicaSetFraction(p, rs);
  int32_t allowed = to_add - added;
  return to_add > 0 ? std::min(fraction, allowed) : std::max(fraction, allowed);
}

void ScaleProportionally(const RolloutParams& p, std::vector<RsState*> active) {
  if (active.empty()) return;
  int32_t allowed = p.replicas > 0 ? p.MaxTotal() : 0;
  int32_t to_add = allowed - SumReplicas(active);
  if (to_add == 0) return;
  // Adding: the largest (then newest) ReplicaSet takes the leftover; removing: the largest (then
  // oldest) gives it up.
  std::sort(active.begin(), active.end(), to_add > 0 ? LargerThenNewerFirst : LargerThenOlderFirst);
  std::vector<int32_t> sizes(active.size());
  int32_t added = 0;
  for (size_t i = 0; i < active.size(); ++i) {
    int32_t proportion = GetProportion(p, *active[i], to_add, added);
    sizes[i] = active[i]->replicas + proportion;
    added += proportion;
  }
  sizes[0] = std::max(0, sizes[0] + (to_add - added));
  for (size_t i = 0; i < active.size(); ++i) active[i]->replicas = sizes[i];
}

}  // namespace capstan::controller::deployment
