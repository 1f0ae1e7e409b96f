// A tiny in-memory cluster for testing the Deployment and ReplicaSet decision logic together.
// Test-only; header-only.
//
// One Step() is one round of every control loop, in this order, with an observer called after
// each phase so tests can assert invariants "at every revision observed":
//   1. the Deployment controller: PlanDeployment, its writes applied at once;
//   2. the ReplicaSet controller, for each ReplicaSet: PlanReplicaSet; new Pods appear Pending
//      and unscheduled, deleted Pods get a deletionTimestamp (they keep running one tick);
//   3. the kubelet, one tick later: terminating Pods are gone; Pending Pods are scheduled,
//      Running and Ready (unless `never_ready` says their template is broken);
//   4. every ReplicaSet's status is recomputed (its controller reacting to its Pods' events).
// Writes are applied synchronously, so the caches are never stale; expectations are therefore
// always satisfied and not modelled here (replicaset_sync_test covers them).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/deployment/deployment_sync.h"
#include "controller/deployment/pod_template_hash.h"
#include "controller/replicaset/apps_test_util.h"
#include "controller/replicaset/replicaset_sync.h"

namespace capstan::controller::testing {

class Cluster {
 public:
  using Observer = std::function<void(const Cluster&, const char* phase)>;

  explicit Cluster(json deployment) : d_(std::move(deployment)) {}

  std::chrono::system_clock::time_point now = T0();
  std::chrono::seconds tick{10};
  // Pods for which this returns true start but never become ready.
  std::function<bool(const json& pod)> never_ready = [](const json&) { return false; };
  Observer observer;

  const json& deployment() const { return d_; }
  const deployment::DeploymentPlan& last_plan() const { return last_plan_; }

  // Edits the Deployment like a user: a spec change bumps metadata.generation.
  void Update(const std::function<void(json&)>& edit) {
    json before = d_["spec"];
    edit(d_);
    if (d_["spec"] != before) d_["metadata"]["generation"] = d_["metadata"]["generation"].get<int64_t>() + 1;
  }

  void Step() {
    RunDeploymentController();
    Observe("deployment");
    RunReplicaSetControllers(true);
    Observe("replicaset");
    Kubelet();
    RunReplicaSetControllers(false);
    Observe("kubelet");
  }

  // Steps until Converged() (then a few more, so cleanup and final status land); the number of
  // steps taken, or -1 if it did not converge within `max_steps`.
  int RunUntilConverged(int max_steps = 200) {
    for (int i = 1; i <= max_steps; ++i) {
      Step();
      if (Converged()) {
        for (int j = 0; j < 3; ++j) Step();
        return i;
      }
    }
    return -1;
  }

  // All Pods run the Deployment's template, all available, no old Pods left, status complete.
  bool Converged() const {
    const json* current = NewReplicaSet();
    if (current == nullptr) return false;
    int32_t replicas = replicaset::SpecReplicas(d_);
    for (const auto& [name, rs] : rss_) {
      if (&rs == current) continue;
      if (replicaset::SpecReplicas(rs) != 0 || PodsOf(name, true) != 0) return false;
    }
    return replicaset::SpecReplicas(*current) == replicas && PodsOf(Name(*current), true) == replicas &&
           AvailablePods() == replicas && deployment::DeploymentComplete(d_, d_["status"]);
  }

  const json* NewReplicaSet() const {
    for (const auto& [name, rs] : rss_) {
      if (deployment::EqualIgnoreHash(rs["spec"]["template"], d_["spec"]["template"])) return &rs;
    }
    return nullptr;
  }
  const std::map<std::string, json>& replicasets() const { return rss_; }
  deployment::ObjectList ReplicaSetList() const {
    deployment::ObjectList out;
    for (const auto& [name, rs] : rss_) out.push_back(Share(rs));
    return out;
  }

  // Pods not being deleted (or all, with terminating ones).
  int TotalPods(bool include_terminating = false) const {
    int n = 0;
    for (const auto& [name, pod] : pods_) n += include_terminating || !replicaset::IsDeleting(pod) ? 1 : 0;
    return n;
  }
  int AvailablePods() const {
    int n = 0;
    for (const auto& [name, pod] : pods_) {
      n += !replicaset::IsDeleting(pod) && replicaset::IsPodAvailable(pod, 0, now) ? 1 : 0;
    }
    return n;
  }
  int PodsOf(const std::string& rs_name, bool include_terminating) const {
    const auto& rs = rss_.at(rs_name);
    int n = 0;
    for (const auto& [name, pod] : pods_) {
      if (!replicaset::IsControlledBy(pod, replicaset::Meta(rs, "uid"))) continue;
      n += include_terminating || !replicaset::IsDeleting(pod) ? 1 : 0;
    }
    return n;
  }

