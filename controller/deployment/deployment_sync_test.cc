#include "controller/deployment/deployment_sync.h"

#include <gtest/gtest.h>

#include "controller/deployment/pod_template_hash.h"
#include "controller/replicaset/apps_test_util.h"

namespace capstan::controller::deployment {
namespace {

using namespace std::chrono_literals;
using replicaset::FindCondition;
using testing::MakeDeployment;
using testing::PodBuilder;
using testing::Share;
using testing::T0;
using testing::Ts;

DeploymentPlan Plan(const json& d, const ObjectList& rss, const ObjectList& pods = {}, TimePoint now = T0()) {
  auto plan = PlanDeployment(d, rss, pods, now);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(plan).value() : DeploymentPlan{};
}

// A planned ReplicaSet as the API server would store it, with its controller's status.
json Stored(json rs, const std::string& uid, int available, TimePoint created = T0() - 1h) {
  rs["metadata"]["uid"] = uid;
  rs["metadata"]["creationTimestamp"] = Ts(created);
  rs["metadata"]["generation"] = 1;
  int replicas = rs["spec"]["replicas"];
  rs["status"] = json{{"replicas", replicas}, {"readyReplicas", available}, {"availableReplicas", available},
                      {"observedGeneration", 1}};
  return rs;
}

// The first ReplicaSet of `d`, fully available.
json FirstReplicaSet(const json& d, const std::string& uid = "rs-1") {
  DeploymentPlan plan = Plan(d, {});
  return Stored(*plan.create_replicaset, uid, replicaset::SpecReplicas(*plan.create_replicaset));
}

json Condition(const json& status, const char* type) {
  const json* c = FindCondition(status, type);
  return c != nullptr ? *c : json();
}

json Complete(json d, int replicas) {
  d["status"] = json{{"observedGeneration", 1}, {"replicas", replicas}, {"updatedReplicas", replicas},
                     {"readyReplicas", replicas}, {"availableReplicas", replicas}};
  return d;
}

TEST(DeploymentSyncTest, CreatesTheFirstReplicaSet) {
  json d = MakeDeployment("web", 10);
  DeploymentPlan plan = Plan(d, {});
  ASSERT_TRUE(plan.create_replicaset.has_value());
  std::string hash = ComputePodTemplateHash(d["spec"]["template"], std::nullopt);
  json want = json::parse(R"({"apiVersion":"apps/v1","kind":"ReplicaSet",
      "metadata":{"name":"web-HASH","namespace":"default","labels":{"app":"web","pod-template-hash":"HASH"},
        "annotations":{"deployment.kubernetes.io/revision":"1","deployment.kubernetes.io/desired-replicas":"10",
                       "deployment.kubernetes.io/max-replicas":"13"},
        "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"uid-web",
                            "controller":true,"blockOwnerDeletion":true}]},
      "spec":{"replicas":10,"selector":{"matchLabels":{"app":"web","pod-template-hash":"HASH"}},
        "template":{"metadata":{"labels":{"app":"web","pod-template-hash":"HASH"}},
                    "spec":{"containers":[{"name":"web","image":"nginx:1"}]}}}})");
  std::string text = want.dump();
  for (size_t at; (at = text.find("HASH")) != std::string::npos;) text.replace(at, 4, hash);
  EXPECT_EQ(*plan.create_replicaset, json::parse(text));
  EXPECT_EQ(plan.deployment_revision, "1");
  EXPECT_TRUE(plan.scales.empty());

  json progressing = Condition(plan.status, "Progressing");
  EXPECT_EQ(progressing["reason"], "NewReplicaSetCreated");
  EXPECT_EQ(progressing["status"], "True");
  EXPECT_EQ(progressing["message"], "Created new replica set \"web-" + hash + "\"");
  EXPECT_EQ(progressing["lastUpdateTime"], Ts(T0()));
  EXPECT_EQ(Condition(plan.status, "Available")["reason"], "MinimumReplicasUnavailable");
  EXPECT_EQ(plan.status["unavailableReplicas"], 10);
  EXPECT_EQ(plan.status["observedGeneration"], 1);
  EXPECT_TRUE(plan.status_changed);
  EXPECT_EQ(plan.requeue_after, std::chrono::milliseconds(601s)) << "the deadline check";
}

