#include "controller/haproxy/lb_status.h"

namespace capstan::controller::haproxy {

using nlohmann::json;

namespace {

bool NeverFilled(const ServerStat& s) { return s.address.empty() || s.address == "0.0.0.0:0"; }

// The backend of each TCP port (model_builder.h names them), by port; none for a headless Service.
std::vector<std::pair<int, std::string>> Backends(const json& service) {
  const json& meta = service.value("metadata", json::object());
  const json& spec = service.value("spec", json::object());
  const std::string prefix = meta.value("namespace", "") + "_" + meta.value("name", "") + "_";
  std::vector<std::pair<int, std::string>> out;
  if (spec.value("clusterIP", "") == "None") return out;
  for (const json& port : spec.value("ports", json::array())) {
    if (!port.is_object() || port.value("protocol", "TCP") != "TCP" || !port.contains("port")) continue;
    const int number = port.value("port", 0);
    out.emplace_back(number, prefix + std::to_string(number));
  }
  return out;
}

std::vector<std::string> BackendNames(const json& service) {
  std::vector<std::string> out;
  for (const auto& [port, name] : Backends(service)) out.push_back(name);
  return out;
}

}  // namespace

json ServiceLoadBalancerView(const json& service, const std::vector<ServerStat>& stats) {
  json out = {{"backends", json::array()}};
  if (service.value("spec", json::object()).value("clusterIP", "") == "None") {
    out["message"] = "a headless Service (clusterIP: None) has no HAProxy listener";
    return out;
  }
  for (const auto& [number, backend] : Backends(service)) {
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
  // Only this Service's backends: `show stat` of a whole large config is megabytes.
  const std::vector<std::string> names = BackendNames(service);
  std::vector<ServerStat> rows;
  for (const std::string& backend : names) {
    auto stats = client_.ShowServerStats(backend);
    if (!stats.ok()) return stats.status();
    rows.insert(rows.end(), stats->begin(), stats->end());
  }
  return ServiceLoadBalancerView(service, rows);
}

}  // namespace capstan::controller::haproxy
