#include "controller/deployment/rollout_math.h"

#include <gtest/gtest.h>

#include "controller/replicaset/apps_test_util.h"

namespace capstan::controller::deployment {
namespace {

using namespace std::chrono_literals;
using testing::MakeDeployment;
using testing::T0;

struct FencepostCase {
  json surge;
  json unavailable;
  int32_t desired;
  int32_t want_surge;
  int32_t want_unavailable;
};

TEST(RolloutMathTest, ResolveFencepostsRoundsAsKubernetes) {
  const FencepostCase cases[] = {
      {"25%", "25%", 10, 3, 2},     // surge rounds up (2.5 -> 3), unavailable down (2.5 -> 2)
      {"25%", "25%", 1, 1, 0},      // 0.25: surge 1, unavailable 0
      {"25%", "25%", 4, 1, 1},
      {0, 0, 10, 0, 1},             // both zero: one may be unavailable
      {"0%", "0%", 10, 0, 1},
      {"100%", "100%", 10, 10, 10},
      {"100%", 0, 3, 3, 0},
      {3, 2, 10, 3, 2},             // ints are taken as they are
      {0, 1, 1, 0, 1},
      {"50%", "50%", 3, 2, 1},
      {"30%", "30%", 7, 3, 2},      // 2.1: up 3, down 2
      {"25%", "25%", 0, 0, 1},      // fenceposts of nothing (MaxUnavailable then says 0)
      {nullptr, nullptr, 5, 0, 1},  // absent reads as 0
  };
  for (const auto& c : cases) {
    Result<Fenceposts> f = ResolveFenceposts(c.surge, c.unavailable, c.desired);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->max_surge, c.want_surge) << c.surge << "/" << c.unavailable << " of " << c.desired;
    EXPECT_EQ(f->max_unavailable, c.want_unavailable) << c.surge << "/" << c.unavailable << " of " << c.desired;
  }
}

TEST(RolloutMathTest, ScaledValueRejectsNonPercentStrings) {
  EXPECT_FALSE(ScaledValueFromIntOrPercent("5", 10, true).ok());
  EXPECT_FALSE(ScaledValueFromIntOrPercent("x%", 10, true).ok());
  EXPECT_FALSE(ScaledValueFromIntOrPercent(true, 10, true).ok());
  EXPECT_EQ(*ScaledValueFromIntOrPercent("1%", 150, true), 2);
  EXPECT_EQ(*ScaledValueFromIntOrPercent("1%", 150, false), 1);
}

TEST(RolloutMathTest, DeploymentLevelValues) {
  json d = MakeDeployment("web", 10);
  EXPECT_EQ(MaxSurge(d), 3);
  EXPECT_EQ(MaxUnavailable(d), 2);
  d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 50;
  EXPECT_EQ(MaxUnavailable(d), 10) << "capped at replicas";
  d["spec"]["replicas"] = 0;
  EXPECT_EQ(MaxUnavailable(d), 0);
  json recreate = MakeDeployment("web", 10);
  recreate["spec"]["strategy"] = json{{"type", "Recreate"}};
  EXPECT_EQ(MaxSurge(recreate), 0);
  EXPECT_EQ(MaxUnavailable(recreate), 0);
  EXPECT_FALSE(RolloutParams::From(recreate).rolling);
}

RsState Rs(const std::string& name, int32_t replicas, int32_t available, int age_minutes) {
  RsState s;
  s.name = name;
  s.replicas = replicas;
  s.status_replicas = replicas;
  s.ready = available;
  s.available = available;
  s.created = T0() - std::chrono::minutes(age_minutes);
  return s;
}

RolloutParams Params(int32_t replicas, int32_t surge, int32_t unavailable) {
  RolloutParams p;
  p.replicas = replicas;
  p.max_surge = surge;
  p.max_unavailable = unavailable;
  p.status_replicas = replicas;
  return p;
}

TEST(RolloutMathTest, NewRSNewReplicasStaysUnderTheSurge) {
  RolloutParams p = Params(10, 3, 2);
  RsState old = Rs("old", 10, 10, 60), fresh = Rs("new", 0, 0, 1);
  EXPECT_EQ(NewRSNewReplicas(p, {&old, &fresh}, fresh), 3);
  old.replicas = 8;
  fresh.replicas = 3;
  EXPECT_EQ(NewRSNewReplicas(p, {&old, &fresh}, fresh), 3)
      << "the old ReplicaSet's 10 Pods still exist (status.replicas): no room yet";
  old.status_replicas = 8;
  EXPECT_EQ(NewRSNewReplicas(p, {&old, &fresh}, fresh), 5);
  old.replicas = 0;
  old.status_replicas = 0;
  fresh.replicas = 9;
  EXPECT_EQ(NewRSNewReplicas(p, {&old, &fresh}, fresh), 10) << "never beyond replicas";
  p.rolling = false;
  EXPECT_EQ(NewRSNewReplicas(p, {&old, &fresh}, fresh), 10);
}

TEST(RolloutMathTest, ReconcileOldReplicaSetsKeepsMinimumAvailability) {
  // rolling.go's example: 10 replicas, maxSurge 3, maxUnavailable 2; old 8, new 5, and the new
  // Pods crash-loop. A node failure takes one old Pod: 13 - 8 - 5 = 0, nothing is scaled down.
  RolloutParams p = Params(10, 3, 2);
  RsState old = Rs("old", 8, 7, 60), fresh = Rs("new", 5, 0, 1);
  EXPECT_EQ(ReconcileOldReplicaSets(p, {&old}, &fresh), 0);
  EXPECT_EQ(old.replicas, 8);

  // Healthy new Pods: old shrinks by what is available above the minimum (3 + 8 - 8).
  fresh.available = 5;
  old.available = 8;
  EXPECT_EQ(ReconcileOldReplicaSets(p, {&old}, &fresh), 5);
  EXPECT_EQ(old.replicas, 3);
}

// The ReplicaSet controller has not caught up: the old ReplicaSet was told to shrink to 4 but
// still reports 7 available. Only the 4 it keeps count, so availability never drops below
// replicas - maxUnavailable when it does catch up (found by the e2e rolling-update test).
TEST(RolloutMathTest, ScaleDownCountsOnlyAvailabilityAReplicaSetKeeps) {
  RolloutParams p = Params(10, 3, 2);
  RsState old = Rs("old", 4, 7, 60), fresh = Rs("new", 6, 5, 1);
  old.status_replicas = 7;
  const int32_t removed = ScaleDownOldReplicaSetsForRollingUpdate(p, {&old, &fresh}, {&old});
  EXPECT_EQ(removed, 1) << "4 + 5 available - minAvailable 8";
  EXPECT_EQ(old.replicas, 3);
}

TEST(RolloutMathTest, UnhealthyOldReplicasGoFirstOldestFirst) {
  RolloutParams p = Params(10, 3, 2);
  RsState oldest = Rs("oldest", 3, 1, 90), old = Rs("old", 5, 5, 60), fresh = Rs("new", 5, 5, 1);
  // all = 13, min 8, new unavailable 0: up to 5 may go. 2 unhealthy from oldest, then available
  // (1 + 5 + 5 = 11) - 8 = 3 more, oldest first.
  EXPECT_EQ(ReconcileOldReplicaSets(p, {&old, &oldest}, &fresh), 5);
  EXPECT_EQ(oldest.replicas, 0);
  EXPECT_EQ(old.replicas, 3);
  EXPECT_EQ(CleanupUnhealthyReplicas({&old}, 10), 0) << "nothing unhealthy";
}

TEST(RolloutMathTest, ProportionalScalingMatchesTheDocumentedExample) {
  // Kubernetes docs, "Proportional scaling": 10 replicas, maxSurge 3, maxUnavailable 2, a rollout
  // stuck at old 8 / new 5; scaling to 15 adds 3 to the old and 2 to the new ReplicaSet.
  RolloutParams p = Params(15, 3, 2);
  RsState old = Rs("old", 8, 8, 60), fresh = Rs("new", 5, 0, 1);
  old.max_replicas_annotation = fresh.max_replicas_annotation = 13;
  ScaleProportionally(p, {&fresh, &old});
  EXPECT_EQ(old.replicas, 11);
  EXPECT_EQ(fresh.replicas, 7);

  // And back down to 10: 18 -> 13, largest (then oldest) first.
  RolloutParams down = Params(10, 3, 2);
  old.max_replicas_annotation = fresh.max_replicas_annotation = 18;
  ScaleProportionally(down, {&old, &fresh});
  EXPECT_EQ(old.replicas, 8);
  EXPECT_EQ(fresh.replicas, 5);
}

TEST(RolloutMathTest, ProportionalLeftoverGoesToTheLargestNewest) {
  RolloutParams p = Params(4, 0, 1);  // allowed 4
  RsState a = Rs("a", 1, 1, 60), b = Rs("b", 1, 1, 30), c = Rs("c", 1, 1, 10);
  a.max_replicas_annotation = b.max_replicas_annotation = c.max_replicas_annotation = 3;
  ScaleProportionally(p, {&a, &b, &c});
  // Each: 1 * 4 / 3 = 1.33 -> 1, +0; the leftover 1 goes to the newest of the equally large.
  EXPECT_EQ(a.replicas, 1);
  EXPECT_EQ(b.replicas, 1);
  EXPECT_EQ(c.replicas, 2);
}

TEST(RolloutMathTest, ScalingToZeroEmptiesEveryReplicaSet) {
  RolloutParams p = Params(0, 0, 0);
  RsState a = Rs("a", 4, 4, 60), b = Rs("b", 2, 0, 30);
  ScaleProportionally(p, {&a, &b});
  EXPECT_EQ(a.replicas, 0);
  EXPECT_EQ(b.replicas, 0);
}

TEST(RolloutMathTest, ProportionWithoutAnnotationUsesStatusReplicas) {
  RolloutParams p = Params(20, 0, 5);
  p.status_replicas = 10;
  RsState a = Rs("a", 10, 10, 60);
  EXPECT_EQ(GetProportion(p, a, 10, 0), 10);
  p.status_replicas = 0;
  EXPECT_EQ(GetProportion(p, a, 10, 0), 0) << "no basis for a proportion (Kubernetes divides by zero)";
}

}  // namespace
}  // namespace capstan::controller::deployment