TEST(DeploymentSyncTest, TemplateChangeStartsARollingUpdate) {
  json d = MakeDeployment("web", 10, 3, 2);
  json old = FirstReplicaSet(d);
  d = Complete(d, 10);
  d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  d["metadata"]["generation"] = 2;
  DeploymentPlan plan = Plan(d, {Share(old)});
  // Kubernetes' worked example: the new ReplicaSet starts at 3 (maxSurge) and the old one goes to
  // 8 (maxUnavailable) in the same sync.
  ASSERT_TRUE(plan.create_replicaset.has_value());
  EXPECT_EQ((*plan.create_replicaset)["spec"]["replicas"], 3);
  EXPECT_EQ((*plan.create_replicaset)["metadata"]["annotations"][kRevisionAnnotation], "2");
  ASSERT_EQ(plan.scales.size(), 1u);
  EXPECT_EQ(plan.scales[0].name, old["metadata"]["name"]);
  EXPECT_EQ(plan.scales[0].replicas, 8);
  EXPECT_EQ(plan.scales[0].MergePatch(), json::parse(R"({"metadata":{"annotations":{
      "deployment.kubernetes.io/desired-replicas":"10","deployment.kubernetes.io/max-replicas":"13"}},
      "spec":{"replicas":8}})"));
  EXPECT_EQ(plan.deployment_revision, "2");
  EXPECT_EQ(Condition(plan.status, "Progressing")["reason"], "NewReplicaSetCreated");
}

TEST(DeploymentSyncTest, ExistingNewReplicaSetGetsTheNextRevisionAndTheAnnotations) {
  json d = MakeDeployment("web", 2);
  json rs1 = FirstReplicaSet(d, "rs-1");  // revision 1, the template the Deployment has again
  json other = d;
  other["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  json rs2 = FirstReplicaSet(other, "rs-2");
  rs2["metadata"]["annotations"][kRevisionAnnotation] = "2";
  rs2["spec"]["replicas"] = 0;
  d["metadata"]["annotations"] = json{{kChangeCauseAnnotation, "rollback to 1"},
                                      {kLastAppliedAnnotation, "{}"},
                                      {kRevisionAnnotation, "2"}};
  d["spec"]["minReadySeconds"] = 5;
  d["status"]["conditions"] = json::array({NewDeploymentCondition("Progressing", "True", "ReplicaSetUpdated", "x", T0() - 1h)});
  DeploymentPlan plan = Plan(d, {Share(rs1), Share(rs2)});
  ASSERT_TRUE(plan.update_replicaset.has_value());
  const json& ann = (*plan.update_replicaset)["metadata"]["annotations"];
  EXPECT_EQ(ann[kRevisionAnnotation], "3");
  EXPECT_EQ(ann[kRevisionHistoryAnnotation], "1");
  EXPECT_EQ(ann[kChangeCauseAnnotation], "rollback to 1");
  EXPECT_FALSE(ann.contains(kLastAppliedAnnotation));
  EXPECT_EQ((*plan.update_replicaset)["spec"]["minReadySeconds"], 5);
  EXPECT_EQ((*plan.update_replicaset)["metadata"]["uid"], "rs-1") << "a full object for PUT";
  EXPECT_EQ(plan.deployment_revision, "3");
  EXPECT_FALSE(plan.create_replicaset.has_value());
}

TEST(DeploymentSyncTest, CompleteRolloutReportsNewReplicaSetAvailable) {
  json d = Complete(MakeDeployment("web", 10), 10);
  json rs = FirstReplicaSet(d);
  d["metadata"]["annotations"][kRevisionAnnotation] = "1";
  DeploymentPlan plan = Plan(d, {Share(rs)});
  EXPECT_FALSE(plan.create_replicaset || plan.update_replicaset || plan.deployment_revision);
  EXPECT_TRUE(plan.scales.empty());
  json progressing = Condition(plan.status, "Progressing");
  EXPECT_EQ(progressing["reason"], "NewReplicaSetAvailable");
  EXPECT_EQ(progressing["message"], "ReplicaSet \"" + rs["metadata"]["name"].get<std::string>() +
                                        "\" has successfully progressed.");
  EXPECT_EQ(Condition(plan.status, "Available")["reason"], "MinimumReplicasAvailable");
  EXPECT_FALSE(plan.requeue_after.has_value());
  EXPECT_FALSE(plan.status.contains("unavailableReplicas"));

  // A second sync over the written status changes nothing.
  d["status"] = plan.status;
  DeploymentPlan again = Plan(d, {Share(rs)}, {}, T0() + 1h);
  EXPECT_FALSE(again.status_changed);
}

// A rollout stuck at old 8 / new 5 with the new Pods never available.
struct Stuck {
  json d;
  json old_rs;
  json new_rs;
};
Stuck StuckRollout(TimePoint last_progress) {
  json d = MakeDeployment("web", 10, 3, 2);
  json old_rs = FirstReplicaSet(d, "rs-1");
  old_rs["spec"]["replicas"] = 8;
  old_rs = Stored(old_rs, "rs-1", 8, T0() - 2h);
  d["spec"]["template"]["spec"]["containers"][0]["image"] = "broken";
  d["metadata"]["generation"] = 2;
  json new_rs = Stored(*Plan(d, {Share(old_rs)}).create_replicaset, "rs-2", 0);
  new_rs["spec"]["replicas"] = 5;
  new_rs["status"]["replicas"] = 5;
  new_rs["metadata"]["annotations"][kRevisionAnnotation] = "2";
  d["metadata"]["annotations"][kRevisionAnnotation] = "2";
  d["status"] = json{{"observedGeneration", 2}, {"replicas", 13}, {"updatedReplicas", 5}, {"readyReplicas", 8},
                     {"availableReplicas", 8}, {"unavailableReplicas", 5}};
  d["status"]["conditions"] = json::array(
      {NewDeploymentCondition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                              T0() - 2h),
       NewDeploymentCondition("Progressing", "True", "ReplicaSetUpdated", "ReplicaSet is progressing.", last_progress)});
  return {d, old_rs, new_rs};
}

