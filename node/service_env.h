// The Kubernetes service environment variables of a container (the kubelet's envvars.FromServices),
// for the Services of the Pod's namespace that exist when the Pod starts. For a Service `web-api`
// with clusterIP 127.0.0.1 and ports http 80 and 9090:
//   WEB_API_SERVICE_HOST=127.0.0.1           WEB_API_SERVICE_PORT=80 (the first port)
//   WEB_API_SERVICE_PORT_HTTP=80             (one per named port)
//   WEB_API_PORT=tcp://127.0.0.1:80          (docker-link style, first port)
//   WEB_API_PORT_80_TCP=tcp://127.0.0.1:80   WEB_API_PORT_80_TCP_PROTO=tcp
//   WEB_API_PORT_80_TCP_PORT=80              WEB_API_PORT_80_TCP_ADDR=127.0.0.1   (every port)
// Services without a clusterIP or headless ("None") give none. Services are taken in name order,
// so the result is deterministic. A Pod with spec.enableServiceLinks false gets none (Kubernetes
// would still add the master's `kubernetes` Service, which Capstan does not have).
//
// Thread-safety: a stateless function.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::node {

std::vector<std::pair<std::string, std::string>> ServiceEnvVars(
    const std::vector<std::shared_ptr<const nlohmann::json>>& services);

}  // namespace capstan::node
