#include "node/termination_gate.h"

#include <algorithm>
#include <string>

#include "api/kinds/haproxy_annotations.h"
#include "client/json_fields.h"

namespace capstan::node {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// The status of the load balancer's condition: "" when the Pod has none.
std::string DrainedStatus(const json& pod) {
  if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) return "";
  const json& status = pod["status"];
  if (!status.contains("conditions") || !status["conditions"].is_array()) return "";
  for (const json& c : status["conditions"]) {
    if (c.is_object() && c.value("type", "") == api::kinds::kHaproxyDrainedCondition) return c.value("status", "");
  }
  return "";
}

}  // namespace

milliseconds PodGracePeriod(const json& pod) {
  int64_t seconds = client::IntField(client::Field(pod, "metadata"), "deletionGracePeriodSeconds", -1);
  if (seconds < 0) seconds = client::IntField(client::Field(pod, "spec"), "terminationGracePeriodSeconds", 30);
  return std::chrono::seconds(std::max<int64_t>(seconds, 0));
}

TerminationGate GateTermination(const json& pod, milliseconds grace, milliseconds waited, milliseconds max_wait) {
  TerminationGate gate;
  if (grace <= milliseconds(0)) return gate;  // forced: nothing waits, nothing is left
  const std::string drained = DrainedStatus(pod);
  if (drained.empty()) {  // never routed: the whole grace, as before any load balancer
    gate.grace_left = grace;
    return gate;
  }
  const milliseconds bound = std::min(grace, max_wait);
  if (drained == "False" && waited < bound) {
    gate.wait = bound - waited;
    return gate;
  }
  const milliseconds used = std::max(waited, milliseconds(0));
  gate.grace_left = std::max(grace - used, std::min(grace, milliseconds(2000)));
  return gate;
}

}  // namespace capstan::node