TEST(DeploymentSyncTest, ProgressDeadlineExceededAfterTheDeadlineWithoutProgress) {
  Stuck s = StuckRollout(T0() - 600s);
  ObjectList rss = {Share(s.old_rs), Share(s.new_rs)};
  DeploymentPlan at_deadline = Plan(s.d, rss);
  EXPECT_TRUE(at_deadline.scales.empty()) << "availability forbids scaling the old ReplicaSet down";
  EXPECT_EQ(Condition(at_deadline.status, "Progressing")["reason"], "ReplicaSetUpdated") << "not strictly after yet";
  EXPECT_EQ(at_deadline.requeue_after, std::chrono::milliseconds(1s));
  EXPECT_FALSE(at_deadline.status_changed);

  DeploymentPlan after = Plan(s.d, rss, {}, T0() + 1s);
  json progressing = Condition(after.status, "Progressing");
  EXPECT_EQ(progressing["reason"], "ProgressDeadlineExceeded");
  EXPECT_EQ(progressing["status"], "False");
  EXPECT_EQ(progressing["message"], "ReplicaSet \"" + s.new_rs["metadata"]["name"].get<std::string>() +
                                        "\" has timed out progressing.");
  EXPECT_EQ(progressing["lastTransitionTime"], Ts(T0() + 1s));
  EXPECT_FALSE(after.requeue_after.has_value());
  EXPECT_EQ(Condition(after.status, "Available")["status"], "True") << "8 of 10 is the minimum";

  // Once reported, it stays (until progress is seen).
  s.d["status"] = after.status;
  EXPECT_EQ(Condition(Plan(s.d, rss, {}, T0() + 1h).status, "Progressing")["reason"], "ProgressDeadlineExceeded");
}

TEST(DeploymentSyncTest, ProgressRefreshesLastUpdateTime) {
  Stuck s = StuckRollout(T0() - 500s);
  s.new_rs["status"]["availableReplicas"] = 2;
  s.new_rs["status"]["readyReplicas"] = 2;
  DeploymentPlan plan = Plan(s.d, {Share(s.old_rs), Share(s.new_rs)});
  json progressing = Condition(plan.status, "Progressing");
  EXPECT_EQ(progressing["reason"], "ReplicaSetUpdated");
  EXPECT_EQ(progressing["lastUpdateTime"], Ts(T0()));
  EXPECT_EQ(progressing["lastTransitionTime"], Ts(T0() - 500s)) << "same status: transition time kept";
  EXPECT_EQ(plan.requeue_after, std::chrono::milliseconds(601s));
}

