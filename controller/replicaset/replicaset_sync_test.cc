#include "controller/replicaset/replicaset_sync.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "controller/replicaset/apps_test_util.h"
#include "controller/replicaset/expectations.h"

namespace capstan::controller::replicaset {
namespace {

using namespace std::chrono_literals;
using testing::MakeReplicaSet;
using testing::PodBuilder;
using testing::T0;

ReplicaSetPlan Plan(const json& rs, const PodList& pods, ReplicaSetPlanOptions options = {}) {
  auto plan = PlanReplicaSet(rs, pods, T0(), options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(plan).value() : ReplicaSetPlan{};
}

std::vector<std::string> Names(const PodList& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) out.push_back(Meta(*p, "name"));
  return out;
}

TEST(ReplicaSetSyncTest, CreatesTheMissingPods) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 3);
  PodList pods = {PodBuilder("web-1-a", "p1").Owner(rs).ReadySince(T0() - 1h).Build()};
  ReplicaSetPlan plan = Plan(rs, pods);
  EXPECT_EQ(plan.create, 2);
  EXPECT_TRUE(plan.to_delete.empty());
  EXPECT_EQ(plan.status["replicas"], 1);
  EXPECT_EQ(plan.status["readyReplicas"], 1);
  EXPECT_EQ(plan.status["availableReplicas"], 1);
  EXPECT_EQ(plan.status["observedGeneration"], 1);
  EXPECT_TRUE(plan.status_changed);
}

TEST(ReplicaSetSyncTest, DeletesTheSurplusUnscheduledThenNotReadyThenNewest) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 2);
  PodList pods = {
      PodBuilder("ready-old", "p1").Owner(rs).ReadySince(T0() - 1h).Created(T0() - 2h).Build(),
      PodBuilder("ready-new", "p2").Owner(rs).ReadySince(T0() - 1h, "node-2").Created(T0() - 1h).Build(),
      PodBuilder("not-ready", "p3").Owner(rs).NotReady("node-3").Build(),
      PodBuilder("unscheduled", "p4").Owner(rs).Build(),
      PodBuilder("ready-oldest", "p5").Owner(rs).ReadySince(T0() - 1h, "node-4").Created(T0() - 3h).Build(),
  };
  ReplicaSetPlan plan = Plan(rs, pods);
  EXPECT_EQ(plan.create, 0);
  // Same ready time, each alone on its node except ready-old (node-1, alone too): newest first.
  EXPECT_EQ(Names(plan.to_delete), (std::vector<std::string>{"unscheduled", "not-ready", "ready-new"}));
}

TEST(ReplicaSetSyncTest, CountsOnlyItsOwnActivePods) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 2);
  PodList pods = {
      PodBuilder("mine", "p1").Owner(rs).ReadySince(T0() - 1h).Build(),
      PodBuilder("succeeded", "p2").Owner(rs).Phase("Succeeded").Build(),
      PodBuilder("failed", "p3").Owner(rs).Phase("Failed").Build(),
      PodBuilder("terminating", "p4").Owner(rs).ReadySince(T0() - 1h).Deleting().Build(),
      PodBuilder("someone-elses", "p5").OwnerUid("other-uid").Build(),
      PodBuilder("other-namespace", "p6").Owner(rs).Build(),
  };
  json other_ns = (*pods[5]);
  other_ns["metadata"]["namespace"] = "prod";
  pods[5] = testing::Share(other_ns);
  ReplicaSetPlan plan = Plan(rs, pods);
  EXPECT_EQ(plan.status["replicas"], 1);
  EXPECT_EQ(plan.create, 1);
  EXPECT_TRUE(plan.to_delete.empty());
  EXPECT_TRUE(plan.adopt.empty());
  EXPECT_TRUE(plan.release.empty());
}

