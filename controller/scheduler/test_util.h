// Builders of Node and Pod objects for the scheduler's tests: the smallest objects that look like
// what the API stores (defaults applied where the scheduler reads them).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/scheduler/node_info.h"

namespace capstan::controller::scheduler::testing {

using json = nlohmann::json;

// A Ready node with allocatable cpu/memory/pods and the hostname label.
inline json NodeJson(const std::string& name, const std::string& cpu = "4", const std::string& memory = "8Gi",
                     const std::string& pods = "110") {
  return json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
              {"spec", {{"unschedulable", false}}},
              {"status",
               {{"allocatable", {{"cpu", cpu}, {"memory", memory}, {"pods", pods}}},
                {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

// A pod with one container requesting `cpu` / `memory` (omitted when empty).
inline json PodJson(const std::string& name, const std::string& cpu = "", const std::string& memory = "") {
  json requests = json::object();
  if (!cpu.empty()) requests["cpu"] = cpu;
  if (!memory.empty()) requests["memory"] = memory;
  return json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}}},
              {"spec",
               {{"schedulerName", "default-scheduler"},
                {"containers", json::array({{{"name", "app"}, {"image", "nginx"},
                                             {"resources", {{"requests", requests}}}}})}}}};
}

// Adds a controller ownerReference with this uid.
inline json Owned(json pod, const std::string& owner_uid) {
  pod["metadata"]["ownerReferences"] = json::array(
      {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "rs"}, {"uid", owner_uid}, {"controller", true}}});
  return pod;
}

inline std::shared_ptr<const json> Ptr(json j) { return std::make_shared<const json>(std::move(j)); }

inline NodeInfo MakeNodeInfo(json node) { return NodeInfo(Ptr(std::move(node))); }

}  // namespace capstan::controller::scheduler::testing
