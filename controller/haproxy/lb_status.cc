#include "controller/haproxy/lb_status.h"

namespace capstan::controller::haproxy {

using nlohmann::json;

namespace {

bool NeverFilled(const ServerStat& s) { return s.address.empty() || s.address == "0.0.0.0:0"; }

}  // namespace

json ServiceLoadBalancerView(const json& service, const std::vector<ServerStat>& stats) {
  const json& meta = service.value("metadata", json::object());
  const json& spec = service.value("spec", json::object());
  const std::string prefix = meta.value("namespace", "") + "_" + meta.value("name", "") + "_";
  json out = {{"backends", json::array()}};
  if (spec.value("clusterIP", "") == "None") {
    out["message"] = "a headless Service (clusterIP: None) has no HAProxy listener";
    return out;
  }
  for (const json& port : spec.value("ports", json::array())) {
    if (!port.is_object() || port.value("protocol", "TCP") != "TCP" || !port.contains("port")) continue;
    const int number = port.value("port", 0);
    const std::string backend = prefix + std::to_string(number);
    json servers = json::array();
    int slots = 0;
    for (const ServerStat& s : stats) {
      if (s.backend != backend) continue;
      ++slots;
      if (NeverFilled(s)) continue;
      json server = {{"name", s.server},
                     {"address", s.address},
                     {"status", s.status},
                     {"currentSessions", s.current_sessions},
                     {"weight", s.weight},
                     {"checkStatus", s.check_status}};
      if (s.check_code > 0) server["checkCode"] = s.check_code;
      if (!s.last_check.empty()) server["lastCheck"] = s.last_check;
      if (s.last_change_seconds >= 0) server["lastChangeSeconds"] = s.last_change_seconds;
      servers.push_back(std::move(server));
    }
    if (slots == 0) continue;
    out["backends"].push_back({{"name", backend}, {"port", number}, {"slots", slots}, {"servers", std::move(servers)}});
  }
  if (out["backends"].empty()) {
    out["message"] =
        "HAProxy has no backend for this Service (not applied yet, or left out: see its "
        "capstan.io/HAProxyConfigured condition and its events)";
  }
  return out;
}

HaproxyLoadBalancerStatus::HaproxyLoadBalancerStatus(std::string master_socket, std::chrono::milliseconds timeout)
    : client_(std::move(master_socket), timeout) {}

Result<json> HaproxyLoadBalancerStatus::ServiceStatus(const json& service) {
  auto stats = client_.ShowStat();
  if (!stats.ok()) return stats.status();
  return ServiceLoadBalancerView(service, *stats);
}

}  // namespace capstan::controller::haproxy
