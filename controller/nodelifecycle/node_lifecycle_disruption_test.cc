// NodeLifecycleController, reconcile by reconcile (node_lifecycle_test_fixture.h): recovery, the
// whole cluster down, the eviction rate, users' NoExecute taints, the startup grace period and
// options.
#include "controller/nodelifecycle/node_lifecycle_test_fixture.h"

namespace capstan::controller::nodelifecycle {
namespace {

// Its own suite name: each file's anonymous namespace has its own copy of the fixture class.
class NodeLifecycleDisruptionTest : public NodeLifecycleControllerTest {};

TEST_F(NodeLifecycleDisruptionTest, ANodeThatRecoversLosesItsTaintsAndEvictsNothing) {
  CreateNode("node-a", "True", json::parse(R"([
    {"key":"dedicated","value":"gpu","effect":"NoSchedule"},
    {"key":"example.com/soft","effect":"PreferNoSchedule"}])"));
  CreateNode("node-b");
  CreatePod("web-1", "node-a");
  StartController();
  const json user_taints = Taints(Node("node-a"));

  clock_.Advance(40s);
  Reconcile("node-a");
  json a = Node("node-a");
  EXPECT_EQ(TaintNames(a), (std::vector<std::string>{"dedicated:NoSchedule", "example.com/soft:PreferNoSchedule",
                                                      "node.kubernetes.io/unreachable:NoSchedule",
                                                      "node.kubernetes.io/unreachable:NoExecute"}));
  EXPECT_EQ(Taints(a)[0], user_taints[0]);  // the user's, untouched

  clock_.Advance(100s);
  PostReady("node-a", "True");  // the agent is back
  ReconcileResult r = Reconcile("node-a");
  a = Node("node-a");
  EXPECT_EQ(Condition(a, "Ready")["status"], "True");
  EXPECT_EQ(Taints(a), user_taints);  // only the controller's went
  EXPECT_EQ(Events("NodeReady", "node-a").size(), 1u);
  auto cancelled = Events("TaintManagerEviction", "web-1");
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0]["message"], "Cancelling deletion of Pod default/web-1");
  ASSERT_EQ(r.kind, ReconcileResult::kRequeueAfter);
  EXPECT_EQ(r.after, 40000ms);  // watching its heartbeats again

  clock_.Advance(30s);
  RenewLease("node-a");
  Reconcile("node-a");
  clock_.Advance(300s);
  PostReady("node-a", "True");
  Reconcile("node-a");
  EXPECT_TRUE(PodExists("web-1"));
  EXPECT_TRUE(PodDeletions().empty());
  EXPECT_EQ(Taints(Node("node-a")), user_taints);
}

