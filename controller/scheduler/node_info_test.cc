#include "controller/scheduler/node_info.h"

#include <gtest/gtest.h>

#include "controller/scheduler/test_util.h"

namespace capstan::controller::scheduler {
namespace {

using testing::MakeNodeInfo;
using testing::NodeJson;
using testing::Owned;
using testing::PodJson;
using testing::Ptr;

constexpr int64_t kGi = 1024LL * 1024 * 1024;

std::vector<std::string> TaintKeys(const NodeInfo& n) {
  std::vector<std::string> keys;
  for (const Taint& t : n.taints()) keys.push_back(t.key + ":" + t.effect);
  return keys;
}

TEST(NodeInfoTest, ParsesNode) {
  json node = NodeJson("n1", "3500m", "8Gi", "20");
  node["metadata"]["labels"]["disk"] = "ssd";
  node["spec"]["taints"] = json::array({{{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}}});
  NodeInfo n = MakeNodeInfo(node);
  EXPECT_TRUE(n.has_node());
  EXPECT_EQ(n.name(), "n1");
  ASSERT_NE(n.labels(), nullptr);
  EXPECT_EQ((*n.labels())["disk"], "ssd");
  EXPECT_FALSE(n.unschedulable());
  EXPECT_EQ(n.allocatable().milli_cpu, 3500);
  EXPECT_EQ(n.allocatable().memory_bytes, 8 * kGi);
  EXPECT_EQ(n.allocatable().pods, 20);
  ASSERT_EQ(n.taints().size(), 1u);
  EXPECT_EQ(n.taints()[0].value, "gpu");
  EXPECT_EQ(n.requested(), Resources());
}

TEST(NodeInfoTest, AllocatableFallsBackToCapacityAndDefaultMaxPods) {
  json node = NodeJson("n1");
  node["status"].erase("allocatable");
  node["status"]["capacity"] = {{"cpu", "2"}, {"memory", "1Gi"}};
  NodeInfo n = MakeNodeInfo(node);
  EXPECT_EQ(n.allocatable().milli_cpu, 2000);
  EXPECT_EQ(n.allocatable().pods, kDefaultMaxPods);
  node["status"].erase("capacity");
  EXPECT_EQ(MakeNodeInfo(node).allocatable().milli_cpu, 0);
}

TEST(NodeInfoTest, ConditionsBecomeTaints) {
  json node = NodeJson("n1");
  EXPECT_TRUE(MakeNodeInfo(node).taints().empty());
  node["status"]["conditions"][0]["status"] = "False";
  EXPECT_EQ(TaintKeys(MakeNodeInfo(node)), std::vector<std::string>{"node.kubernetes.io/not-ready:NoSchedule"});
  node["status"]["conditions"][0]["status"] = "Unknown";
  EXPECT_EQ(TaintKeys(MakeNodeInfo(node)), std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule"});
  node["status"]["conditions"] = json::array({{{"type", "MemoryPressure"}, {"status", "True"}},
                                              {{"type", "DiskPressure"}, {"status", "False"}}});
  EXPECT_EQ(TaintKeys(MakeNodeInfo(node)),
            (std::vector<std::string>{"node.kubernetes.io/memory-pressure:NoSchedule",
                                      "node.kubernetes.io/not-ready:NoSchedule"}))
      << "a node that never reported Ready is not ready";
  // A lifecycle controller that already tainted the node is not doubled; the spec order is kept.
  node["status"]["conditions"] = json::array({{{"type", "Ready"}, {"status", "False"}}});
  node["spec"]["taints"] = json::array({{{"key", "node.kubernetes.io/not-ready"}, {"effect", "NoExecute"}},
                                        {{"key", "node.kubernetes.io/not-ready"}, {"effect", "NoSchedule"}}});
  EXPECT_EQ(TaintKeys(MakeNodeInfo(node)), (std::vector<std::string>{"node.kubernetes.io/not-ready:NoExecute",
                                                                     "node.kubernetes.io/not-ready:NoSchedule"}));
}

TEST(NodeInfoTest, AddAndRemovePodKeepTotals) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1"));
  n.AddPod(Ptr(Owned(PodJson("a", "500m", "1Gi"), "rs-1")));
  n.AddPod(Ptr(Owned(PodJson("b", "250m"), "rs-1")));
  n.AddPod(Ptr(PodJson("c", "", "512Mi")));
  EXPECT_EQ(n.pods().size(), 3u);
  EXPECT_EQ(n.requested().milli_cpu, 750);
  EXPECT_EQ(n.requested().memory_bytes, kGi + kGi / 2);
  EXPECT_EQ(n.requested().pods, 3);
  // Non-zero: b has no memory request (200Mi), c no cpu request (100m).
  EXPECT_EQ(n.non_zero_requested().milli_cpu, 850);
  EXPECT_EQ(n.non_zero_requested().memory_bytes, kGi + kGi / 2 + kDefaultMemoryRequest);
  EXPECT_EQ(n.OwnerCount("rs-1"), 2);
  EXPECT_EQ(n.OwnerCount(""), 0);
  EXPECT_TRUE(n.HasPod("uid-b"));

  EXPECT_TRUE(n.RemovePod("uid-a"));
  EXPECT_FALSE(n.RemovePod("uid-a")) << "removing twice is a no-op";
  EXPECT_EQ(n.requested().milli_cpu, 250);
  EXPECT_EQ(n.requested().memory_bytes, kGi / 2);
  EXPECT_EQ(n.requested().pods, 2);
  EXPECT_EQ(n.OwnerCount("rs-1"), 1);
  EXPECT_TRUE(n.RemovePod("uid-b"));
  EXPECT_TRUE(n.RemovePod("uid-c"));
  EXPECT_EQ(n.requested(), Resources());
  EXPECT_EQ(n.non_zero_requested(), Resources());
  EXPECT_EQ(n.OwnerCount("rs-1"), 0);
}

// The scheduler assumes a pod right after binding it; the watch then delivers the bound pod.
// Adding it again must replace, not double count — also when its requests changed meanwhile.
TEST(NodeInfoTest, AddingTheSamePodReplacesIt) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1"));
  json pod = Owned(PodJson("a", "500m", "1Gi"), "rs-1");
  PodInfo info = MakePodInfo(pod);
  n.AddPod(Ptr(pod), info);
  pod["spec"]["nodeName"] = "n1";
  pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1";
  n.AddPod(Ptr(pod));
  EXPECT_EQ(n.pods().size(), 1u);
  EXPECT_EQ(n.requested().milli_cpu, 1000);
  EXPECT_EQ(n.requested().pods, 1);
  EXPECT_EQ(n.OwnerCount("rs-1"), 1);
  EXPECT_EQ(n.pods()[0].pod->at("spec").at("nodeName"), "n1");
}

TEST(NodeInfoTest, ExtendedResourcesAreTracked) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1"));
  json pod = PodJson("gpu");
  pod["spec"]["containers"][0]["resources"]["limits"] = {{"example.com/gpu", "2"}};
  n.AddPod(Ptr(pod));
  EXPECT_EQ(n.requested().Scalar("example.com/gpu"), 2);
  n.RemovePod("uid-gpu");
  EXPECT_TRUE(n.requested().scalars.empty());
}

TEST(NodeInfoTest, SetNodeKeepsPodsAndPodsMayComeFirst) {
  NodeInfo n;
  EXPECT_FALSE(n.has_node());
  EXPECT_TRUE(n.node().is_object());
  n.AddPod(Ptr(PodJson("a", "1")));
  n.SetNode(Ptr(NodeJson("n1", "2")));
  EXPECT_EQ(n.requested().milli_cpu, 1000);
  json updated = NodeJson("n1", "8");
  updated["spec"]["unschedulable"] = true;
  n.SetNode(Ptr(updated));
  EXPECT_TRUE(n.unschedulable());
  EXPECT_EQ(n.allocatable().milli_cpu, 8000);
  EXPECT_EQ(n.pods().size(), 1u);
  // A copy shares the node object, so its cached label pointer stays valid.
  NodeInfo copy = n;
  n.SetNode(nullptr);
  EXPECT_EQ(copy.labels()->at("kubernetes.io/hostname"), "n1");
}

}  // namespace
}  // namespace capstan::controller::scheduler
