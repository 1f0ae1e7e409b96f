#include "controller/scheduler/scheduling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "controller/scheduler/test_util.h"

namespace capstan::controller::scheduler {
namespace {

using testing::MakeNodeInfo;
using testing::NodeJson;
using testing::Owned;
using testing::PodJson;
using testing::Ptr;

std::vector<const NodeInfo*> All(const std::vector<NodeInfo>& nodes) {
  std::vector<const NodeInfo*> out;
  for (const NodeInfo& n : nodes) out.push_back(&n);
  return out;
}

NodeInfo* Find(std::vector<NodeInfo>& nodes, const std::string& name) {
  for (NodeInfo& n : nodes) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

// Schedules `pod` and, like the controller after a successful binding, assumes it on the node.
std::string ScheduleAndAssume(const json& pod, std::vector<NodeInfo>& nodes) {
  PodInfo info = MakePodInfo(pod);
  Decision d = Schedule(info, All(nodes));
  EXPECT_FALSE(d.node.empty()) << d.message;
  if (NodeInfo* n = Find(nodes, d.node)) n->AddPod(Ptr(pod), info);
  return d.node;
}

TEST(ScheduleTest, SpreadsReplicasOfOneOwner) {
  std::vector<NodeInfo> nodes;
  for (const char* name : {"n1", "n2", "n3"}) nodes.push_back(MakeNodeInfo(NodeJson(name, "8", "16Gi")));
  for (int i = 0; i < 10; ++i) {
    ScheduleAndAssume(Owned(PodJson("web-" + std::to_string(i), "100m", "128Mi"), "rs-web"), nodes);
  }
  std::vector<int64_t> counts;
  for (const NodeInfo& n : nodes) counts.push_back(n.OwnerCount("rs-web"));
  std::sort(counts.rbegin(), counts.rend());
  EXPECT_EQ(counts, (std::vector<int64_t>{4, 3, 3}));
}

// Spreading is per owner: a second ReplicaSet spreads on its own even over a loaded node.
TEST(ScheduleTest, SpreadIsPerOwner) {
  std::vector<NodeInfo> nodes;
  for (const char* name : {"n1", "n2"}) nodes.push_back(MakeNodeInfo(NodeJson(name, "8", "16Gi")));
  for (int i = 0; i < 4; ++i) ScheduleAndAssume(Owned(PodJson("a-" + std::to_string(i)), "rs-a"), nodes);
  for (int i = 0; i < 4; ++i) ScheduleAndAssume(Owned(PodJson("b-" + std::to_string(i)), "rs-b"), nodes);
  for (const NodeInfo& n : nodes) {
    EXPECT_EQ(n.OwnerCount("rs-a"), 2) << n.name();
    EXPECT_EQ(n.OwnerCount("rs-b"), 2) << n.name();
  }
}

TEST(ScheduleTest, LeastAllocatedPrefersTheEmptierNode) {
  std::vector<NodeInfo> nodes = {MakeNodeInfo(NodeJson("a-busy", "4", "8Gi")),
                                 MakeNodeInfo(NodeJson("b-idle", "4", "8Gi"))};
  nodes[0].AddPod(Ptr(PodJson("existing", "2", "4Gi")));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Schedule(PodJson("p" + std::to_string(i), "500m", "512Mi"), All(nodes)).node, "b-idle");
  }
  // A bigger node with the same load is emptier in relative terms.
  std::vector<NodeInfo> sized = {MakeNodeInfo(NodeJson("small", "2", "4Gi")),
                                 MakeNodeInfo(NodeJson("large", "16", "32Gi"))};
  EXPECT_EQ(Schedule(PodJson("p", "1", "1Gi"), All(sized)).node, "large");
}

TEST(ScheduleTest, FiltersBeforeScoring) {
  std::vector<NodeInfo> nodes = {MakeNodeInfo(NodeJson("tiny", "1", "1Gi")),
                                 MakeNodeInfo(NodeJson("big", "64", "256Gi"))};
  nodes[1].AddPod(Ptr(PodJson("hog", "63500m")));
  // Unfiltered, "big" would score higher ((0 + 99) / 2 against tiny's (0 + 50) / 2), but it lacks
  // the cpu; the only feasible node wins whatever its score.
  Decision d = Schedule(PodJson("p", "1", "512Mi"), All(nodes));
  EXPECT_EQ(d.node, "tiny");
  EXPECT_EQ(d.message, "");
}

TEST(ScheduleTest, AggregatedFailureMessage) {
  json labelled = NodeJson("n1", "1", "1Gi");
  labelled["metadata"]["labels"]["disk"] = "ssd";
  std::vector<NodeInfo> nodes = {MakeNodeInfo(labelled), MakeNodeInfo(NodeJson("n2")),
                                 MakeNodeInfo(NodeJson("n3"))};
  json pod = PodJson("p", "2", "512Mi");
  pod["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  Decision d = Schedule(pod, All(nodes));
  EXPECT_EQ(d.node, "");
  EXPECT_EQ(d.message,
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
}

TEST(ScheduleTest, EveryReasonOfANodeIsCounted) {
  json cordoned = NodeJson("c");
  cordoned["spec"]["unschedulable"] = true;
  json not_ready = NodeJson("d");
  not_ready["status"]["conditions"][0]["status"] = "False";
  json tainted = NodeJson("e");
  tainted["spec"]["taints"] = json::array({{{"key", "dedicated"}, {"value", "db"}, {"effect", "NoSchedule"}}});
  std::vector<NodeInfo> nodes = {MakeNodeInfo(NodeJson("a", "1", "1Gi", "1")), MakeNodeInfo(NodeJson("b", "1", "1Gi")),
                                 MakeNodeInfo(cordoned), MakeNodeInfo(not_ready), MakeNodeInfo(tainted)};
  nodes[0].AddPod(Ptr(PodJson("x")));
  Decision d = Schedule(PodJson("p", "2", "2Gi"), All(nodes));
  EXPECT_EQ(d.node, "");
  EXPECT_EQ(d.message,
            "0/5 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint {dedicated: db}, "
            "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable, "
            "2 Insufficient cpu, 2 Insufficient memory.");
}

TEST(FailureMessageTest, SortedAsStringsLikeKubernetes) {
  EXPECT_EQ(FailureMessage(12, {{"Insufficient cpu", 10}, {"Insufficient memory", 2}}),
            "0/12 nodes are available: 10 Insufficient cpu, 2 Insufficient memory.");
  EXPECT_EQ(FailureMessage(12, {{"b", 2}, {"a", 3}}), "0/12 nodes are available: 2 b, 3 a.");
  EXPECT_EQ(FailureMessage(0, {}), "0/0 nodes are available:");
}

TEST(ScheduleTest, NoNodes) {
  EXPECT_EQ(Schedule(PodJson("p"), {}).message, "no nodes available to schedule pods");
  NodeInfo pods_only;  // pods arrived before their Node: not a candidate, not counted
  pods_only.AddPod(Ptr(PodJson("x")));
  Decision d = Schedule(PodJson("p"), {&pods_only, nullptr});
  EXPECT_EQ(d.node, "");
  EXPECT_EQ(d.message, kNoNodesAvailable);
  NodeInfo real = MakeNodeInfo(NodeJson("n1"));
  EXPECT_EQ(Schedule(PodJson("p"), {&pods_only, &real}).node, "n1");
}

TEST(ScheduleTest, TieBreakIsStableAndSpreadsDifferentPods) {
  std::vector<NodeInfo> nodes;
  for (const char* name : {"n1", "n2", "n3", "n4"}) nodes.push_back(MakeNodeInfo(NodeJson(name)));
  std::vector<const NodeInfo*> forward = All(nodes);
  std::vector<const NodeInfo*> backward(forward.rbegin(), forward.rend());
  std::set<std::string> chosen;
  for (int i = 0; i < 40; ++i) {
    json pod = PodJson("p" + std::to_string(i));
    std::string node = Schedule(pod, forward).node;
    EXPECT_EQ(Schedule(pod, forward).node, node) << "same pod, same node";
    EXPECT_EQ(Schedule(pod, backward).node, node) << "independent of the nodes' order";
    chosen.insert(node);
  }
  EXPECT_GT(chosen.size(), 1u) << "equally good nodes share the load";
}

TEST(ScheduleTest, PreferredAffinityAndPreferNoSchedule) {
  json zone_b = NodeJson("n1");
  zone_b["metadata"]["labels"]["zone"] = "b";
  json soft = NodeJson("n2");
  soft["spec"]["taints"] = json::array({{{"key", "spot"}, {"effect", "PreferNoSchedule"}}});
  std::vector<NodeInfo> nodes = {MakeNodeInfo(zone_b), MakeNodeInfo(soft), MakeNodeInfo(NodeJson("n3"))};
  json pod = PodJson("p");
  pod["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = json::array(
      {{{"weight", 1}, {"preference", {{"matchExpressions", json::array({{{"key", "zone"}, {"operator", "In"},
                                                                         {"values", {"b"}}}})}}}}});
  EXPECT_EQ(Schedule(pod, All(nodes)).node, "n1");
  // Without the preference, n2's soft taint leaves n1 and n3 tied; never n2.
  for (int i = 0; i < 10; ++i) EXPECT_NE(Schedule(PodJson("q" + std::to_string(i)), All(nodes)).node, "n2");
}

TEST(NeedsSchedulingTest, Cases) {
  json pod = PodJson("p");
  EXPECT_TRUE(NeedsScheduling(pod));
  EXPECT_FALSE(NeedsScheduling(pod, "other-scheduler"));
  json bound = pod;
  bound["spec"]["nodeName"] = "n1";
  EXPECT_FALSE(NeedsScheduling(bound));
  json other = pod;
  other["spec"]["schedulerName"] = "other-scheduler";
  EXPECT_FALSE(NeedsScheduling(other));
  EXPECT_TRUE(NeedsScheduling(other, "other-scheduler"));
  json unnamed = pod;
  unnamed["spec"].erase("schedulerName");
  EXPECT_TRUE(NeedsScheduling(unnamed));
  json gated = pod;
  gated["spec"]["schedulingGates"] = json::array({{{"name", "wait"}}});
  EXPECT_FALSE(NeedsScheduling(gated));
  json deleting = pod;
  deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  EXPECT_FALSE(NeedsScheduling(deleting));
  json done = pod;
  done["status"]["phase"] = "Succeeded";
  EXPECT_FALSE(NeedsScheduling(done));
  EXPECT_TRUE(IsTerminal(done));
}

TEST(SchedulingTest, MessagesAndHash) {
  EXPECT_EQ(ScheduledMessage(PodJson("web-1"), "n1"), "Successfully assigned default/web-1 to n1");
  EXPECT_EQ(Fnv1a64(""), 14695981039346656037ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

}  // namespace
}  // namespace capstan::controller::scheduler