TEST_F(NodeLifecycleDisruptionTest, WhenEveryNodeIsDownNothingIsEvicted) {
  CreateNode("node-a");
  CreateNode("node-b");
  CreatePod("on-a", "node-a");
  CreatePod("on-b", "node-b");
  StartController();

  clock_.Advance(40s);
  Reconcile("node-a");  // node-b still looks Ready: node-a gets its NoExecute taint
  EXPECT_EQ(TaintNames(Node("node-a")).size(), 2u);
  Reconcile("node-b");  // the last Ready node goes: full disruption
  EXPECT_EQ(TaintNames(Node("node-b")), (std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule"}));
  Settle();
  EXPECT_TRUE(controller_->Stats().full_disruption);
  Reconcile("node-a");  // (the informer handler queued every node) the NoExecute taint goes
  EXPECT_EQ(TaintNames(Node("node-a")), (std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule"}));
  EXPECT_EQ(Condition(Pod("on-a"), "Ready")["status"], "False");  // still marked not ready
  EXPECT_EQ(Condition(Pod("on-b"), "Ready")["status"], "False");

  for (int i = 0; i < 4; ++i) {
    clock_.Advance(300s);
    Reconcile("node-a");
    Reconcile("node-b");
  }
  EXPECT_TRUE(PodExists("on-a"));
  EXPECT_TRUE(PodExists("on-b"));
  EXPECT_TRUE(PodDeletions().empty());

  // node-b comes back: node-a's eviction starts over, with a full toleration period.
  PostReady("node-b", "True");
  Reconcile("node-b");
  Settle();
  EXPECT_FALSE(controller_->Stats().full_disruption);
  Reconcile("node-a");
  EXPECT_EQ(TaintNames(Node("node-a")), (std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule",
                                                                   "node.kubernetes.io/unreachable:NoExecute"}));
  clock_.Advance(299s);
  RenewLease("node-b");
  Reconcile("node-a");
  EXPECT_TRUE(PodExists("on-a"));
  clock_.Advance(1s);
  Reconcile("node-a");
  EXPECT_FALSE(PodExists("on-a"));
  EXPECT_TRUE(PodExists("on-b"));
}

TEST_F(NodeLifecycleDisruptionTest, NoExecuteTaintsAreRateLimited) {
  for (const char* n : {"node-a", "node-b", "node-c", "node-d"}) CreateNode(n);
  NodeLifecycleControllerOptions options;
  options.eviction_rate = 0.1;  // one node every 10 s
  StartController(options);
  clock_.Advance(40s);
  RenewLease("node-d");
  Reconcile("node-d");
  Reconcile("node-a");
  EXPECT_EQ(TaintNames(Node("node-a")).size(), 2u);
  ReconcileResult rb = Reconcile("node-b");
  ReconcileResult rc = Reconcile("node-c");
  // Unknown and unschedulable at once; evicting waits for the limiter.
  for (const char* n : {"node-b", "node-c"}) {
    EXPECT_EQ(Condition(Node(n), "Ready")["status"], "Unknown") << n;
    EXPECT_EQ(TaintNames(Node(n)), (std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule"})) << n;
  }
  ASSERT_EQ(rb.kind, ReconcileResult::kRequeueAfter);
  EXPECT_EQ(rb.after, 10000ms);
  EXPECT_EQ(rc.after, 10000ms);
  clock_.Advance(10s);
  RenewLease("node-d");
  Reconcile("node-b");
  rc = Reconcile("node-c");
  EXPECT_EQ(TaintNames(Node("node-b")).size(), 2u);
  EXPECT_EQ(TaintNames(Node("node-c")).size(), 1u);
  EXPECT_EQ(rc.after, 10000ms);
  clock_.Advance(10s);
  Reconcile("node-c");
  EXPECT_EQ(TaintNames(Node("node-c")).size(), 2u);
  EXPECT_EQ(controller_->Stats().rate_limited, 3u);
}

TEST_F(NodeLifecycleDisruptionTest, AUsersNoExecuteTaintEvictsPodsThatDoNotTolerateIt) {
  CreateNode("node-a");
  CreateNode("node-b");
  CreatePod("plain", "node-a");
  CreatePod("tolerant", "node-a", json::parse(R"([{"key":"example.com/maintenance","operator":"Exists"}])"));
  StartController();
  Reconcile("node-a");
  MustOk(client_->Patch(std::string(kNodes) + "/node-a", client::PatchType::kMerge,
                        json{{"spec", {{"taints", json::parse(R"([{"key":"example.com/maintenance","effect":"NoExecute"}])")}}}}));
  Reconcile("node-a");
  json plain = Pod("plain");
  ASSERT_FALSE(plain.is_null());
  EXPECT_FALSE(plain["metadata"].value("deletionTimestamp", "").empty());  // graceful: the agent is alive
  EXPECT_TRUE(Pod("tolerant")["metadata"].value("deletionTimestamp", "").empty());
  ASSERT_EQ(PodDeletions().size(), 1u);
  EXPECT_FALSE(PodDeletions()[0].options.contains("gracePeriodSeconds"));
  EXPECT_EQ(Condition(Pod("tolerant"), "Ready")["status"], "True");  // the node is Ready
  EXPECT_EQ(Taints(Node("node-a")).size(), 1u);                      // and its taint is the user's alone
}

TEST_F(NodeLifecycleDisruptionTest, ANodeThatNeverReportedGetsTheStartupGracePeriod) {
  CreateNode("node-new", "");
  CreateNode("node-b");
  StartController();
  Reconcile("node-new");
  EXPECT_EQ(TaintNames(Node("node-new")), (std::vector<std::string>{"node.kubernetes.io/not-ready:NoSchedule"}));
  clock_.Advance(59s);
  RenewLease("node-b");
  Reconcile("node-new");
  EXPECT_TRUE(Condition(Node("node-new"), "Ready").empty());
  clock_.Advance(1s);
  Reconcile("node-new");
  json n = Node("node-new");
  json ready = Condition(n, "Ready");
  EXPECT_EQ(ready["status"], "Unknown");
  EXPECT_EQ(ready["reason"], "NodeStatusNeverUpdated");
  EXPECT_EQ(ready["message"], "Kubelet never posted node status.");
  EXPECT_EQ(TaintNames(n), (std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule",
                                                      "node.kubernetes.io/unreachable:NoExecute"}));
}

TEST_F(NodeLifecycleDisruptionTest, ADeletedNodeIsForgotten) {
  CreateNode("node-a");
  StartController();
  Reconcile("node-a");
  ASSERT_TRUE(client_->Delete(std::string(kNodes) + "/node-a").ok());
  EXPECT_EQ(Reconcile("node-a").kind, ReconcileResult::kDone);
}

TEST_F(NodeLifecycleDisruptionTest, OptionsOutOfRangeAreRefused) {
  NodeLifecycleControllerOptions options;
  options.eviction_rate = 0;
  NodeLifecycleController c(options);
  ControllerContext ctx{api_.get(), informers_.get(), &clock_};
  EXPECT_EQ(c.Setup(ctx).code(), Code::kInvalid);
  options = {};
  options.node_monitor_grace_period = 0ms;
  NodeLifecycleController d(options);
  EXPECT_EQ(d.Setup(ctx).code(), Code::kInvalid);
}

}  // namespace
}  // namespace capstan::controller::nodelifecycle
