// ProbeChecksFor: the HTTP check each Service's backend takes from its Pods' readinessProbe, and
// which of its Pods have just passed that very check where HAProxy will run it (those enter their
// server slot UP at once: ServerSlot::probed, runtime_plan.h). Pure.
//
// The check of a Service comes from the first (by name) of its Pods with an httpGet
// readinessProbe (CheckFromPod). Its Pods are those its EndpointSlices (labelled
// kubernetes.io/service-name) name in targetRef that its selector still selects: the work is
// proportional to the endpoints, not to Services x Pods of the namespace (1,000 Services over
// 10,000 Pods would be ten million selector matches on every pass). A Pod counts as having passed it when its own
// probe is exactly that check, its Ready condition is True (not merely published:
// publishNotReadyAddresses marks endpoints ready regardless), it is not terminating, and its
// probe has no httpGet.host (the node agent would have probed another host).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/haproxy/model_builder.h"

namespace capstan::controller::haproxy {

struct ProbeChecks {
  std::map<std::string, HealthCheck> checks;            // "<ns>/<service>" -> check (ModelInputs::probe_checks)
  std::map<std::string, std::set<std::string>> passed;  // "<ns>/<service>" -> Pod uids (ModelInputs::probe_checked_pods)
};

// `pod("<ns>/<name>")`: the Pod, or null.
ProbeChecks ProbeChecksFor(const ObjectList& services, const ObjectList& endpoint_slices,
                           const std::function<std::shared_ptr<const nlohmann::json>(const std::string&)>& pod);

// Ready True, not terminating, and no readinessProbe.httpGet.host in any container.
bool PassedItsOwnProbe(const nlohmann::json& pod);

}  // namespace capstan::controller::haproxy