TEST(ReplicaSetSyncTest, AdoptsMatchingOrphans) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 2);
  PodList pods = {
      PodBuilder("orphan", "p1").ReadySince(T0() - 1h).Build(),
      PodBuilder("orphan-other-app", "p2", json{{"app", "api"}}).Build(),
      PodBuilder("orphan-terminating", "p3").Deleting().Build(),
  };
  ReplicaSetPlan plan = Plan(rs, pods);
  ASSERT_EQ(plan.adopt.size(), 1u);
  EXPECT_EQ(plan.adopt[0].pod, pods[0]);
  EXPECT_EQ(plan.adopt[0].patch, json::parse(R"({"metadata":{"uid":"p1","ownerReferences":[
      {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"rs-uid",
       "controller":true,"blockOwnerDeletion":true}]}})"));
  // The adopted Pod counts at once: one more to create, not two.
  EXPECT_EQ(plan.create, 1);
  EXPECT_EQ(plan.status["replicas"], 1);
}

TEST(ReplicaSetSyncTest, ReleasesPodsThatStopMatching) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 1);
  PodList pods = {PodBuilder("relabeled", "p1", json{{"app", "debug"}}).Owner(rs).ReadySince(T0() - 1h).Build()};
  ReplicaSetPlan plan = Plan(rs, pods);
  ASSERT_EQ(plan.release.size(), 1u);
  EXPECT_EQ(plan.release[0].patch, json::parse(R"({"metadata":{"uid":"p1",
      "ownerReferences":[{"$patch":"delete","uid":"rs-uid"}]}})"));
  EXPECT_EQ(plan.create, 1) << "a released Pod is replaced";
  EXPECT_EQ(plan.status["replicas"], 0);
}

TEST(ReplicaSetSyncTest, DeletingReplicaSetCreatesAdoptsAndReleasesNothing) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 3);
  rs["metadata"]["deletionTimestamp"] = testing::Ts(T0());
  PodList pods = {
      PodBuilder("orphan", "p1").Build(),
      PodBuilder("relabeled", "p2", json{{"app", "debug"}}).Owner(rs).Build(),
      PodBuilder("mine", "p3").Owner(rs).Build(),
  };
  ReplicaSetPlan plan = Plan(rs, pods);
  EXPECT_EQ(plan.create, 0);
  EXPECT_TRUE(plan.adopt.empty());
  EXPECT_TRUE(plan.release.empty());
  EXPECT_EQ(plan.status["replicas"], 1);
}

TEST(ReplicaSetSyncTest, ExpectationsPreventOverCreationWhileCreatesAreInFlight) {
  ControllerExpectations expectations;
  const std::string key = "default/web-1";
  json rs = MakeReplicaSet("web-1", "rs-uid", 3);
  PodList cache;  // what the informer shows

  ReplicaSetPlan first = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key)});
  ASSERT_EQ(first.create, 3);
  expectations.ExpectCreations(key, first.create);
  // The POSTs succeeded but the cache has seen only one of the new Pods when the next sync runs.
  cache.push_back(PodBuilder("web-1-a", "p1").Owner(rs).Build());
  expectations.CreationObserved(key);
  ReplicaSetPlan second = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key)});
  EXPECT_EQ(second.create, 0) << "two creates are still in flight";
  EXPECT_EQ(second.status["replicas"], 1) << "status is still written";

  cache.push_back(PodBuilder("web-1-b", "p2").Owner(rs).Build());
  cache.push_back(PodBuilder("web-1-c", "p3").Owner(rs).Build());
  expectations.CreationObserved(key);
  expectations.CreationObserved(key);
  ReplicaSetPlan third = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key)});
  EXPECT_TRUE(expectations.Satisfied(key));
  EXPECT_EQ(third.create, 0);
  EXPECT_TRUE(third.to_delete.empty());
}

TEST(ReplicaSetSyncTest, ExpectedDeletionsBlockFurtherDeletes) {
  ControllerExpectations expectations;
  const std::string key = "default/web-1";
  json rs = MakeReplicaSet("web-1", "rs-uid", 1);
  PodList cache = {PodBuilder("a", "p1").Owner(rs).Build(), PodBuilder("b", "p2").Owner(rs).Build()};
  ReplicaSetPlan first = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key)});
  ASSERT_EQ(first.to_delete.size(), 1u);
  expectations.ExpectDeletions(key, {Meta(*first.to_delete[0], "uid")});
  ReplicaSetPlan second = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key)});
  EXPECT_TRUE(second.to_delete.empty()) << "the cache still shows the Pod being deleted";
  expectations.DeletionObserved(key, Meta(*first.to_delete[0], "uid"));
  EXPECT_TRUE(expectations.Satisfied(key));
}

