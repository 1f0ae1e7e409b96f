#include "controller/nodelifecycle/node_conditions.h"

#include "client/json_fields.h"

namespace capstan::controller::nodelifecycle {

using client::Field;
using client::MetaString;
using client::StringField;

namespace {

// The conditions Kubernetes' monitorNodeHealth turns Unknown (nodeConditionTypes); Ready first.
constexpr const char* kAgentConditions[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};

}  // namespace

const char* ReadinessName(Readiness r) {
  switch (r) {
    case Readiness::kTrue:
      return "True";
    case Readiness::kFalse:
      return "False";
    case Readiness::kUnknown:
      return "Unknown";
    case Readiness::kMissing:
      return "Missing";
  }
  return "Missing";
}

const json* FindCondition(const json& obj, std::string_view type) {
  const json& conditions = Field(Field(obj, "status"), "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const json& c : conditions) {
    if (StringField(c, "type") == type) return &c;
  }
  return nullptr;
}

Readiness NodeReadiness(const json& node) {
  const json* ready = FindCondition(node, "Ready");
  if (ready == nullptr) return Readiness::kMissing;
  const std::string status = StringField(*ready, "status");
  if (status == "True") return Readiness::kTrue;
  if (status == "Unknown") return Readiness::kUnknown;
  return Readiness::kFalse;
}

Heartbeat ObservedHeartbeat(const json& node, const json* lease) {
  Heartbeat hb;
  if (const json* ready = FindCondition(node, "Ready")) hb.ready_heartbeat = StringField(*ready, "lastHeartbeatTime");
  if (lease != nullptr) hb.lease_renew = StringField(Field(*lease, "spec"), "renewTime");
  return hb;
}

json UnknownConditionsPatch(const json& node, const std::string& now) {
  json conditions = json::array();
  for (const char* type : kAgentConditions) {
    const json* c = FindCondition(node, type);
    if (c == nullptr) {
      // Only Ready is added: Capstan's agent posts no pressure conditions, and inventing them
      // (as Kubernetes does) would show four Unknown rows for one fact.
      if (std::string_view(type) != "Ready") continue;
      json added = {{"type", "Ready"},
                    {"status", "Unknown"},
                    {"reason", kReasonNodeStatusNeverUpdated},
                    {"message", kMessageNeverPosted},
                    {"lastTransitionTime", now}};
      const std::string created = MetaString(node, "creationTimestamp");
      if (!created.empty()) added["lastHeartbeatTime"] = created;
      conditions.push_back(std::move(added));
      continue;
    }
    if (StringField(*c, "status") == "Unknown") continue;
    conditions.push_back({{"type", type},
                          {"status", "Unknown"},
                          {"reason", kReasonNodeStatusUnknown},
                          {"message", kMessageStoppedPosting},
                          {"lastTransitionTime", now}});
  }
  if (conditions.empty()) return nullptr;
  return {{"metadata", {{"resourceVersion", MetaString(node, "resourceVersion")}}},
          {"status", {{"conditions", std::move(conditions)}}}};
}

bool IsTerminalPod(const json& pod) {
  const std::string phase = StringField(Field(pod, "status"), "phase");
  return phase == "Succeeded" || phase == "Failed";
}

bool IsDeletingPod(const json& pod) { return !MetaString(pod, "deletionTimestamp").empty(); }

json PodNotReadyPatch(const json& pod, const std::string& now) {
  const json* ready = FindCondition(pod, "Ready");
  if (ready == nullptr || StringField(*ready, "status") != "True") return nullptr;
  return {{"metadata", {{"uid", MetaString(pod, "uid")}, {"resourceVersion", MetaString(pod, "resourceVersion")}}},
          {"status",
           {{"conditions", json::array({{{"type", "Ready"}, {"status", "False"}, {"lastTransitionTime", now}}})}}}};
}

}  // namespace capstan::controller::nodelifecycle
