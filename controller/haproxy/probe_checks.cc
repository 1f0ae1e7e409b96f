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

ProbeChecks ProbeChecksFor(const ObjectList& services, const ObjectList& endpoint_slices,
                           const std::function<std::shared_ptr<const json>(const std::string&)>& pod_by_key) {
  // "<ns>/<service>" -> its Pods' keys, ordered by name.
  std::map<std::string, std::set<std::string>> pods_of;
  for (const auto& slice : endpoint_slices) {
    const json& meta = At(*slice, "metadata");
    const std::string service = StringAt(At(meta, "labels"), "kubernetes.io/service-name");
    const json& endpoints = At(*slice, "endpoints");
    if (service.empty() || !endpoints.is_array()) continue;
    const std::string ns = StringAt(meta, "namespace");
    for (const json& e : endpoints) {
      const json& ref = At(e, "targetRef");
      if (StringAt(ref, "kind") != "Pod" || StringAt(ref, "name").empty()) continue;
      pods_of[ns + "/" + service].insert(ns + "/" + StringAt(ref, "name"));
    }
  }
  ProbeChecks out;
  for (const auto& svc : services) {
    const json& selector = At(At(*svc, "spec"), "selector");
    if (!selector.is_object() || selector.empty()) continue;
    const json& meta = At(*svc, "metadata");
    const std::string key = StringAt(meta, "namespace") + "/" + StringAt(meta, "name");
    auto names = pods_of.find(key);
    if (names == pods_of.end()) continue;
    for (const std::string& pod_key : names->second) {
      const auto pod = pod_by_key(pod_key);
      HealthCheck check;
      if (pod == nullptr || !Selects(selector, *pod) || !CheckFromPod(*pod, &check)) continue;
      auto [chosen, first] = out.checks.try_emplace(key, check);
      if ((first || chosen->second == check) && PassedItsOwnProbe(*pod)) {
        out.passed[key].insert(StringAt(At(*pod, "metadata"), "uid"));
      }
    }
  }
  return out;
}

}  // namespace capstan::controller::haproxy