TEST(DeploymentSyncTest, PausedDeploymentDoesNotRollOut) {
  json d = Complete(MakeDeployment("web", 10), 10);
  json rs = FirstReplicaSet(d);
  d["metadata"]["annotations"][kRevisionAnnotation] = "1";
  d["spec"]["paused"] = true;
  d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  DeploymentPlan plan = Plan(d, {Share(rs)});
  EXPECT_FALSE(plan.create_replicaset.has_value());
  EXPECT_TRUE(plan.scales.empty());
  json progressing = Condition(plan.status, "Progressing");
  EXPECT_EQ(progressing["reason"], "DeploymentPaused");
  EXPECT_EQ(progressing["status"], "Unknown");
  EXPECT_FALSE(plan.requeue_after.has_value()) << "no deadline while paused";

  // Paused far beyond the deadline, then resumed: no ProgressDeadlineExceeded on resume.
  d["status"] = plan.status;
  d["spec"]["paused"] = false;
  DeploymentPlan resumed = Plan(d, {Share(rs)}, {}, T0() + 24h);
  ASSERT_TRUE(resumed.create_replicaset.has_value());
  EXPECT_EQ(Condition(resumed.status, "Progressing")["reason"], "NewReplicaSetCreated");
}

TEST(DeploymentSyncTest, PausedDeploymentStillScales) {
  json d = Complete(MakeDeployment("web", 10), 10);
  json rs = FirstReplicaSet(d);
  d["spec"]["paused"] = true;
  d["spec"]["replicas"] = 15;
  DeploymentPlan plan = Plan(d, {Share(rs)});
  ASSERT_EQ(plan.scales.size(), 1u);
  EXPECT_EQ(plan.scales[0].replicas, 15);
  EXPECT_EQ(plan.scales[0].desired_replicas, 15);
  EXPECT_EQ(plan.scales[0].max_replicas, 19);  // 25% of 15 rounds up to 4
}

TEST(DeploymentSyncTest, ScalingMidRolloutIsProportional) {
  // The documented example: stuck at old 8 / new 5 (10 replicas, maxSurge 3, maxUnavailable 2),
  // then scaled to 15: 3 more go to the old ReplicaSet and 2 to the new one.
  Stuck s = StuckRollout(T0() - 10s);
  s.d["spec"]["replicas"] = 15;
  s.d["metadata"]["generation"] = 3;
  DeploymentPlan plan = Plan(s.d, {Share(s.old_rs), Share(s.new_rs)});
  ASSERT_EQ(plan.scales.size(), 2u);
  std::map<std::string, ScaleAction> by_name;
  for (const auto& a : plan.scales) by_name[a.name] = a;
  EXPECT_EQ(by_name[s.old_rs["metadata"]["name"]].replicas, 11);
  EXPECT_EQ(by_name[s.new_rs["metadata"]["name"]].replicas, 7);
  EXPECT_EQ(by_name[s.new_rs["metadata"]["name"]].desired_replicas, 15);
  EXPECT_EQ(by_name[s.new_rs["metadata"]["name"]].max_replicas, 18);
  EXPECT_FALSE(plan.create_replicaset.has_value());
}

TEST(DeploymentSyncTest, OnlyRecreateReadsPods) {
  json d = MakeDeployment("web", 3);
  EXPECT_FALSE(ReadsPods(d));  // RollingUpdate by default: Pod deletions do not concern it
  d["spec"]["strategy"] = json{{"type", "RollingUpdate"}};
  EXPECT_FALSE(ReadsPods(d));
  d["spec"]["strategy"] = json{{"type", "Recreate"}};
  EXPECT_TRUE(ReadsPods(d));
  EXPECT_FALSE(ReadsPods(json::object()));
}

