#include "controller/scheduler/predicates.h"

#include <gtest/gtest.h>

#include "controller/scheduler/test_util.h"

namespace capstan::controller::scheduler {
namespace {

using testing::MakeNodeInfo;
using testing::NodeJson;
using testing::PodJson;
using testing::Ptr;

using Reasons = std::vector<std::string>;

json WithTaints(json node, json taints) {
  node["spec"]["taints"] = std::move(taints);
  return node;
}

json WithTolerations(json pod, json tolerations) {
  pod["spec"]["tolerations"] = std::move(tolerations);
  return pod;
}

json WithLabels(json node, json labels) {
  for (auto it = labels.begin(); it != labels.end(); ++it) node["metadata"]["labels"][it.key()] = *it;
  return node;
}

// A pod whose required node affinity has these terms.
json WithRequired(json pod, json terms) {
  pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] =
      std::move(terms);
  return pod;
}

json Expr(const std::string& key, const std::string& op, json values = json::array()) {
  json e = {{"key", key}, {"operator", op}};
  if (!values.empty()) e["values"] = std::move(values);
  return e;
}

json Term(json exprs, json fields = json::array()) {
  json t = json::object();
  if (!exprs.empty()) t["matchExpressions"] = std::move(exprs);
  if (!fields.empty()) t["matchFields"] = std::move(fields);
  return t;
}

// ---- NodeUnschedulable ----------------------------------------------------------------------------

TEST(CheckNodeUnschedulableTest, CordonedNode) {
  json node = NodeJson("n1");
  PodInfo pod = MakePodInfo(PodJson("p"));
  EXPECT_EQ(CheckNodeUnschedulable(pod, MakeNodeInfo(node)), std::nullopt);
  node["spec"]["unschedulable"] = true;
  EXPECT_EQ(CheckNodeUnschedulable(pod, MakeNodeInfo(node)), "node(s) were unschedulable");
  PodInfo tolerant = MakePodInfo(WithTolerations(
      PodJson("p"), json::array({{{"key", "node.kubernetes.io/unschedulable"}, {"operator", "Exists"},
                                  {"effect", "NoSchedule"}}})));
  EXPECT_EQ(CheckNodeUnschedulable(tolerant, MakeNodeInfo(node)), std::nullopt);
}

// ---- TaintToleration ------------------------------------------------------------------------------

TEST(ToleratesTaintTest, Table) {
  struct Case {
    Toleration toleration;
    Taint taint;
    bool tolerates;
  };
  const Taint kDedicated{"dedicated", "gpu", "NoSchedule"};
  const Case cases[] = {
      {{"dedicated", "Equal", "gpu", "NoSchedule"}, kDedicated, true},
      {{"dedicated", "", "gpu", "NoSchedule"}, kDedicated, true},           // empty operator is Equal
      {{"dedicated", "Equal", "cpu", "NoSchedule"}, kDedicated, false},     // value differs
      {{"dedicated", "Equal", "", "NoSchedule"}, kDedicated, false},        // Equal compares empty too
      {{"dedicated", "Exists", "", "NoSchedule"}, kDedicated, true},        // any value
      {{"dedicated", "Exists", "", ""}, kDedicated, true},                  // empty effect: all effects
      {{"dedicated", "Exists", "", "NoExecute"}, kDedicated, false},        // effect differs
      {{"dedicated", "Exists", "", "PreferNoSchedule"}, kDedicated, false},  // effect differs
      {{"other", "Exists", "", "NoSchedule"}, kDedicated, false},           // key differs
      {{"", "Exists", "", ""}, kDedicated, true},                           // tolerates everything
      {{"", "Exists", "", "NoExecute"}, kDedicated, false},                 // everything with NoExecute
      {{"", "Exists", "", "NoExecute"}, {"x", "", "NoExecute"}, true},
      {{"dedicated", "Lt", "gpu", "NoSchedule"}, kDedicated, false},        // unknown operator
      {{"k", "Equal", "", "NoSchedule"}, {"k", "", "NoSchedule"}, true},    // empty values are equal
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(ToleratesTaint(cases[i].toleration, cases[i].taint), cases[i].tolerates) << "case " << i;
  }
}

TEST(CheckTaintsTest, UntoleratedTaintIsTheReason) {
  json node = WithTaints(NodeJson("n1"), json::array({{{"key", "soft"}, {"effect", "PreferNoSchedule"}},
                                                      {{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}},
                                                      {{"key", "evict"}, {"effect", "NoExecute"}}}));
  NodeInfo n = MakeNodeInfo(node);
  EXPECT_EQ(CheckTaints(MakePodInfo(PodJson("p")), n), "node(s) had untolerated taint {dedicated: gpu}")
      << "PreferNoSchedule only scores; the first hard taint is reported";
  json tolerates_dedicated = WithTolerations(
      PodJson("p"), json::array({{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "gpu"}}}));
  EXPECT_EQ(CheckTaints(MakePodInfo(tolerates_dedicated), n), "node(s) had untolerated taint {evict: }");
  tolerates_dedicated["spec"]["tolerations"].push_back({{"key", "evict"}, {"operator", "Exists"}});
  EXPECT_EQ(CheckTaints(MakePodInfo(tolerates_dedicated), n), std::nullopt);
  EXPECT_EQ(CheckTaints(MakePodInfo(WithTolerations(PodJson("p"), json::array({{{"operator", "Exists"}}}))), n),
            std::nullopt);
}

