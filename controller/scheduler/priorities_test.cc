#include "controller/scheduler/priorities.h"

#include <gtest/gtest.h>

#include "controller/scheduler/test_util.h"

namespace capstan::controller::scheduler {
namespace {

using testing::MakeNodeInfo;
using testing::NodeJson;
using testing::Owned;
using testing::PodJson;
using testing::Ptr;

using Scores = std::vector<int64_t>;

TEST(LeastAllocatedScoreTest, MeanFreeShareAfterPlacing) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1", "4", "8Gi"));
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p", "1", "2Gi")), n), 75);
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p", "2", "2Gi")), n), (50 + 75) / 2);
  n.AddPod(Ptr(PodJson("a", "3", "6Gi")));
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p", "1", "2Gi")), n), 0);
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p", "2", "2Gi")), n), 0) << "overflowing cpu scores 0";
}

TEST(LeastAllocatedScoreTest, BestEffortPodsCountWithDefaults) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1", "1", "1000Mi"));
  // 100m of 1000m and 200Mi of 1000Mi used by the pod itself: (90 + 80) / 2.
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p")), n), 85);
  n.AddPod(Ptr(PodJson("a")));
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p")), n), (80 + 60) / 2);
}

TEST(LeastAllocatedScoreTest, UnreportedResourcesAreLeftOut) {
  json node = NodeJson("n1");
  node["status"]["allocatable"] = {{"cpu", "1"}};
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p", "500m", "1Gi")), MakeNodeInfo(node)), 50);
  node["status"]["allocatable"] = json::object();
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(PodJson("p", "500m")), MakeNodeInfo(node)), 0);
}

TEST(NormalizeScoresTest, KubernetesDefaultNormalizeScore) {
  Scores s = {0, 1, 2, 4};
  NormalizeScores(&s, false);
  EXPECT_EQ(s, (Scores{0, 25, 50, 100}));
  s = {0, 1, 3};
  NormalizeScores(&s, true);
  EXPECT_EQ(s, (Scores{100, 67, 0}));
  s = {0, 0};
  NormalizeScores(&s, true);
  EXPECT_EQ(s, (Scores{100, 100}));
  s = {0, 0};
  NormalizeScores(&s, false);
  EXPECT_EQ(s, (Scores{0, 0}));
}

TEST(RawScoresTest, OwnerTaintsAndPreferredAffinity) {
  json node = NodeJson("n1");
  node["metadata"]["labels"]["zone"] = "a";
  node["spec"]["taints"] = json::array({{{"key", "soft"}, {"effect", "PreferNoSchedule"}},
                                        {{"key", "soft2"}, {"effect", "PreferNoSchedule"}},
                                        {{"key", "hard"}, {"effect", "NoSchedule"}}});
  NodeInfo n = MakeNodeInfo(node);
  n.AddPod(Ptr(Owned(PodJson("a"), "rs-1")));
  n.AddPod(Ptr(Owned(PodJson("b"), "rs-1")));
  n.AddPod(Ptr(Owned(PodJson("c"), "rs-2")));

  json pod = Owned(PodJson("p"), "rs-1");
  EXPECT_EQ(SameOwnerPodCount(MakePodInfo(pod), n), 2);
  EXPECT_EQ(SameOwnerPodCount(MakePodInfo(PodJson("p")), n), 0);
  EXPECT_EQ(IntolerablePreferNoScheduleCount(MakePodInfo(pod), n), 2);
  pod["spec"]["tolerations"] = json::array({{{"key", "soft"}, {"operator", "Exists"}, {"effect", "PreferNoSchedule"}},
                                            {{"key", "soft2"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}});
  EXPECT_EQ(IntolerablePreferNoScheduleCount(MakePodInfo(pod), n), 1) << "effect must match";

  pod["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = json::array(
      {{{"weight", 10}, {"preference", {{"matchExpressions", json::array({{{"key", "zone"}, {"operator", "In"},
                                                                          {"values", {"a"}}}})}}}},
       {{"weight", 5}, {"preference", {{"matchExpressions", json::array({{{"key", "zone"}, {"operator", "Exists"}}})}}}},
       {{"weight", 50}, {"preference", {{"matchExpressions", json::array({{{"key", "zone"}, {"operator", "In"},
                                                                          {"values", {"b"}}}})}}}}});
  EXPECT_EQ(PreferredAffinityWeight(MakePodInfo(pod), n), 15);
}

TEST(ScoreNodesTest, WeightedSum) {
  NodeInfo empty = MakeNodeInfo(NodeJson("empty", "4", "8Gi"));
  NodeInfo busy = MakeNodeInfo(NodeJson("busy", "4", "8Gi"));
  busy.AddPod(Ptr(Owned(PodJson("a", "2", "4Gi"), "rs-1")));
  PodInfo pod = MakePodInfo(Owned(PodJson("p", "1", "2Gi"), "rs-1"));
  // empty: least 75, spread 100 (0 of max 1), taints 100: 75 + 200 + 300.
  // busy:  least 25, spread 0,                taints 100: 25 + 0 + 300.
  EXPECT_EQ(ScoreNodes(pod, {&empty, &busy}), (Scores{575, 325}));
  ScoreWeights only_least{1, 0, 0, 0};
  EXPECT_EQ(ScoreNodes(pod, {&empty, &busy}, only_least), (Scores{75, 25}));
}

}  // namespace
}  // namespace capstan::controller::scheduler
