#include "controller/nodelifecycle/node_conditions.h"

#include <gtest/gtest.h>

namespace capstan::controller::nodelifecycle {
namespace {

json NodeWith(const json& conditions) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", "n1"}, {"resourceVersion", "42"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
          {"status", {{"conditions", conditions}}}};
}

json Condition(const std::string& type, const std::string& status, const std::string& heartbeat = "2026-01-01T00:01:00Z") {
  return {{"type", type},
          {"status", status},
          {"reason", "KubeletReady"},
          {"message", "ok"},
          {"lastHeartbeatTime", heartbeat},
          {"lastTransitionTime", "2026-01-01T00:00:10Z"}};
}

TEST(NodeConditionsTest, Readiness) {
  EXPECT_EQ(NodeReadiness(NodeWith(json::array({Condition("Ready", "True")}))), Readiness::kTrue);
  EXPECT_EQ(NodeReadiness(NodeWith(json::array({Condition("Ready", "False")}))), Readiness::kFalse);
  EXPECT_EQ(NodeReadiness(NodeWith(json::array({Condition("Ready", "Unknown")}))), Readiness::kUnknown);
  EXPECT_EQ(NodeReadiness(NodeWith(json::array({Condition("Ready", "Maybe")}))), Readiness::kFalse);
  EXPECT_EQ(NodeReadiness(NodeWith(json::array({Condition("MemoryPressure", "False")}))), Readiness::kMissing);
  EXPECT_EQ(NodeReadiness(json::object()), Readiness::kMissing);
  EXPECT_TRUE(IsNotReady(Readiness::kFalse));
  EXPECT_TRUE(IsNotReady(Readiness::kUnknown));
  EXPECT_FALSE(IsNotReady(Readiness::kMissing));
  EXPECT_FALSE(IsNotReady(Readiness::kTrue));
}

TEST(NodeConditionsTest, HeartbeatIsTheReadyHeartbeatAndTheLeaseRenewal) {
  json node = NodeWith(json::array({Condition("Ready", "True", "2026-01-01T00:01:00Z")}));
  json lease = {{"spec", {{"renewTime", "2026-01-01T00:01:05.000000Z"}}}};
  Heartbeat hb = ObservedHeartbeat(node, &lease);
  EXPECT_EQ(hb.ready_heartbeat, "2026-01-01T00:01:00Z");
  EXPECT_EQ(hb.lease_renew, "2026-01-01T00:01:05.000000Z");
  EXPECT_EQ(ObservedHeartbeat(node, nullptr).lease_renew, "");
  lease["spec"]["renewTime"] = "2026-01-01T00:01:15.000000Z";
  EXPECT_NE(ObservedHeartbeat(node, &lease), hb);
}

TEST(NodeConditionsTest, UnknownPatchTurnsTheAgentsConditionsUnknownAndKeepsTheHeartbeat) {
  json node = NodeWith(json::array({Condition("Ready", "True"), Condition("MemoryPressure", "False"),
                                    Condition("NetworkUnavailable", "False")}));
  json patch = UnknownConditionsPatch(node, "2026-01-01T00:05:00Z");
  ASSERT_TRUE(patch.is_object());
  EXPECT_EQ(patch["metadata"]["resourceVersion"], "42");
  const json& conditions = patch["status"]["conditions"];
  ASSERT_EQ(conditions.size(), 2u);  // NetworkUnavailable is the control plane's, as in Kubernetes
  for (const json& c : conditions) {
    EXPECT_EQ(c["status"], "Unknown");
    EXPECT_EQ(c["reason"], "NodeStatusUnknown");
    EXPECT_EQ(c["message"], "Kubelet stopped posting node status.");
    EXPECT_EQ(c["lastTransitionTime"], "2026-01-01T00:05:00Z");
    EXPECT_FALSE(c.contains("lastHeartbeatTime"));  // the merge keeps the agent's
  }
  EXPECT_EQ(conditions[0]["type"], "Ready");
  EXPECT_EQ(conditions[1]["type"], "MemoryPressure");
}

TEST(NodeConditionsTest, UnknownPatchIsNullWhenEverythingIsUnknownAlready) {
  json node = NodeWith(json::array({Condition("Ready", "Unknown"), Condition("DiskPressure", "Unknown")}));
  EXPECT_TRUE(UnknownConditionsPatch(node, "2026-01-01T00:05:00Z").is_null());
}

TEST(NodeConditionsTest, ANodeThatNeverPostedGetsReadyUnknownNeverUpdated) {
  json patch = UnknownConditionsPatch(NodeWith(json::array()), "2026-01-01T00:05:00Z");
  ASSERT_TRUE(patch.is_object());
  const json& conditions = patch["status"]["conditions"];
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0]["type"], "Ready");
  EXPECT_EQ(conditions[0]["status"], "Unknown");
  EXPECT_EQ(conditions[0]["reason"], "NodeStatusNeverUpdated");
  EXPECT_EQ(conditions[0]["message"], "Kubelet never posted node status.");
  EXPECT_EQ(conditions[0]["lastHeartbeatTime"], "2026-01-01T00:00:00Z");
}

json Pod(const std::string& ready) {
  json p = {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "u1"}, {"resourceVersion", "7"}}},
            {"status", {{"phase", "Running"}, {"conditions", json::array()}}}};
  if (!ready.empty()) {
    p["status"]["conditions"].push_back({{"type", "Ready"}, {"status", ready}, {"lastTransitionTime", "t0"}});
  }
  return p;
}

TEST(NodeConditionsTest, PodNotReadyPatchOnlyForAReadyPod) {
  json patch = PodNotReadyPatch(Pod("True"), "2026-01-01T00:05:00Z");
  ASSERT_TRUE(patch.is_object());
  EXPECT_EQ(patch["metadata"]["uid"], "u1");
  EXPECT_EQ(patch["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(patch["status"]["conditions"],
            json::parse(R"([{"type":"Ready","status":"False","lastTransitionTime":"2026-01-01T00:05:00Z"}])"));
  EXPECT_TRUE(PodNotReadyPatch(Pod("False"), "x").is_null());
  EXPECT_TRUE(PodNotReadyPatch(Pod(""), "x").is_null());
}

TEST(NodeConditionsTest, TerminalAndDeletingPods) {
  json p = Pod("True");
  EXPECT_FALSE(IsTerminalPod(p));
  EXPECT_FALSE(IsDeletingPod(p));
  p["status"]["phase"] = "Succeeded";
  EXPECT_TRUE(IsTerminalPod(p));
  p["status"]["phase"] = "Failed";
  EXPECT_TRUE(IsTerminalPod(p));
  p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_TRUE(IsDeletingPod(p));
}

}  // namespace
}  // namespace capstan::controller::nodelifecycle