TEST(ReplicaSetSyncTest, PodsWhoseDeleteIsOnItsWayAreNotCountedWhileTheCacheCatchesUp) {
  ControllerExpectations expectations;
  const std::string key = "default/web-1";
  json rs = MakeReplicaSet("web-1", "rs-uid", 1);
  PodList cache = {PodBuilder("a", "p1").Owner(rs).ReadySince(T0() - 1h).Build(),
                   PodBuilder("b", "p2").Owner(rs).ReadySince(T0() - 1h, "node-2").Build()};
  ReplicaSetPlan first = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key)});
  ASSERT_EQ(first.to_delete.size(), 1u);
  EXPECT_EQ(first.status["replicas"], 1) << "the Pod this plan deletes is not counted";
  expectations.ExpectDeletions(key, {Meta(*first.to_delete[0], "uid")});
  // The next sync's cache still shows the Pod active: the status must not count it again (a
  // Deployment would read a Pod coming back to life).
  ReplicaSetPlan second = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key),
                                           .deleting = expectations.PendingDeletions(key)});
  EXPECT_EQ(second.status["replicas"], 1);
  EXPECT_EQ(second.status["availableReplicas"], 1);
  ReplicaSetPlan unaware = Plan(rs, cache, {.expectations_satisfied = expectations.Satisfied(key)});
  EXPECT_EQ(unaware.status["replicas"], 2) << "control: without the pending deletions both count";
}

TEST(ReplicaSetSyncTest, LostEventsStopBlockingAfterTheTtl) {
  auto now = ControllerExpectations::TimePoint(1h);
  ControllerExpectations expectations([&now] { return now; });
  const std::string key = "default/web-1";
  json rs = MakeReplicaSet("web-1", "rs-uid", 2);
  expectations.ExpectCreations(key, 2);  // the Pods' add events are never delivered
  EXPECT_EQ(Plan(rs, {}, {.expectations_satisfied = expectations.Satisfied(key)}).create, 0);
  now += 5min + 1s;
  EXPECT_EQ(Plan(rs, {}, {.expectations_satisfied = expectations.Satisfied(key)}).create, 2);
}

TEST(ReplicaSetSyncTest, StatusCountsLabelsReadinessAndAvailability) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 5);
  rs["spec"]["minReadySeconds"] = 30;
  rs["spec"]["template"]["metadata"]["labels"]["tier"] = "front";
  rs["metadata"]["generation"] = 4;
  json full = {{"app", "web"}, {"tier", "front"}};
  PodList pods = {
      PodBuilder("available", "p1", full).Owner(rs).ReadySince(T0() - 1h).Build(),
      PodBuilder("just-ready", "p2", full).Owner(rs).ReadySince(T0() - 10s).Build(),
      PodBuilder("exactly-30s", "p3", full).Owner(rs).ReadySince(T0() - 30s).Build(),
      PodBuilder("not-ready", "p4", full).Owner(rs).NotReady().Build(),
      PodBuilder("missing-tier", "p5").Owner(rs).ReadySince(T0() - 1h).Build(),
  };
  ReplicaSetPlan plan = Plan(rs, pods);
  EXPECT_EQ(plan.status, json::parse(R"({"replicas":5,"fullyLabeledReplicas":4,"readyReplicas":4,
                                         "availableReplicas":2,"observedGeneration":4})"));
  // just-ready becomes available 30 s after T0-10s, i.e. in 20 s (+1 s past the strict boundary);
  // exactly-30s is due right now, which is sooner.
  ASSERT_TRUE(plan.requeue_after.has_value());
  EXPECT_EQ(*plan.requeue_after, 1s);
}