TEST(CheckTaintsTest, NotReadyNode) {
  json node = NodeJson("n1");
  node["status"]["conditions"][0]["status"] = "False";
  NodeInfo n = MakeNodeInfo(node);
  PodInfo plain = MakePodInfo(PodJson("p"));
  EXPECT_EQ(CheckTaints(plain, n), "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
  EXPECT_EQ(Filter(plain, n), Reasons{"node(s) had untolerated taint {node.kubernetes.io/not-ready: }"});
  PodInfo daemon = MakePodInfo(WithTolerations(
      PodJson("p"), json::array({{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"},
                                  {"effect", "NoSchedule"}}})));
  EXPECT_EQ(CheckTaints(daemon, n), std::nullopt);
  node["status"]["conditions"][0]["status"] = "Unknown";
  EXPECT_EQ(CheckTaints(plain, MakeNodeInfo(node)), "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
}

// ---- NodeAffinity ---------------------------------------------------------------------------------

TEST(CheckNodeAffinityTest, NodeSelector) {
  NodeInfo n = MakeNodeInfo(WithLabels(NodeJson("n1"), {{"disk", "ssd"}, {"zone", "a"}}));
  json pod = PodJson("p");
  EXPECT_EQ(CheckNodeAffinity(MakePodInfo(pod), n), std::nullopt);
  pod["spec"]["nodeSelector"] = {{"disk", "ssd"}, {"zone", "a"}};
  EXPECT_EQ(CheckNodeAffinity(MakePodInfo(pod), n), std::nullopt);
  pod["spec"]["nodeSelector"]["zone"] = "b";
  EXPECT_EQ(CheckNodeAffinity(MakePodInfo(pod), n), "node(s) didn't match Pod's node affinity/selector");
  pod["spec"]["nodeSelector"] = {{"gpu", ""}};
  EXPECT_EQ(CheckNodeAffinity(MakePodInfo(pod), n), kReasonNodeAffinity) << "a missing label is not an empty one";
}

TEST(CheckNodeAffinityTest, Operators) {
  NodeInfo n = MakeNodeInfo(WithLabels(NodeJson("n1"), {{"zone", "a"}, {"cores", "16"}, {"name", "x"}}));
  struct Case {
    json expr;
    bool matches;
  };
  const Case cases[] = {
      {Expr("zone", "In", {"a", "b"}), true},
      {Expr("zone", "In", {"b"}), false},
      {Expr("missing", "In", {"a"}), false},
      {Expr("zone", "NotIn", {"b", "c"}), true},
      {Expr("zone", "NotIn", {"a"}), false},
      {Expr("missing", "NotIn", {"a"}), true},  // an absent label is not in any set
      {Expr("zone", "Exists"), true},
      {Expr("missing", "Exists"), false},
      {Expr("zone", "DoesNotExist"), false},
      {Expr("missing", "DoesNotExist"), true},
      {Expr("cores", "Gt", {"8"}), true},
      {Expr("cores", "Gt", {"16"}), false},
      {Expr("cores", "Lt", {"32"}), true},
      {Expr("cores", "Lt", {"16"}), false},
      {Expr("cores", "Lt", {"-1"}), false},
      {Expr("name", "Gt", {"1"}), false},  // the label is not an integer
      {Expr("missing", "Lt", {"1"}), false},
      {Expr("cores", "Gt", {"eight"}), false},  // an invalid requirement never matches
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    PodInfo pod = MakePodInfo(WithRequired(PodJson("p"), json::array({Term(json::array({cases[i].expr}))})));
    EXPECT_EQ(CheckNodeAffinity(pod, n) == std::nullopt, cases[i].matches) << "case " << i << ": " << cases[i].expr;
  }
}

TEST(CheckNodeAffinityTest, MatchFieldsOnNodeName) {
  NodeInfo n1 = MakeNodeInfo(NodeJson("n1"));
  NodeInfo n2 = MakeNodeInfo(NodeJson("n2"));
  PodInfo in = MakePodInfo(WithRequired(
      PodJson("p"), json::array({Term(json::array(), json::array({Expr("metadata.name", "In", {"n1"})}))})));
  EXPECT_EQ(CheckNodeAffinity(in, n1), std::nullopt);
  EXPECT_EQ(CheckNodeAffinity(in, n2), kReasonNodeAffinity);
  PodInfo not_in = MakePodInfo(WithRequired(
      PodJson("p"), json::array({Term(json::array(), json::array({Expr("metadata.name", "NotIn", {"n1"})}))})));
  EXPECT_EQ(CheckNodeAffinity(not_in, n1), kReasonNodeAffinity);
  EXPECT_EQ(CheckNodeAffinity(not_in, n2), std::nullopt);
}

TEST(CheckNodeAffinityTest, TermsOredExpressionsAnded) {
  NodeInfo n = MakeNodeInfo(WithLabels(NodeJson("n1"), {{"zone", "a"}, {"disk", "ssd"}}));
  auto check = [&](json terms) { return CheckNodeAffinity(MakePodInfo(WithRequired(PodJson("p"), terms)), n); };
  json zone_a = Expr("zone", "In", {"a"});
  json disk_hdd = Expr("disk", "In", {"hdd"});
  EXPECT_EQ(check(json::array({Term(json::array({zone_a, disk_hdd}))})), kReasonNodeAffinity) << "AND";
  EXPECT_EQ(check(json::array({Term(json::array({disk_hdd})), Term(json::array({zone_a}))})), std::nullopt) << "OR";
  // Expressions and fields of one term are ANDed too.
  EXPECT_EQ(check(json::array({Term(json::array({zone_a}), json::array({Expr("metadata.name", "In", {"n2"})}))})),
            kReasonNodeAffinity);
  EXPECT_EQ(check(json::array({json::object()})), kReasonNodeAffinity) << "an empty term matches nothing";
  EXPECT_EQ(check(json::array()), kReasonNodeAffinity) << "no terms match nothing";
  // nodeSelector and affinity must both hold.
  json pod = WithRequired(PodJson("p"), json::array({Term(json::array({zone_a}))}));
  pod["spec"]["nodeSelector"] = {{"disk", "hdd"}};
  EXPECT_EQ(CheckNodeAffinity(MakePodInfo(pod), n), kReasonNodeAffinity);
}

// ---- NodeResourcesFit -----------------------------------------------------------------------------

TEST(CheckResourcesTest, QuantitiesAgainstFreeAllocatable) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1", "1", "2Gi"));
  EXPECT_EQ(CheckResources(MakePodInfo(PodJson("a", "500m", "1Gi")), n), Reasons{});
  n.AddPod(Ptr(PodJson("a", "500m", "1Gi")));
  EXPECT_EQ(CheckResources(MakePodInfo(PodJson("b", "500m", "1Gi")), n), Reasons{}) << "exactly full fits";
  EXPECT_EQ(CheckResources(MakePodInfo(PodJson("b", "501m", "1Gi")), n), Reasons{"Insufficient cpu"});
  EXPECT_EQ(CheckResources(MakePodInfo(PodJson("b", "500m", "1025Mi")), n), Reasons{"Insufficient memory"});
  EXPECT_EQ(CheckResources(MakePodInfo(PodJson("b", "2", "2Gi")), n),
            (Reasons{"Insufficient cpu", "Insufficient memory"}));
}

TEST(CheckResourcesTest, ZeroRequestsFitAnOvercommittedNode) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1", "1", "1Gi"));
  n.AddPod(Ptr(PodJson("big", "2", "2Gi")));
  EXPECT_EQ(CheckResources(MakePodInfo(PodJson("besteffort")), n), Reasons{});
  EXPECT_EQ(CheckResources(MakePodInfo(PodJson("mem-only", "", "1Mi")), n), Reasons{"Insufficient memory"});
}

