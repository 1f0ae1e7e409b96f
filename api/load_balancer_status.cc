#include "api/load_balancer_status.h"

#include "api/errors.h"
#include "api/kind.h"
#include "api/negotiation.h"
#include "api/resource_service.h"

namespace capstan::api {

bool ParseLoadBalancerStatusPath(const std::string& path, std::string* ns, std::string* name) {
  const std::string prefix = kLoadBalancerStatusPrefix;
  if (path.rfind(prefix, 0) != 0) return false;
  const std::string rest = path.substr(prefix.size());  // NS/services/NAME/loadbalancer
  const size_t a = rest.find('/');
  if (a == std::string::npos || a == 0 || rest.compare(a, 10, "/services/") != 0) return false;
  const size_t b = rest.find('/', a + 10);
  if (b == std::string::npos || b == a + 10 || rest.substr(b) != "/loadbalancer") return false;
  *ns = rest.substr(0, a);
  *name = rest.substr(a + 10, b - a - 10);
  return true;
}

HttpResponse HandleLoadBalancerStatus(ResourceService* service, LoadBalancerStatus* status, const HttpRequest& req,
                                      const std::string& ns, const std::string& name) {
  if (req.method != "GET" && req.method != "HEAD") return ErrorResponse(Status(Code::kMethodNotAllowed, "use GET"));
  const KindInfo* services = FindKind("", "v1", "services");
  if (services == nullptr) return ErrorResponse(Status::NotFound("this server serves no Services"));
  Result<json> svc = service->Get(*services, ns, name);
  if (!svc.ok()) return ErrorResponse(svc.status());
  json out = {{"apiVersion", "capstan.io/v1"},
              {"kind", kLoadBalancerStatusKind},
              {"metadata", {{"namespace", ns}, {"name", name}}},
              {"enabled", status != nullptr},
              {"backends", json::array()}};
  if (status == nullptr) {
    out["message"] = "this server runs no load balancer: capstan server --lb none, or haproxy is not installed";
    return JsonResponse(200, out);
  }
  Result<json> answer = status->ServiceStatus(*svc);
  if (!answer.ok()) return ErrorResponse(Status::Unavailable("the load balancer does not answer: " + answer.status().message()));
  if (answer->contains("backends")) out["backends"] = (*answer)["backends"];
  if (answer->contains("message")) out["message"] = (*answer)["message"];
  return JsonResponse(200, out);
}

}  // namespace capstan::api