 private:
  static std::string Name(const json& obj) { return replicaset::Meta(obj, "name"); }
  std::string NewUid() { return "uid-" + std::to_string(++counter_); }
  void Observe(const char* phase) {
    if (observer) observer(*this, phase);
  }
  replicaset::PodList PodList() const {
    replicaset::PodList out;
    for (const auto& [name, pod] : pods_) out.push_back(Share(pod));
    return out;
  }

  void RunDeploymentController() {
    auto plan = deployment::PlanDeployment(d_, ReplicaSetList(), PodList(), now);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    last_plan_ = *plan;
    if (plan->update_replicaset) {
      json rs = *plan->update_replicaset;
      rs["status"] = rss_.at(Name(rs))["status"];
      rss_[Name(rs)] = rs;
    }
    if (plan->create_replicaset) {
      json rs = *plan->create_replicaset;
      ASSERT_EQ(rss_.count(Name(rs)), 0u) << "create of an existing name " << Name(rs);
      rs["metadata"]["uid"] = NewUid();
      rs["metadata"]["creationTimestamp"] = Ts(now);
      rs["metadata"]["generation"] = 1;
      rs["status"] = json{{"replicas", 0}};
      rss_[Name(rs)] = rs;
    }
    if (plan->deployment_revision) {
      d_["metadata"]["annotations"][deployment::kRevisionAnnotation] = *plan->deployment_revision;
    }
    for (const auto& s : plan->scales) {
      json& rs = rss_.at(s.name);
      rs.merge_patch(s.MergePatch());
      rs["metadata"]["generation"] = rs["metadata"]["generation"].get<int64_t>() + 1;
    }
    for (const auto& name : plan->delete_replicasets) {
      ASSERT_EQ(PodsOf(name, true), 0) << "deleting a ReplicaSet that still has Pods: " << name;
      rss_.erase(name);
    }
    d_["status"] = plan->status;
  }

  void RunReplicaSetControllers(bool act) {
    for (auto& [name, rs] : rss_) {
      auto plan = replicaset::PlanReplicaSet(rs, PodList(), now);
      ASSERT_TRUE(plan.ok()) << plan.status().ToString();
      rs["status"] = plan->status;
      if (!act) continue;
      ASSERT_TRUE(plan->adopt.empty() && plan->release.empty());
      for (int i = 0; i < plan->create; ++i) {
        json pod = replicaset::PodFromTemplate(rs);
        std::string uid = NewUid();
        pod["metadata"]["name"] = pod["metadata"]["generateName"].get<std::string>() + uid;
        pod["metadata"]["uid"] = uid;
        pod["metadata"]["creationTimestamp"] = Ts(now);
        pod["status"] = json{{"phase", "Pending"}};
        pods_[Name(pod)] = pod;
      }
      for (const auto& victim : plan->to_delete) pods_.at(Name(*victim))["metadata"]["deletionTimestamp"] = Ts(now);
    }
  }

  void Kubelet() {
    now += tick;
    for (auto it = pods_.begin(); it != pods_.end();) {
      it = replicaset::IsDeleting(it->second) ? pods_.erase(it) : std::next(it);
    }
    for (auto& [name, pod] : pods_) {
      if (pod["status"]["phase"] != "Pending") continue;
      pod["spec"]["nodeName"] = "node-" + std::to_string(++counter_ % 3);
      pod["status"]["phase"] = "Running";
      bool ready = !never_ready(pod);
      pod["status"]["conditions"] =
          json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}, {"lastTransitionTime", Ts(now)}}});
    }
  }

  json d_;
  std::map<std::string, json> rss_;
  std::map<std::string, json> pods_;
  deployment::DeploymentPlan last_plan_;
  int counter_ = 0;
};

// Template images for which Pods never become ready.
inline std::function<bool(const json&)> BrokenImage(const std::string& image) {
  return [image](const json& pod) { return pod["spec"]["containers"][0]["image"] == image; };
}

}  // namespace capstan::controller::testing