TEST(CheckResourcesTest, InitContainersAndExtendedResources) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1", "2", "4Gi"));
  json pod = PodJson("p", "100m");
  pod["spec"]["initContainers"] = json::array(
      {{{"name", "init"}, {"image", "busybox"}, {"resources", {{"requests", {{"cpu", "3"}}}}}}});
  EXPECT_EQ(CheckResources(MakePodInfo(pod), n), Reasons{"Insufficient cpu"});
  json gpu = PodJson("g");
  gpu["spec"]["containers"][0]["resources"]["limits"] = {{"example.com/gpu", "1"}};
  EXPECT_EQ(CheckResources(MakePodInfo(gpu), n), Reasons{"Insufficient example.com/gpu"});
  json node = NodeJson("n2");
  node["status"]["allocatable"]["example.com/gpu"] = "1";
  NodeInfo with_gpu = MakeNodeInfo(node);
  EXPECT_EQ(CheckResources(MakePodInfo(gpu), with_gpu), Reasons{});
  with_gpu.AddPod(Ptr(gpu));
  gpu["metadata"]["uid"] = "uid-g2";
  EXPECT_EQ(CheckResources(MakePodInfo(gpu), with_gpu), Reasons{"Insufficient example.com/gpu"});
}

TEST(CheckPodCountTest, TooManyPods) {
  NodeInfo n = MakeNodeInfo(NodeJson("n1", "1", "1Gi", "2"));
  PodInfo pod = MakePodInfo(PodJson("x", "100m"));
  n.AddPod(Ptr(PodJson("a")));
  EXPECT_EQ(CheckPodCount(pod, n), std::nullopt);
  n.AddPod(Ptr(PodJson("b", "1")));
  EXPECT_EQ(CheckPodCount(pod, n), "Too many pods");
  // NodeResourcesFit reports every shortage of the node at once.
  EXPECT_EQ(CheckFit(pod, n), (Reasons{"Too many pods", "Insufficient cpu"}));
  EXPECT_EQ(Filter(pod, n), (Reasons{"Too many pods", "Insufficient cpu"}));
}

TEST(FilterTest, StopsAtTheFirstFailingFilter) {
  json node = WithTaints(NodeJson("n1", "1"), json::array({{{"key", "k"}, {"effect", "NoSchedule"}}}));
  node["spec"]["unschedulable"] = true;
  json pod = PodJson("p", "2");
  pod["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  EXPECT_EQ(Filter(MakePodInfo(pod), MakeNodeInfo(node)), Reasons{"node(s) were unschedulable"});
  node["spec"]["unschedulable"] = false;
  EXPECT_EQ(Filter(MakePodInfo(pod), MakeNodeInfo(node)), Reasons{"node(s) had untolerated taint {k: }"});
  node["spec"].erase("taints");
  EXPECT_EQ(Filter(MakePodInfo(pod), MakeNodeInfo(node)), Reasons{kReasonNodeAffinity});
  pod["spec"].erase("nodeSelector");
  EXPECT_EQ(Filter(MakePodInfo(pod), MakeNodeInfo(node)), Reasons{"Insufficient cpu"});
  pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1";
  EXPECT_EQ(Filter(MakePodInfo(pod), MakeNodeInfo(node)), Reasons{});
}

}  // namespace
}  // namespace capstan::controller::scheduler
