#include "controller/haproxy/probe_checks.h"

#include "client/json_fields.h"

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

using client::Field;
using client::StringField;

bool Selects(const json& selector, const json& pod) {
  const json& labels = Field(Field(pod, "metadata"), "labels");
  if (!labels.is_object()) return false;
  for (const auto& [k, v] : selector.items()) {
    auto it = labels.find(k);
    if (it == labels.end() || *it != v) return false;
  }
  return true;
}

}  // namespace

bool PassedItsOwnProbe(const json& pod) {
  if (Field(Field(pod, "metadata"), "deletionTimestamp").is_string()) return false;
  const json& containers = Field(Field(pod, "spec"), "containers");
  if (containers.is_array()) {
    for (const json& c : containers) {
      const json& get = Field(Field(c, "readinessProbe"), "httpGet");
      if (get.is_object() && !StringField(get, "host").empty()) return false;
    }
  }
  const json& conditions = Field(Field(pod, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const json& c : conditions) {
    if (StringField(c, "type") == "Ready") return StringField(c, "status") == "True";
  }
  return false;
}

ProbeChecks ProbeChecksFor(const ObjectList& services, const ObjectList& endpoint_slices,
                           const std::function<std::shared_ptr<const json>(const std::string&)>& pod_by_key) {
  // "<ns>/<service>" -> its Pods' keys, ordered by name.
  std::map<std::string, std::set<std::string>> pods_of;
  for (const auto& slice : endpoint_slices) {
    const json& meta = Field(*slice, "metadata");
    const std::string service = StringField(Field(meta, "labels"), "kubernetes.io/service-name");
    const json& endpoints = Field(*slice, "endpoints");
    if (service.empty() || !endpoints.is_array()) continue;
    const std::string ns = StringField(meta, "namespace");
    for (const json& e : endpoints) {
      const json& ref = Field(e, "targetRef");
      if (StringField(ref, "kind") != "Pod" || StringField(ref, "name").empty()) continue;
      pods_of[ns + "/" + service].insert(ns + "/" + StringField(ref, "name"));
    }
  }
  ProbeChecks out;
  for (const auto& svc : services) {
    const json& selector = Field(Field(*svc, "spec"), "selector");
    if (!selector.is_object() || selector.empty()) continue;
    const json& meta = Field(*svc, "metadata");
    const std::string key = StringField(meta, "namespace") + "/" + StringField(meta, "name");
    auto names = pods_of.find(key);
    if (names == pods_of.end()) continue;
    for (const std::string& pod_key : names->second) {
      const auto pod = pod_by_key(pod_key);
      HealthCheck check;
      if (pod == nullptr || !Selects(selector, *pod) || !CheckFromPod(*pod, &check)) continue;
      auto [chosen, first] = out.checks.try_emplace(key, check);
      if ((first || chosen->second == check) && PassedItsOwnProbe(*pod)) {
        out.passed[key].insert(StringField(Field(*pod, "metadata"), "uid"));
      }
    }
  }
  return out;
}

}  // namespace capstan::controller::haproxy
