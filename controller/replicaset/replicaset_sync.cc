#include "controller/replicaset/replicaset_sync.h"

#include <algorithm>

#include "api/selector/selector.h"
#include "controller/replicaset/pod_ranking.h"

namespace capstan::controller::replicaset {
namespace {

json AdoptPatch(const json& rs, const json& pod) {
  return json{{"metadata",
               {{"ownerReferences", json::array({NewControllerRef(rs, "apps/v1", "ReplicaSet")})},
                {"uid", Meta(pod, "uid")}}}};
}

json ReleasePatch(const json& rs, const json& pod) {
  return json{{"metadata",
               {{"ownerReferences", json::array({json{{"$patch", "delete"}, {"uid", Meta(rs, "uid")}}})},
                {"uid", Meta(pod, "uid")}}}};
}

// Go's omitempty: a zero count is not written.
void SetCount(json& status, const char* field, int64_t value) {
  if (value == 0) {
    status.erase(field);
  } else {
    status[field] = value;
  }
}

json CalculateStatus(const json& rs, const PodList& owned, int diff, const ReplicaSetPlanOptions& options,
                     TimePoint now, std::optional<TimePoint>* next_available) {
  const json& old = At(rs, "status");
  json status = old.is_object() ? old : json::object();
  const json& spec = At(rs, "spec");
  const json& template_labels = At(At(At(spec, "template"), "metadata"), "labels");
  int64_t min_ready = IntAt(spec, "minReadySeconds");

  int64_t fully_labeled = 0, ready = 0, available = 0;
  for (const auto& p : owned) {
    const json& pod = *p;
    if (LabelsContain(At(At(pod, "metadata"), "labels"), template_labels)) ++fully_labeled;
    if (!IsPodReady(pod)) continue;
    ++ready;
    if (IsPodAvailable(pod, min_ready, now)) {
      ++available;
    } else if (auto at = PodAvailableAt(pod, min_ready); at && (!*next_available || *at < **next_available)) {
      *next_available = at;
    }
  }

  if (options.last_error && FindCondition(status, "ReplicaFailure") == nullptr) {
    std::string reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
    if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = json::array();
    status["conditions"].push_back(json{{"type", "ReplicaFailure"},
                                        {"status", "True"},
                                        {"lastTransitionTime", FormatTime(now)},
                                        {"reason", reason},
                                        {"message", *options.last_error}});
  } else if (!options.last_error) {
    RemoveCondition(status, "ReplicaFailure");
  }

  status["replicas"] = static_cast<int64_t>(owned.size());  // not omitempty in apps/v1
  SetCount(status, "fullyLabeledReplicas", fully_labeled);
  SetCount(status, "readyReplicas", ready);
  SetCount(status, "availableReplicas", available);
  SetCount(status, "observedGeneration", IntAt(At(rs, "metadata"), "generation"));
  return status;
}

Result<ReplicaSetPlan> Plan(const json& rs, const PodList& pods_in_namespace, TimePoint now,
                            const ReplicaSetPlanOptions& options) {
  const json& spec = At(rs, "spec");
  Result<api::LabelSelector> selector = api::LabelSelector::FromObject(At(spec, "selector"));
  if (!selector.ok()) {
    return selector.status().Annotate("replicaset " + Meta(rs, "namespace") + "/" + Meta(rs, "name"));
  }
  const std::string uid = Meta(rs, "uid");
  const std::string ns = Meta(rs, "namespace");
  const bool rs_deleting = IsDeleting(rs);

  ReplicaSetPlan plan;
  PodList owned;
  for (const auto& p : pods_in_namespace) {
    if (p == nullptr) continue;
    const json& pod = *p;
    if (!ns.empty() && Meta(pod, "namespace") != ns) continue;
    if (!IsPodActive(pod)) continue;
    const json& labels = At(At(pod, "metadata"), "labels");
    const bool matches = !selector->Empty() && selector->Matches(labels.is_object() ? labels : json::object());
    if (const json* ref = ControllerRef(pod)) {
      if (uid.empty() || StringAt(*ref, "uid") != uid) continue;  // another owner's Pod
      if (matches) {
        owned.push_back(p);
      } else if (!rs_deleting) {
        plan.release.push_back(PodPatch{p, ReleasePatch(rs, pod)});
      }
      continue;
    }
    // An orphan; IsPodActive already excluded Pods being deleted.
    if (matches && !rs_deleting && !uid.empty()) {
      plan.adopt.push_back(PodPatch{p, AdoptPatch(rs, pod)});
      owned.push_back(p);
    }
  }

  const int replicas = std::max<int>(0, SpecReplicas(rs));
  const int diff = static_cast<int>(owned.size()) - replicas;
  const int burst = std::max(0, options.burst_replicas);
  if (options.expectations_satisfied && !rs_deleting) {
    if (diff < 0) {
      plan.create = std::min(-diff, burst);
    } else if (diff > 0) {
      PodList ranked = RankPodsForDeletion(owned);
      ranked.resize(static_cast<size_t>(std::min(diff, burst)));
      plan.to_delete = std::move(ranked);
    }
  }

  // Pods about to be deleted, or whose delete is already on its way, are not counted: Kubernetes
  // counts them until the cache shows them going, and a Deployment reading that status would
  // believe them available and shrink old ReplicaSets too far. If a delete fails, the next sync
  // counts the Pod again; under-reporting is the safe side.
  PodList counted;
  for (const auto& p : owned) {
    if (std::find(plan.to_delete.begin(), plan.to_delete.end(), p) != plan.to_delete.end()) continue;
    if (!options.deleting.empty() && options.deleting.count(Meta(*p, "uid")) > 0) continue;
    counted.push_back(p);
  }
  std::optional<TimePoint> next_available;
  plan.status = CalculateStatus(rs, counted, diff, options, now, &next_available);
  const json& old = At(rs, "status");
  plan.status_changed = plan.status != (old.is_object() ? old : json::object());
  if (next_available) {
    // Availability is strict (ready since strictly before now - minReadySeconds) and times have
    // second precision, so look one second after the boundary.
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*next_available - now) + std::chrono::seconds(1);
    plan.requeue_after = std::max(wait, std::chrono::milliseconds(0));
  }
  return plan;
}

}  // namespace

