#include "controller/deployment/deployment_status.h"

#include <algorithm>
#include <limits>

#include "controller/replicaset/object_util.h"

namespace capstan::controller::deployment {

using replicaset::At;
using replicaset::FindCondition;
using replicaset::FormatTime;
using replicaset::IntAt;
using replicaset::ParseTime;
using replicaset::RemoveCondition;
using replicaset::StringAt;

json NewDeploymentCondition(const std::string& type, const std::string& status, const std::string& reason,
                            const std::string& message, TimePoint now) {
  std::string t = FormatTime(now);
  return json{{"type", type},           {"status", status}, {"lastUpdateTime", t},
              {"lastTransitionTime", t}, {"reason", reason}, {"message", message}};
}

void SetDeploymentCondition(json& status, json condition) {
  std::string type = StringAt(condition, "type");
  if (const json* current = FindCondition(status, type)) {
    if (StringAt(*current, "status") == StringAt(condition, "status")) {
      if (StringAt(*current, "reason") == StringAt(condition, "reason")) return;
      condition["lastTransitionTime"] = At(*current, "lastTransitionTime");
    }
  }
  RemoveCondition(status, type);
  if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = json::array();
  status["conditions"].push_back(std::move(condition));
}

bool HasProgressDeadline(const json& deployment) {
  const json& v = At(At(deployment, "spec"), "progressDeadlineSeconds");
  return v.is_number_integer() && v.get<int64_t>() != std::numeric_limits<int32_t>::max();
}

namespace {
int64_t Count(const json& status, const char* field) { return IntAt(status, field); }
}  // namespace

bool DeploymentComplete(const json& deployment, const json& status) {
  int64_t replicas = replicaset::SpecReplicas(deployment);
  return Count(status, "updatedReplicas") == replicas && Count(status, "replicas") == replicas &&
         Count(status, "availableReplicas") == replicas &&
         Count(status, "observedGeneration") >= IntAt(At(deployment, "metadata"), "generation");
}

void CheckPausedConditions(const json& deployment, json& status, TimePoint now) {
  if (!HasProgressDeadline(deployment)) return;
  const json* cond = FindCondition(status, "Progressing");
  // A reported lack of progress stays reported; pausing does not hide it.
  if (cond != nullptr && StringAt(*cond, "reason") == kTimedOutReason) return;
  bool paused_cond = cond != nullptr && StringAt(*cond, "reason") == kPausedDeployReason;
  const json& paused = At(At(deployment, "spec"), "paused");
  bool is_paused = paused.is_boolean() && paused.get<bool>();
  // These conditions keep a Deployment resumed after a long pause from timing out at once: the
  // resume restarts the clock (lastUpdateTime).
  if (is_paused && !paused_cond) {
    SetDeploymentCondition(status,
                           NewDeploymentCondition("Progressing", "Unknown", kPausedDeployReason, "Deployment is paused", now));
  } else if (!is_paused && paused_cond) {
    SetDeploymentCondition(
        status, NewDeploymentCondition("Progressing", "Unknown", kResumedDeployReason, "Deployment is resumed", now));
  }
}

json CalculateDeploymentStatus(const json& deployment, const json& working_status, const std::vector<RsState*>& all,
                               const RsState* new_rs, const RolloutParams& params, TimePoint now) {
  int64_t replicas = 0, ready = 0, available = 0, spec_total = 0;
  for (const RsState* rs : all) {
    replicas += rs->status_replicas;
    ready += rs->ready;
    available += rs->available;
    spec_total += rs->replicas;
  }
  json status = json::object();
  auto set = [&status](const char* field, int64_t v) {
    if (v != 0) status[field] = v;
  };
  set("observedGeneration", IntAt(At(deployment, "metadata"), "generation"));
  set("replicas", replicas);
  set("updatedReplicas", new_rs != nullptr ? new_rs->status_replicas : 0);
  set("readyReplicas", ready);
  set("availableReplicas", available);
  set("unavailableReplicas", std::max<int64_t>(0, spec_total - available));
  const json& conditions = At(working_status, "conditions");
  if (conditions.is_array() && !conditions.empty()) status["conditions"] = conditions;
  // A pointer in Go: written whenever it is set, even when 0.
  const json& collisions = At(At(deployment, "status"), "collisionCount");
  if (collisions.is_number_integer()) status["collisionCount"] = collisions;

  if (available >= params.MinAvailable()) {
    SetDeploymentCondition(status, NewDeploymentCondition("Available", "True", kMinimumReplicasAvailable,
                                                          "Deployment has minimum availability.", now));
  } else {
    SetDeploymentCondition(status, NewDeploymentCondition("Available", "False", kMinimumReplicasUnavailable,
                                                          "Deployment does not have minimum availability.", now));
  }
  return status;
}

namespace {

// deploymentutil.DeploymentProgressing: more updated, fewer old, more ready or more available
// Pods than the Deployment's previous status reported.
bool DeploymentProgressing(const json& deployment, const json& new_status) {
  const json& old = At(deployment, "status");
  int64_t old_old = Count(old, "replicas") - Count(old, "updatedReplicas");
  int64_t new_old = Count(new_status, "replicas") - Count(new_status, "updatedReplicas");
  return Count(new_status, "updatedReplicas") > Count(old, "updatedReplicas") || new_old < old_old ||
         Count(new_status, "readyReplicas") > Count(old, "readyReplicas") ||
         Count(new_status, "availableReplicas") > Count(old, "availableReplicas");
}

bool DeploymentTimedOut(const json& deployment, const json& new_status, TimePoint now) {
  if (!HasProgressDeadline(deployment)) return false;
  const json* cond = FindCondition(new_status, "Progressing");
  if (cond == nullptr) return false;
  std::string reason = StringAt(*cond, "reason");
  if (reason == kNewRSAvailableReason) return false;
  if (reason == kTimedOutReason) return true;
  auto from = ParseTime(At(*cond, "lastUpdateTime"));
  if (!from) return false;
  auto deadline = std::chrono::seconds(IntAt(At(deployment, "spec"), "progressDeadlineSeconds"));
  return *from + deadline < now;
}

std::string Subject(const json& deployment, const std::string& new_rs_name) {
  return new_rs_name.empty() ? "Deployment \"" + replicaset::Meta(deployment, "name") + "\""
                             : "ReplicaSet \"" + new_rs_name + "\"";
}

}  // namespace

json CalculateRolloutStatus(const json& deployment, const json& working_status, const std::vector<RsState*>& all,
                            const RsState* new_rs, const std::string& new_rs_name, const RolloutParams& params,
                            const std::vector<json>& replica_failures, TimePoint now) {
  json status = CalculateDeploymentStatus(deployment, working_status, all, new_rs, params, now);
  const bool has_deadline = HasProgressDeadline(deployment);
  if (!has_deadline) RemoveCondition(status, "Progressing");

  const json* current = FindCondition(working_status, "Progressing");
  // Once NewReplicaSetAvailable is reported it stays until a new rollout (a new ReplicaSet)
  // starts, even if Pods later fail: "complete" describes the rollout, not current health.
  bool is_complete = Count(status, "replicas") == Count(status, "updatedReplicas") && current != nullptr &&
                     StringAt(*current, "reason") == kNewRSAvailableReason;
  if (has_deadline && !is_complete) {
    std::string subject = Subject(deployment, new_rs_name);
    if (DeploymentComplete(deployment, status)) {
      SetDeploymentCondition(status, NewDeploymentCondition("Progressing", "True", kNewRSAvailableReason,
                                                            subject + " has successfully progressed.", now));
    } else if (DeploymentProgressing(deployment, status)) {
      json cond = NewDeploymentCondition("Progressing", "True", kReplicaSetUpdatedReason,
                                         subject + " is progressing.", now);
      // Progress refreshes lastUpdateTime even when the reason is unchanged: that is the clock
      // the deadline runs on. Remove first so SetDeploymentCondition cannot treat it as a no-op.
      if (current != nullptr) {
        if (StringAt(*current, "status") == "True") cond["lastTransitionTime"] = At(*current, "lastTransitionTime");
        RemoveCondition(status, "Progressing");
      }
      SetDeploymentCondition(status, std::move(cond));
    } else if (DeploymentTimedOut(deployment, status, now)) {
      SetDeploymentCondition(status, NewDeploymentCondition("Progressing", "False", kTimedOutReason,
                                                            subject + " has timed out progressing.", now));
    }
  }

  if (!replica_failures.empty()) {
    const json& c = replica_failures.front();
    json cond = {{"type", "ReplicaFailure"},
                 {"status", At(c, "status")},
                 {"lastUpdateTime", At(c, "lastTransitionTime")},
                 {"lastTransitionTime", At(c, "lastTransitionTime")},
                 {"reason", At(c, "reason")},
                 {"message", At(c, "message")}};
    SetDeploymentCondition(status, std::move(cond));
  } else {
    RemoveCondition(status, "ReplicaFailure");
  }
  return status;
}

std::optional<std::chrono::milliseconds> ProgressCheckAfter(const json& deployment, const json& new_status,
                                                            TimePoint now) {
  if (!HasProgressDeadline(deployment)) return std::nullopt;
  const json* cond = FindCondition(new_status, "Progressing");
  if (cond == nullptr || DeploymentComplete(deployment, new_status)) return std::nullopt;
  std::string reason = StringAt(*cond, "reason");
  if (reason == kTimedOutReason || reason == kNewRSAvailableReason) return std::nullopt;
  auto from = ParseTime(At(*cond, "lastUpdateTime"));
  if (!from) return std::nullopt;
  auto due = *from + std::chrono::seconds(IntAt(At(deployment, "spec"), "progressDeadlineSeconds"));
  auto after = std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
  return std::max(after, std::chrono::milliseconds(0)) + std::chrono::seconds(1);
}

}  // namespace capstan::controller::deployment