TEST(ReplicaSetSyncTest, ZeroCountsAreOmittedAndUnchangedStatusIsNotRewritten) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 0);
  rs["metadata"].erase("generation");
  ReplicaSetPlan plan = Plan(rs, {});
  EXPECT_EQ(plan.status, json::parse(R"({"replicas":0})"));
  rs["status"] = plan.status;
  EXPECT_FALSE(Plan(rs, {}).status_changed);
}

TEST(ReplicaSetSyncTest, ReplicaFailureConditionFollowsTheLastError) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 2);
  ReplicaSetPlan failed = Plan(rs, {}, {.last_error = "pods \"web-1-x\" is forbidden: exceeded quota"});
  const json* cond = FindCondition(failed.status, "ReplicaFailure");
  ASSERT_NE(cond, nullptr);
  EXPECT_EQ((*cond)["reason"], "FailedCreate");
  EXPECT_EQ((*cond)["status"], "True");
  EXPECT_EQ((*cond)["message"], "pods \"web-1-x\" is forbidden: exceeded quota");
  EXPECT_EQ((*cond)["lastTransitionTime"], testing::Ts(T0()));

  rs["status"] = failed.status;
  ReplicaSetPlan again = Plan(rs, {}, {.last_error = "another error"});
  EXPECT_EQ((*FindCondition(again.status, "ReplicaFailure"))["message"], (*cond)["message"]) << "kept as first set";

  ReplicaSetPlan recovered = Plan(rs, {});
  EXPECT_EQ(FindCondition(recovered.status, "ReplicaFailure"), nullptr);
  EXPECT_FALSE(recovered.status.contains("conditions"));

  json surplus = MakeReplicaSet("web-1", "rs-uid", 0);
  ReplicaSetPlan delete_failed =
      Plan(surplus, {PodBuilder("a", "p1").Owner(surplus).Build()}, {.last_error = "boom"});
  EXPECT_EQ((*FindCondition(delete_failed.status, "ReplicaFailure"))["reason"], "FailedDelete");
}

TEST(ReplicaSetSyncTest, CreatesAndDeletesAreCappedPerSync) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 600);
  EXPECT_EQ(Plan(rs, {}).create, 500);
  EXPECT_EQ(Plan(rs, {}, {.burst_replicas = 10}).create, 10);
}

TEST(ReplicaSetSyncTest, InputsAreNotMutated) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 1);
  PodList pods = {PodBuilder("orphan", "p1").Build(), PodBuilder("b", "p2").Owner(rs).Build()};
  json rs_before = rs, p0 = *pods[0], p1 = *pods[1];
  (void)Plan(rs, pods);
  EXPECT_EQ(rs, rs_before);
  EXPECT_EQ(*pods[0], p0);
  EXPECT_EQ(*pods[1], p1);
}

TEST(ReplicaSetSyncTest, InvalidSelectorIsAnError) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 1);
  rs["spec"]["selector"] = json{{"matchExpressions", json::array({{{"key", "a"}, {"operator", "Near"}}})}};
  auto plan = PlanReplicaSet(rs, {}, T0());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalid);
}

TEST(ReplicaSetSyncTest, PodFromTemplate) {
  json rs = MakeReplicaSet("web-1", "rs-uid", 1);
  rs["spec"]["template"]["metadata"]["annotations"] = json{{"note", "x"}};
  rs["spec"]["template"]["metadata"]["name"] = "ignored";
  EXPECT_EQ(PodFromTemplate(rs), json::parse(R"({
      "apiVersion":"v1","kind":"Pod",
      "metadata":{"generateName":"web-1-","namespace":"default","labels":{"app":"web"},
                  "annotations":{"note":"x"},
                  "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1",
                                      "uid":"rs-uid","controller":true,"blockOwnerDeletion":true}]},
      "spec":{"containers":[{"name":"web","image":"nginx:1"}]}})"));
}

TEST(ReplicaSetSyncTest, SlowStartBatchesDouble) {
  EXPECT_EQ(SlowStartBatches(10), (std::vector<int>{1, 2, 4, 3}));
  EXPECT_EQ(SlowStartBatches(1), (std::vector<int>{1}));
  EXPECT_TRUE(SlowStartBatches(0).empty());
}

}  // namespace
}  // namespace capstan::controller::replicaset