Result<ReplicaSetPlan> PlanReplicaSet(const json& rs, const PodList& pods_in_namespace, TimePoint now,
                                      const ReplicaSetPlanOptions& options) {
  // The cache holds whatever the API accepted; a field of an unexpected type must not throw
  // through the controller.
  try {
    return Plan(rs, pods_in_namespace, now, options);
  } catch (const json::exception& e) {
    return Status::Invalid("replicaset " + Meta(rs, "name") + ": malformed object: " + e.what());
  }
}

json PodFromTemplate(const json& rs) {
  const json& tmpl = At(At(rs, "spec"), "template");
  const json& tmeta = At(tmpl, "metadata");
  json meta = json::object();
  meta["generateName"] = Meta(rs, "name") + "-";
  if (std::string ns = Meta(rs, "namespace"); !ns.empty()) meta["namespace"] = ns;
  for (const char* field : {"labels", "annotations", "finalizers"}) {
    const json& v = At(tmeta, field);
    if (!v.is_null()) meta[field] = v;
  }
  meta["ownerReferences"] = json::array({NewControllerRef(rs, "apps/v1", "ReplicaSet")});
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)}};
  const json& pod_spec = At(tmpl, "spec");
  pod["spec"] = pod_spec.is_object() ? pod_spec : json::object();
  return pod;
}

std::vector<int> SlowStartBatches(int count) {
  std::vector<int> batches;
  int size = 1;
  for (int remaining = count; remaining > 0;) {
    int batch = std::min(size, remaining);
    batches.push_back(batch);
    remaining -= batch;
    size *= 2;
  }
  return batches;
}

}  // namespace capstan::controller::replicaset
