#include "controller/replicaset/pod_ranking.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "controller/replicaset/apps_test_util.h"

namespace capstan::controller::replicaset {
namespace {

using namespace std::chrono_literals;
using testing::PodBuilder;
using testing::T0;

std::vector<std::string> Names(const std::vector<std::shared_ptr<const json>>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) out.push_back(Meta(*p, "name"));
  return out;
}

TEST(PodRankingTest, EachRuleInKubernetesOrder) {
  // Every Pod below differs from the next one in exactly the rule that puts it first. Each on its
  // own node, so the co-location rule does not interfere.
  std::vector<std::shared_ptr<const json>> pods = {
      PodBuilder("ready-long-ago", "u1").ReadySince(T0() - 1h, "n1").Build(),
      PodBuilder("unassigned", "u2").Build(),
      PodBuilder("pending-assigned", "u3").Node("n3").Build(),
      PodBuilder("unknown", "u4").Node("n4").Phase("Unknown").Build(),
      PodBuilder("running-not-ready", "u5").NotReady("n5").Build(),
      PodBuilder("ready-recently", "u6").ReadySince(T0() - 1min, "n6").Build(),
      PodBuilder("ready-long-ago-restarting", "u7").ReadySince(T0() - 1h, "n7").Restarts(3).Build(),
      PodBuilder("ready-long-ago-older", "u8").ReadySince(T0() - 1h, "n8").Created(T0() - 2h).Build(),
  };
  // ready-long-ago was created 30 minutes before T0, "older" two hours before: the newer one
  // goes first.
  EXPECT_EQ(Names(RankPodsForDeletion(pods)),
            (std::vector<std::string>{"unassigned", "pending-assigned", "unknown", "running-not-ready",
                                      "ready-recently", "ready-long-ago-restarting", "ready-long-ago",
                                      "ready-long-ago-older"}));
}

TEST(PodRankingTest, NewerPodsGoFirstAmongEquals) {
  std::vector<std::shared_ptr<const json>> pods = {
      PodBuilder("old", "u1").Created(T0() - 3h).Build(),
      PodBuilder("new", "u2").Created(T0() - 1min).Build(),
      PodBuilder("middle", "u3").Created(T0() - 1h).Build(),
  };
  EXPECT_EQ(Names(RankPodsForDeletion(pods)), (std::vector<std::string>{"new", "middle", "old"}));
}

TEST(PodRankingTest, LowerDeletionCostFirst) {
  std::vector<std::shared_ptr<const json>> pods = {
      PodBuilder("default", "u1").ReadySince(T0() - 1h, "n1").Build(),
      PodBuilder("cheap", "u2").ReadySince(T0() - 1h, "n2").Annotate("controller.kubernetes.io/pod-deletion-cost", "-10").Build(),
      PodBuilder("precious", "u3").ReadySince(T0() - 1min, "n3").Annotate("controller.kubernetes.io/pod-deletion-cost", "100").Build(),
  };
  EXPECT_EQ(Names(RankPodsForDeletion(pods)), (std::vector<std::string>{"cheap", "default", "precious"}));
}

TEST(PodRankingTest, CrowdedNodesGiveUpPodsFirst) {
  std::vector<std::shared_ptr<const json>> pods = {
      PodBuilder("alone", "u1").ReadySince(T0() - 1h, "n1").Created(T0() - 10min).Build(),
      PodBuilder("crowded-a", "u2").ReadySince(T0() - 1h, "n2").Build(),
      PodBuilder("crowded-b", "u3").ReadySince(T0() - 1h, "n2").Build(),
  };
  auto ranked = Names(RankPodsForDeletion(pods));
  EXPECT_EQ(ranked.back(), "alone");
}

TEST(PodRankingTest, DoesNotMutateOrDropPods) {
  auto a = PodBuilder("a", "u1").Build();
  auto b = PodBuilder("b", "u2").ReadySince(T0()).Build();
  json a_before = *a;
  auto ranked = RankPodsForDeletion({b, a});
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].get(), a.get());  // same object, not a copy
  EXPECT_EQ(*a, a_before);
}

}  // namespace
}  // namespace capstan::controller::replicaset
