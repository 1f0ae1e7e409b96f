// The Deployment and ReplicaSet logic driving a simulated cluster (rollout_sim_test_util.h):
// the guarantees a user relies on, checked at every intermediate state.
#include <algorithm>
#include <ostream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "controller/deployment/rollout_math.h"
#include "controller/deployment/rollout_sim_test_util.h"
#include "controller/replicaset/object_util.h"

namespace capstan::controller::deployment {
namespace {

using namespace std::chrono_literals;
using replicaset::FindCondition;
using replicaset::Meta;
using testing::BrokenImage;
using testing::Cluster;
using testing::MakeDeployment;

void SetImage(Cluster& c, const std::string& image) {
  c.Update([&](json& d) { d["spec"]["template"]["spec"]["containers"][0]["image"] = image; });
}

std::string ProgressingReason(const Cluster& c) {
  const json* cond = FindCondition(c.deployment()["status"], "Progressing");
  return cond != nullptr ? (*cond)["reason"].get<std::string>() : "";
}

struct RollingCase {
  int replicas;
  json max_surge;
  json max_unavailable;
};

void PrintTo(const RollingCase& c, std::ostream* os) {
  *os << c.replicas << " replicas, maxSurge " << c.max_surge << ", maxUnavailable " << c.max_unavailable;
}

class RollingUpdateTest : public ::testing::TestWithParam<RollingCase> {};

TEST_P(RollingUpdateTest, StaysWithinSurgeAndUnavailabilityAndConverges) {
  const RollingCase& p = GetParam();
  Cluster c(MakeDeployment("web", p.replicas, p.max_surge, p.max_unavailable));
  ASSERT_GT(c.RunUntilConverged(), 0) << "initial rollout";
  const int surge = MaxSurge(c.deployment());
  const int unavailable = MaxUnavailable(c.deployment());

  int states = 0;
  std::set<std::pair<int, int>> seen;  // (total, available) pairs, to show the bounds were approached
  c.observer = [&](const Cluster& cl, const char* phase) {
    ++states;
    int total = cl.TotalPods(), available = cl.AvailablePods();
    seen.insert({total, available});
    EXPECT_LE(total, p.replicas + surge) << "after " << phase << " in state " << states;
    EXPECT_GE(available, p.replicas - unavailable) << "after " << phase << " in state " << states;
    int32_t spec_total = 0;
    for (const auto& [name, rs] : cl.replicasets()) spec_total += replicaset::SpecReplicas(rs);
    EXPECT_LE(spec_total, p.replicas + surge) << "sum of spec.replicas after " << phase;
  };
  SetImage(c, "nginx:2");
  int steps = c.RunUntilConverged();
  ASSERT_GT(steps, 0) << "did not converge";
  EXPECT_GT(states, 3);
  // The rollout used its budget: Pods above replicas (surge) or below it (unavailability).
  int max_total = 0, min_available = p.replicas;
  for (const auto& [total, available] : seen) {
    max_total = std::max(max_total, total);
    min_available = std::min(min_available, available);
  }
  EXPECT_TRUE(max_total > p.replicas || min_available < p.replicas);

  // Converged: every Pod on the new ReplicaSet, old ReplicaSet at 0, history kept.
  const json* fresh = c.NewReplicaSet();
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ((*fresh)["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
  EXPECT_EQ(c.PodsOf(Meta(*fresh, "name"), true), p.replicas);
  ASSERT_EQ(c.replicasets().size(), 2u);
  for (const auto& [name, rs] : c.replicasets()) {
    if (&rs != fresh) {
      EXPECT_EQ(rs["spec"]["replicas"], 0);
    }
  }
  EXPECT_EQ(ProgressingReason(c), "NewReplicaSetAvailable");
  EXPECT_EQ(c.deployment()["status"]["updatedReplicas"], p.replicas);
  EXPECT_EQ(c.deployment()["metadata"]["annotations"][kRevisionAnnotation], "2");
}

INSTANTIATE_TEST_SUITE_P(Combinations, RollingUpdateTest,
                         ::testing::Values(RollingCase{10, "25%", "25%"}, RollingCase{10, 3, 2},
                                           RollingCase{1, "25%", "25%"}, RollingCase{1, 0, 1},
                                           RollingCase{1, 1, 0}, RollingCase{3, 0, 1}, RollingCase{4, "100%", 0},
                                           RollingCase{5, "0%", "50%"}, RollingCase{7, 0, "30%"},
                                           RollingCase{6, "50%", "50%"}, RollingCase{2, 0, 0},
                                           RollingCase{9, 1, 0}));

TEST(RolloutSimulationTest, RecreateNeverRunsOldAndNewPodsAtOnce) {
  json d = MakeDeployment("web", 4);
  d["spec"]["strategy"] = json{{"type", "Recreate"}};
  Cluster c(d);
  ASSERT_GT(c.RunUntilConverged(), 0);
  const std::string old_name = Meta(*c.NewReplicaSet(), "name");
  bool saw_gap = false;
  c.observer = [&](const Cluster& cl, const char* phase) {
    int old_pods = 0, new_pods = 0;
    for (const auto& [name, rs] : cl.replicasets()) {
      (name == old_name ? old_pods : new_pods) += cl.PodsOf(name, true);  // terminating ones too
    }
    EXPECT_FALSE(old_pods > 0 && new_pods > 0) << "after " << phase << ": " << old_pods << " old, " << new_pods << " new";
    saw_gap |= old_pods == 0 && new_pods == 0;
  };
  SetImage(c, "nginx:2");
  ASSERT_GT(c.RunUntilConverged(), 0);
  EXPECT_TRUE(saw_gap) << "Recreate has downtime by design";
  EXPECT_EQ(c.PodsOf(Meta(*c.NewReplicaSet(), "name"), false), 4);
}

TEST(RolloutSimulationTest, PausedDeploymentDoesNotRollUntilResumed) {
  Cluster c(MakeDeployment("web", 3));
  ASSERT_GT(c.RunUntilConverged(), 0);
  c.Update([](json& d) { d["spec"]["paused"] = true; });
  SetImage(c, "nginx:2");
  for (int i = 0; i < 20; ++i) c.Step();
  EXPECT_EQ(c.NewReplicaSet(), nullptr) << "no ReplicaSet for the new template while paused";
  EXPECT_EQ(c.replicasets().size(), 1u);
  EXPECT_EQ(c.AvailablePods(), 3);
  EXPECT_EQ(ProgressingReason(c), "DeploymentPaused");

  // Scaling still works while paused.
  c.Update([](json& d) { d["spec"]["replicas"] = 5; });
  for (int i = 0; i < 3; ++i) c.Step();
  EXPECT_EQ(c.AvailablePods(), 5);
  EXPECT_EQ(c.replicasets().size(), 1u);

  c.Update([](json& d) { d["spec"]["paused"] = false; });
  c.Step();
  EXPECT_NE(c.NewReplicaSet(), nullptr);
  ASSERT_GT(c.RunUntilConverged(), 0);
  EXPECT_EQ(c.AvailablePods(), 5);
}

TEST(RolloutSimulationTest, ScalingMidRolloutIsProportional) {
  // The Kubernetes documentation's example, end to end: 10 replicas, maxSurge 3, maxUnavailable
  // 2, an image that never becomes ready; the rollout stops at old 8 / new 5; scaling to 15 adds
  // 3 to the old ReplicaSet and 2 to the new one.
  Cluster c(MakeDeployment("web", 10, 3, 2));
  ASSERT_GT(c.RunUntilConverged(), 0);
  const std::string old_name = Meta(*c.NewReplicaSet(), "name");
  c.never_ready = BrokenImage("broken");
  SetImage(c, "broken");
  for (int i = 0; i < 10; ++i) c.Step();
  const std::string new_name = Meta(*c.NewReplicaSet(), "name");
  EXPECT_EQ(c.replicasets().at(old_name)["spec"]["replicas"], 8);
  EXPECT_EQ(c.replicasets().at(new_name)["spec"]["replicas"], 5);
  EXPECT_EQ(c.AvailablePods(), 8);

  c.Update([](json& d) { d["spec"]["replicas"] = 15; });
  c.Step();
  EXPECT_EQ(c.replicasets().at(old_name)["spec"]["replicas"], 11);
  EXPECT_EQ(c.replicasets().at(new_name)["spec"]["replicas"], 7);
  EXPECT_EQ(c.replicasets().at(new_name)["metadata"]["annotations"][kMaxReplicasAnnotation], "18");

  // Fixing the image finishes the rollout at the new size.
  c.never_ready = [](const json&) { return false; };
  SetImage(c, "nginx:3");
  ASSERT_GT(c.RunUntilConverged(), 0);
  EXPECT_EQ(c.AvailablePods(), 15);
}

TEST(RolloutSimulationTest, ProgressDeadlineExceededWhenTheRolloutStalls) {
  json d = MakeDeployment("web", 4);
  d["spec"]["progressDeadlineSeconds"] = 60;
  Cluster c(d);
  ASSERT_GT(c.RunUntilConverged(), 0);
  c.never_ready = BrokenImage("broken");
  SetImage(c, "broken");
  std::optional<TimePoint> last_progress;
  std::optional<TimePoint> timed_out_at;
  std::vector<std::string> reasons;
  for (int i = 0; i < 20 && !timed_out_at; ++i) {
    TimePoint before = c.now;
    c.Step();
    std::string reason = ProgressingReason(c);
    if (reasons.empty() || reasons.back() != reason) reasons.push_back(reason);
    const json* cond = FindCondition(c.deployment()["status"], "Progressing");
    if (reason == "ProgressDeadlineExceeded") {
      timed_out_at = before;
      EXPECT_EQ((*cond)["status"], "False");
      EXPECT_FALSE(c.last_plan().requeue_after.has_value());
    } else {
      last_progress = replicaset::ParseTime((*cond)["lastUpdateTime"]);
      ASSERT_TRUE(c.last_plan().requeue_after.has_value()) << "a deadline check is pending";
      EXPECT_LE(*c.last_plan().requeue_after, std::chrono::milliseconds(61s));
    }
  }
  ASSERT_TRUE(timed_out_at.has_value()) << "never timed out";
  EXPECT_GT(*timed_out_at, *last_progress + 60s);
  EXPECT_LE(*timed_out_at, *last_progress + 60s + c.tick);
  EXPECT_EQ(reasons.front(), "NewReplicaSetCreated");
  EXPECT_EQ(reasons.back(), "ProgressDeadlineExceeded");
  // Availability held throughout (25% of 4: one Pod may be unavailable).
  EXPECT_GE(c.AvailablePods(), 3);
  EXPECT_EQ((*FindCondition(c.deployment()["status"], "Available"))["status"], "True");

  // A fix is progress again.
  c.never_ready = [](const json&) { return false; };
  SetImage(c, "nginx:2");
  ASSERT_GT(c.RunUntilConverged(), 0);
  EXPECT_EQ(ProgressingReason(c), "NewReplicaSetAvailable");
}

TEST(RolloutSimulationTest, RevisionsIncrementAndHistoryIsLimited) {
  json d = MakeDeployment("web", 2);
  d["spec"]["revisionHistoryLimit"] = 2;
  Cluster c(d);
  ASSERT_GT(c.RunUntilConverged(), 0);
  for (int v = 2; v <= 5; ++v) {
    SetImage(c, "nginx:" + std::to_string(v));
    ASSERT_GT(c.RunUntilConverged(), 0) << "rollout to v" << v;
    EXPECT_EQ(c.deployment()["metadata"]["annotations"][kRevisionAnnotation], std::to_string(v));
    EXPECT_EQ((*c.NewReplicaSet())["metadata"]["annotations"][kRevisionAnnotation], std::to_string(v));
  }
  std::set<std::string> revisions;
  for (const auto& [name, rs] : c.replicasets()) revisions.insert(rs["metadata"]["annotations"][kRevisionAnnotation]);
  EXPECT_EQ(revisions, (std::set<std::string>{"3", "4", "5"})) << "the new one and two old ones";
}

}  // namespace
}  // namespace capstan::controller::deployment
