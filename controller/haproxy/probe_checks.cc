#include "controller/haproxy/probe_checks.h"

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

// `j[key]` when `j` is an object holding it, else null (never throws, never inserts).
const json& At(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string StringAt(const json& j, const char* key) {
  const json& v = At(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

bool Selects(const json& selector, const json& pod) {
  const json& labels = At(At(pod, "metadata"), "labels");
  if (!labels.is_object()) return false;
  for (const auto& [k, v] : selector.items()) {
    auto it = labels.find(k);
    if (it == labels.end() || *it != v) return false;
  }
  return true;
}

}  // namespace

bool PassedItsOwnProbe(const json& pod) {
  if (At(At(pod, "metadata"), "deletionTimestamp").is_string()) return false;
  const json& containers = At(At(pod, "spec"), "containers");
  if (containers.is_array()) {
    for (const json& c : containers) {
      const json& get = At(At(c, "readinessProbe"), "httpGet");
      if (get.is_object() && !StringAt(get, "host").empty()) return false;
    }
  }
  const json& conditions = At(At(pod, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const json& c : conditions) {
    if (StringAt(c, "type") == "Ready") return StringAt(c, "status") == "True";
  }
  return false;
}

ProbeChecks ProbeChecksFor(const ObjectList& services, const std::function<ObjectList(const std::string&)>& pods_in) {
  ProbeChecks out;
  for (const auto& svc : services) {
    const json& selector = At(At(*svc, "spec"), "selector");
    if (!selector.is_object() || selector.empty()) continue;
    const json& meta = At(*svc, "metadata");
    const std::string ns = StringAt(meta, "namespace");
    const std::string key = ns + "/" + StringAt(meta, "name");
    for (const auto& pod : pods_in(ns)) {
      HealthCheck check;
      if (!Selects(selector, *pod) || !CheckFromPod(*pod, &check)) continue;
      auto [chosen, first] = out.checks.try_emplace(key, check);
      if ((first || chosen->second == check) && PassedItsOwnProbe(*pod)) {
        out.passed[key].insert(StringAt(At(*pod, "metadata"), "uid"));
      }
    }
  }
  return out;
}

}  // namespace capstan::controller::haproxy
