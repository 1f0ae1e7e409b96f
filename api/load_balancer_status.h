// LoadBalancerStatus: what serves GET /capstan/v1/namespaces/{ns}/services/{name}/loadbalancer,
// the load balancer's view of one Service for `capstan describe service`. The API server has no
// load balancer of its own: the server's HAProxy controller sets one once it runs
// (ApiServer::SetLoadBalancerStatus); without one (`--lb none`) the endpoint answers
// {"enabled": false, "message": ...}.
//
// The answer (a capstan.io/v1 ServiceLoadBalancerStatus):
//   {"apiVersion":"capstan.io/v1","kind":"ServiceLoadBalancerStatus",
//    "metadata":{"namespace":NS,"name":NAME},"enabled":true,"message":"...",
//    "backends":[{"name":"default_web_80","port":80,
//                 "servers":[{"name":"s1","address":"127.0.0.1:24001","status":"UP",
//                             "currentSessions":0,"weight":1,"checkStatus":"L7OK",
//                             "checkCode":200,"lastCheck":"...","lastChangeSeconds":12}]}]}
// Servers are what HAProxy's `show stat` says now; slots never filled are left out. "message"
// says why there are no backends (a headless Service, one left out for a problem) or that the
// load balancer did not answer.
//
// Thread-safety: implementations are called from handler threads, concurrently; they may block
// for a short, bounded time (they talk to HAProxy).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "api/http/http_types.h"
#include "base/status.h"

namespace capstan::api {

inline constexpr char kLoadBalancerStatusKind[] = "ServiceLoadBalancerStatus";

class LoadBalancerStatus {
 public:
  virtual ~LoadBalancerStatus() = default;
  // The "backends" and "message" of the answer for `service` (the stored v1 Service); an error
  // status when the load balancer does not answer.
  virtual Result<nlohmann::json> ServiceStatus(const nlohmann::json& service) = 0;
};

inline constexpr char kLoadBalancerStatusPrefix[] = "/capstan/v1/namespaces/";

// True when `path` is /capstan/v1/namespaces/{ns}/services/{name}/loadbalancer (fills ns, name).
bool ParseLoadBalancerStatusPath(const std::string& path, std::string* ns, std::string* name);

class ResourceService;
// Answers the endpoint: 405 for anything but GET/HEAD, the Service's 404 when it does not exist,
// {"enabled":false} without `status`, 503 when the load balancer does not answer.
HttpResponse HandleLoadBalancerStatus(ResourceService* service, LoadBalancerStatus* status, const HttpRequest& req,
                                      const std::string& ns, const std::string& name);

}  // namespace capstan::api
