#include "controller/haproxy/ingress_status.h"

#include <set>

namespace capstan::controller::haproxy {

using nlohmann::json;

std::vector<StatusPatch> IngressStatusPatches(const ObjectList& ingresses, const IngressModel& served,
                                              const std::string& address) {
  std::set<std::string> sources;
  for (const Route& r : served.routes) {
    sources.insert(r.source);
    if (!r.canary_source.empty()) sources.insert(r.canary_source);
  }
  if (!served.default_source.empty()) sources.insert(served.default_source);
  const json ours = json::array({{{"ip", address}}});
  std::vector<StatusPatch> out;
  for (const auto& ing : ingresses) {
    const json& meta = ing->value("metadata", json::object());
    const json status = ing->value("status", json::object());
    const json current = status.is_object() && status.contains("loadBalancer") && status["loadBalancer"].is_object()
                             ? status["loadBalancer"].value("ingress", json::array())
                             : json::array();
    const bool serving = sources.count(SourceName(*ing)) > 0;
    json want;
    if (serving && current != ours) want = ours;
    else if (!serving && current == ours) want = nullptr;  // merge patch: remove
    else continue;
    out.push_back({"/apis/networking.k8s.io/v1/namespaces/" + meta.value("namespace", "") + "/ingresses/" +
                       meta.value("name", "") + "/status",
                   {{"status", {{"loadBalancer", {{"ingress", want}}}}}}});
  }
  return out;
}

}  // namespace capstan::controller::haproxy
