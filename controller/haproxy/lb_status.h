// HaproxyLoadBalancerStatus: the managed HAProxy's view of one Service for GET
// /capstan/v1/namespaces/NS/services/NAME/loadbalancer (api/load_balancer_status.h), read from
// `show stat BACKEND` (its backends only, one call per port) through the master CLI on demand,
// with a short timeout (the API's handler threads
// call it; they may block, the I/O threads never do).
//
// A Service's backends are named "<namespace>_<name>_<port>" (model_builder.h); namespace and
// name are DNS labels without "_", so the names are unambiguous. Slots never filled (address
// 0.0.0.0:0) are left out; a slot whose endpoint left keeps its last address in MAINT and is
// shown, as HAProxy has it.
//
// Thread-safety: ServiceStatus may be called concurrently (the runtime client is stateless).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/load_balancer_status.h"
#include "controller/haproxy/runtime_client.h"

namespace capstan::controller::haproxy {

// Pure: {"backends": [...], "message": "..."} for `service` (a v1 Service) from `show stat` rows
// (of all backends, or of its own).
nlohmann::json ServiceLoadBalancerView(const nlohmann::json& service, const std::vector<ServerStat>& stats);

class HaproxyLoadBalancerStatus final : public api::LoadBalancerStatus {
 public:
  explicit HaproxyLoadBalancerStatus(std::string master_socket,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(2));
  Result<nlohmann::json> ServiceStatus(const nlohmann::json& service) override;

 private:
  const HaproxyRuntimeClient client_;
};

}  // namespace capstan::controller::haproxy
