// Test helpers for controller/replicaset and controller/deployment: builders for the Pods,
// ReplicaSets and Deployments the decision logic reads. Test-only; header-only.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/replicaset/object_util.h"

namespace capstan::controller::testing {

using json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

// A fixed, whole-second "now" so formatted times round-trip exactly.
inline TimePoint T0() { return TimePoint(std::chrono::seconds(1700000000)); }
inline std::string Ts(TimePoint t) { return replicaset::FormatTime(t); }

inline std::shared_ptr<const json> Share(json j) { return std::make_shared<const json>(std::move(j)); }

inline json OwnerRef(const std::string& kind, const std::string& name, const std::string& uid) {
  return json{{"apiVersion", kind == "Deployment" || kind == "ReplicaSet" ? "apps/v1" : "v1"},
              {"kind", kind},
              {"name", name},
              {"uid", uid},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

inline json MakeReplicaSet(const std::string& name, const std::string& uid, int replicas,
                           json labels = json{{"app", "web"}}) {
  return json{{"apiVersion", "apps/v1"},
              {"kind", "ReplicaSet"},
              {"metadata",
               {{"name", name}, {"namespace", "default"}, {"uid", uid}, {"generation", 1},
                {"creationTimestamp", Ts(T0() - std::chrono::hours(1))}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", labels}}},
                {"template",
                 {{"metadata", {{"labels", labels}}},
                  {"spec", {{"containers", json::array({{{"name", "web"}, {"image", "nginx:1"}}})}}}}}}}};
}

// A Pod builder: Pending, unscheduled and not ready unless told otherwise.
struct PodBuilder {
  json pod;

  PodBuilder(const std::string& name, const std::string& uid, json labels = json{{"app", "web"}}) {
    pod = json{{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata",
                {{"name", name}, {"namespace", "default"}, {"uid", uid}, {"labels", labels},
                 {"creationTimestamp", Ts(T0() - std::chrono::minutes(30))}}},
               {"spec", {{"containers", json::array({{{"name", "web"}, {"image", "nginx:1"}}})}}},
               {"status", {{"phase", "Pending"}}}};
  }
  PodBuilder& Owner(const json& owner, const std::string& kind = "ReplicaSet") {
    pod["metadata"]["ownerReferences"] =
        json::array({OwnerRef(kind, replicaset::Meta(owner, "name"), replicaset::Meta(owner, "uid"))});
    return *this;
  }
  PodBuilder& OwnerUid(const std::string& uid) {
    pod["metadata"]["ownerReferences"] = json::array({OwnerRef("ReplicaSet", "other", uid)});
    return *this;
  }
  PodBuilder& Node(const std::string& node) {
    pod["spec"]["nodeName"] = node;
    return *this;
  }
  PodBuilder& Phase(const std::string& phase) {
    pod["status"]["phase"] = phase;
    return *this;
  }
  // Running on `node` and Ready since `since`.
  PodBuilder& ReadySince(TimePoint since, const std::string& node = "node-1") {
    Node(node).Phase("Running");
    pod["status"]["conditions"] =
        json::array({{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", Ts(since)}}});
    return *this;
  }
  PodBuilder& NotReady(const std::string& node = "node-1") {
    Node(node).Phase("Running");
    pod["status"]["conditions"] = json::array({{{"type", "Ready"}, {"status", "False"}}});
    return *this;
  }
  PodBuilder& Created(TimePoint t) {
    pod["metadata"]["creationTimestamp"] = Ts(t);
    return *this;
  }
  PodBuilder& Restarts(int n) {
    pod["status"]["containerStatuses"] = json::array({{{"name", "web"}, {"restartCount", n}}});
    return *this;
  }
  PodBuilder& Deleting() {
    pod["metadata"]["deletionTimestamp"] = Ts(T0());
    return *this;
  }
  PodBuilder& Annotate(const std::string& key, const std::string& value) {
    pod["metadata"]["annotations"][key] = value;
    return *this;
  }
  std::shared_ptr<const json> Build() const { return Share(pod); }
};

// A Deployment with the API server's defaults applied (as api/kinds/apps.cc would).
inline json MakeDeployment(const std::string& name, int replicas, json max_surge = "25%",
                           json max_unavailable = "25%", const std::string& image = "nginx:1") {
  return json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata",
               {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}, {"generation", 1},
                {"creationTimestamp", Ts(T0() - std::chrono::hours(2))}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", {{"app", name}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", name}}}}},
                  {"spec", {{"containers", json::array({{{"name", "web"}, {"image", image}}})}}}}},
                {"strategy",
                 {{"type", "RollingUpdate"},
                  {"rollingUpdate", {{"maxSurge", max_surge}, {"maxUnavailable", max_unavailable}}}}},
                {"revisionHistoryLimit", 10},
                {"progressDeadlineSeconds", 600}}},
              {"status", json::object()}};
}

}  // namespace capstan::controller::testing