TEST(DeploymentSyncTest, RecreateScalesDownWaitsForOldPodsThenCreates) {
  json d = MakeDeployment("web", 3);
  d["spec"]["strategy"] = json{{"type", "Recreate"}};
  json old = FirstReplicaSet(d);
  d = Complete(d, 3);
  d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  DeploymentPlan first = Plan(d, {Share(old)});
  ASSERT_EQ(first.scales.size(), 1u);
  EXPECT_EQ(first.scales[0].replicas, 0);
  EXPECT_FALSE(first.create_replicaset.has_value());

  old["spec"]["replicas"] = 0;
  old["status"] = json{{"replicas", 0}, {"observedGeneration", 2}};
  ObjectList terminating = {PodBuilder("old-pod", "p1").Owner(old).ReadySince(T0() - 1h).Deleting().Build()};
  DeploymentPlan waiting = Plan(d, {Share(old)}, terminating);
  EXPECT_FALSE(waiting.create_replicaset.has_value()) << "an old Pod is still terminating";
  EXPECT_TRUE(waiting.scales.empty());

  ObjectList finished = {PodBuilder("old-pod", "p1").Owner(old).Phase("Succeeded").Build()};
  DeploymentPlan created = Plan(d, {Share(old)}, finished);
  ASSERT_TRUE(created.create_replicaset.has_value());
  EXPECT_EQ((*created.create_replicaset)["spec"]["replicas"], 3) << "Recreate starts at full size";
  EXPECT_EQ((*created.create_replicaset)["metadata"]["annotations"][kMaxReplicasAnnotation], "3");
}

TEST(DeploymentSyncTest, OldReplicaSetsBeyondTheHistoryLimitAreDeletedLowestRevisionFirst) {
  json d = Complete(MakeDeployment("web", 1), 1);
  d["spec"]["revisionHistoryLimit"] = 1;
  ObjectList rss;
  for (int rev = 1; rev <= 4; ++rev) {
    json v = d;
    v["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:" + std::to_string(rev);
    json rs = FirstReplicaSet(v, "rs-" + std::to_string(rev));
    rs["metadata"]["annotations"][kRevisionAnnotation] = std::to_string(rev);
    rs["metadata"]["creationTimestamp"] = Ts(T0() - std::chrono::hours(10 - rev));
    if (rev < 4) {
      rs["spec"]["replicas"] = 0;
      rs["status"] = json{{"replicas", 0}, {"observedGeneration", 1}};
    }
    if (rev == 2) rs["status"]["replicas"] = 1;  // a Pod still terminating: kept for now
    rss.push_back(Share(rs));
  }
  d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:4";
  d["metadata"]["annotations"][kRevisionAnnotation] = "4";
  DeploymentPlan plan = Plan(d, rss);
  // Old: 1, 2, 3 — two beyond the limit of one: revisions 1 and 2, and 2 is not empty yet.
  EXPECT_EQ(plan.delete_replicasets, (std::vector<std::string>{(*rss[0])["metadata"]["name"]}));
}

TEST(DeploymentSyncTest, DeletingDeploymentOnlyGetsStatus) {
  json d = Complete(MakeDeployment("web", 3), 3);
  json rs = FirstReplicaSet(d);
  d["metadata"]["deletionTimestamp"] = Ts(T0());
  d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2";
  d["spec"]["replicas"] = 5;
  DeploymentPlan plan = Plan(d, {Share(rs)});
  EXPECT_FALSE(plan.create_replicaset.has_value());
  EXPECT_TRUE(plan.scales.empty());
  EXPECT_EQ(plan.status["replicas"], 3);
}

TEST(DeploymentSyncTest, HashCollisionBumpsCollisionCount) {
  json d = MakeDeployment("web", 2);
  std::string name = "web-" + ComputePodTemplateHash(d["spec"]["template"], std::nullopt);
  json squatter = d;
  squatter["spec"]["template"]["spec"]["containers"][0]["image"] = "other";
  json rs = FirstReplicaSet(squatter, "rs-x");
  rs["metadata"]["name"] = name;
  DeploymentPlan plan = Plan(d, {Share(rs)});
  EXPECT_FALSE(plan.create_replicaset.has_value());
  EXPECT_EQ(plan.status["collisionCount"], 1);
  EXPECT_TRUE(plan.status_changed);

  d["status"] = plan.status;
  DeploymentPlan next = Plan(d, {Share(rs)});
  ASSERT_TRUE(next.create_replicaset.has_value());
  EXPECT_NE((*next.create_replicaset)["metadata"]["name"], name);
  EXPECT_EQ(next.status["collisionCount"], 1);
}

TEST(DeploymentSyncTest, ReplicaSetsOfOtherOwnersAreIgnored) {
  json d = MakeDeployment("web", 2);
  json foreign = FirstReplicaSet(d, "rs-foreign");
  foreign["metadata"]["ownerReferences"][0]["uid"] = "someone-else";
  foreign["metadata"]["name"] = "foreign";
  DeploymentPlan plan = Plan(d, {Share(foreign)});
  EXPECT_TRUE(plan.create_replicaset.has_value());
  EXPECT_TRUE(plan.scales.empty());
}

TEST(DeploymentSyncTest, NoProgressingConditionWithoutADeadline) {
  json d = MakeDeployment("web", 2);
  d["spec"].erase("progressDeadlineSeconds");
  DeploymentPlan plan = Plan(d, {});
  EXPECT_TRUE(Condition(plan.status, "Progressing").is_null());
  EXPECT_FALSE(Condition(plan.status, "Available").is_null());
  EXPECT_FALSE(plan.requeue_after.has_value());
}

TEST(DeploymentSyncTest, ReplicaFailureIsCopiedFromTheNewReplicaSet) {
  json d = MakeDeployment("web", 2);
  json rs = FirstReplicaSet(d);
  rs["status"]["conditions"] = json::array({{{"type", "ReplicaFailure"}, {"status", "True"}, {"reason", "FailedCreate"},
                                             {"message", "quota"}, {"lastTransitionTime", Ts(T0() - 1min)}}});
  DeploymentPlan plan = Plan(d, {Share(rs)});
  json failure = Condition(plan.status, "ReplicaFailure");
  EXPECT_EQ(failure["reason"], "FailedCreate");
  EXPECT_EQ(failure["lastUpdateTime"], Ts(T0() - 1min));
}

TEST(DeploymentSyncTest, CreateFailureAndCollisionHelpers) {
  json d = MakeDeployment("web", 2);
  json failed = StatusAfterCreateFailure(d, "web-abc", "forbidden", T0());
  EXPECT_EQ(Condition(failed, "Progressing")["reason"], "ReplicaSetCreateError");
  EXPECT_EQ(Condition(failed, "Progressing")["message"], "Failed to create new replica set \"web-abc\": forbidden");
  EXPECT_EQ(StatusAfterHashCollision(d)["collisionCount"], 1);
  json rs = FirstReplicaSet(d);
  EXPECT_TRUE(IsNewReplicaSetOf(d, rs));
  rs["metadata"]["ownerReferences"][0]["uid"] = "other";
  EXPECT_FALSE(IsNewReplicaSetOf(d, rs));
}

TEST(DeploymentSyncTest, MalformedObjectsAreErrorsNotExceptions) {
  json d = MakeDeployment("web", 2);
  d["spec"]["template"]["metadata"]["labels"] = "app=web";  // not an object
  d["spec"]["selector"] = json{{"matchLabels", {{"app", "web"}}}};
  auto plan = PlanDeployment(d, {}, {}, T0());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalid);

  json bad_selector = MakeDeployment("web", 2);
  bad_selector["spec"]["selector"] = "app=web";
  EXPECT_EQ(PlanDeployment(bad_selector, {}, {}, T0()).status().code(), Code::kInvalid);
}

TEST(DeploymentSyncTest, InputsAreNotMutated) {
  Stuck s = StuckRollout(T0() - 10s);
  s.d["spec"]["replicas"] = 15;
  json d = s.d, old_rs = s.old_rs, new_rs = s.new_rs;
  auto a = Share(s.old_rs), b = Share(s.new_rs);
  (void)Plan(s.d, {a, b});
  EXPECT_EQ(s.d, d);
  EXPECT_EQ(*a, old_rs);
  EXPECT_EQ(*b, new_rs);
}

}  // namespace
}  // namespace capstan::controller::deployment
