// NodeLifecycleController, reconcile by reconcile (node_lifecycle_test_fixture.h): Nodes that stop
// posting heartbeats or report NotReady are marked and tainted, their Pods marked not ready and
// evicted by their tolerations.
#include "controller/nodelifecycle/node_lifecycle_test_fixture.h"

namespace capstan::controller::nodelifecycle {
namespace {

TEST_F(NodeLifecycleControllerTest, ExpiredLeaseMarksTheNodeUnknownAndTaintsItUnreachable) {
  CreateNode("node-a");
  CreateNode("node-b");
  StartController();
  const std::string heartbeat = Condition(Node("node-a"), "Ready")["lastHeartbeatTime"];

  ReconcileResult r = Reconcile("node-a");
  ASSERT_EQ(r.kind, ReconcileResult::kRequeueAfter);
  EXPECT_EQ(r.after, 40000ms);  // the grace deadline
  Reconcile("node-b");

  clock_.Advance(30s);
  RenewLease("node-b");
  Reconcile("node-b");
  clock_.Advance(9s);
  Reconcile("node-a");
  EXPECT_EQ(Condition(Node("node-a"), "Ready")["status"], "True");
  EXPECT_TRUE(Taints(Node("node-a")).empty());

  clock_.Advance(1s);  // 40 s without a heartbeat
  Reconcile("node-a");
  json a = Node("node-a");
  json ready = Condition(a, "Ready");
  EXPECT_EQ(ready["status"], "Unknown");
  EXPECT_EQ(ready["reason"], "NodeStatusUnknown");
  EXPECT_EQ(ready["message"], "Kubelet stopped posting node status.");
  EXPECT_EQ(ready["lastHeartbeatTime"], heartbeat);  // the agent's last one, kept
  EXPECT_NE(ready["lastTransitionTime"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(TaintNames(a), (std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule",
                                                      "node.kubernetes.io/unreachable:NoExecute"}));
  EXPECT_TRUE(Taints(a)[1].contains("timeAdded"));
  EXPECT_FALSE(Taints(a)[0].contains("timeAdded"));
  auto events = Events("NodeNotReady", "node-a");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["message"], "Node node-a status is now: NodeNotReady");
  EXPECT_EQ(events[0]["involvedObject"]["kind"], "Node");
  EXPECT_EQ(events[0]["source"]["component"], "node-controller");

  // node-b renewed at 30 s: Ready until 70 s.
  clock_.Advance(29s);
  Reconcile("node-b");
  EXPECT_EQ(Condition(Node("node-b"), "Ready")["status"], "True");
  EXPECT_EQ(controller_->Stats().nodes_marked_unknown, 1u);

  // A second pass changes nothing.
  Reconcile("node-a");
  EXPECT_EQ(Node("node-a")["metadata"]["resourceVersion"], a["metadata"]["resourceVersion"]);
}

TEST_F(NodeLifecycleControllerTest, AgentReportingNotReadyGetsTheNotReadyTaints) {
  CreateNode("node-a", "False");
  CreateNode("node-b");
  StartController();
  Reconcile("node-a");
  json a = Node("node-a");
  EXPECT_EQ(Condition(a, "Ready")["status"], "False");  // the agent's word stands
  EXPECT_EQ(Condition(a, "Ready")["reason"], "KubeletNotReady");
  EXPECT_EQ(TaintNames(a), (std::vector<std::string>{"node.kubernetes.io/not-ready:NoSchedule",
                                                      "node.kubernetes.io/not-ready:NoExecute"}));
  // The agent stops answering too: not-ready swaps for unreachable (no token needed).
  clock_.Advance(40s);
  Reconcile("node-a");
  a = Node("node-a");
  EXPECT_EQ(Condition(a, "Ready")["status"], "Unknown");
  EXPECT_EQ(TaintNames(a), (std::vector<std::string>{"node.kubernetes.io/unreachable:NoSchedule",
                                                      "node.kubernetes.io/unreachable:NoExecute"}));
  EXPECT_EQ(controller_->Stats().rate_limited, 0u);
}

TEST_F(NodeLifecycleControllerTest, PodsAreMarkedNotReadyThenEvictedWithUidAndGraceZero) {
  CreateNode("node-a");
  CreateNode("node-b");
  CreatePod("web-1", "node-a");
  CreatePod("web-2", "node-a");
  CreatePod("web-3", "node-b");
  StartController();
  const std::string uid1 = MetaString(Pod("web-1"), "uid");

  clock_.Advance(40s);
  ReconcileResult r = Reconcile("node-a");
  for (const char* p : {"web-1", "web-2"}) {
    EXPECT_EQ(Condition(Pod(p), "Ready")["status"], "False") << p;
    auto events = Events("NodeNotReady", p);
    ASSERT_EQ(events.size(), 1u) << p;
    EXPECT_EQ(events[0]["type"], "Warning");
    EXPECT_EQ(events[0]["message"], "Node is not ready");
  }
  EXPECT_EQ(Condition(Pod("web-3"), "Ready")["status"], "True");
  EXPECT_EQ(controller_->Stats().pods_marked_not_ready, 2u);
  ASSERT_EQ(r.kind, ReconcileResult::kRequeueAfter);  // the eviction time, 300 s (timeAdded has whole seconds)
  EXPECT_GT(r.after, 299000ms);
  EXPECT_LE(r.after, 300000ms);

  clock_.Advance(299s);
  Reconcile("node-a");
  EXPECT_TRUE(PodExists("web-1"));
  EXPECT_TRUE(PodDeletions().empty());

  clock_.Advance(1s);
  r = Reconcile("node-a");
  EXPECT_FALSE(PodExists("web-1"));  // grace 0: gone at once, not Terminating
  EXPECT_FALSE(PodExists("web-2"));
  EXPECT_TRUE(PodExists("web-3"));
  auto deletions = PodDeletions();
  ASSERT_EQ(deletions.size(), 2u);
  for (const auto& d : deletions) {
    EXPECT_EQ(d.options["gracePeriodSeconds"], 0) << d.path;
    EXPECT_EQ(d.options["kind"], "DeleteOptions");
  }
  const auto& d1 = deletions[0].path.ends_with("/web-1") ? deletions[0] : deletions[1];
  EXPECT_EQ(d1.path, std::string(kPods) + "/web-1");
  EXPECT_EQ(d1.options["preconditions"]["uid"], uid1);
  auto events = Events("TaintManagerEviction", "web-1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["message"], "Marking for deletion Pod default/web-1");
  EXPECT_EQ(events[0]["type"], "Normal");
  EXPECT_EQ(controller_->Stats().evictions, 2u);
  EXPECT_EQ(r.kind, ReconcileResult::kDone);  // nothing left to wait for

  // Later passes delete nothing more.
  Reconcile("node-a");
  EXPECT_EQ(PodDeletions().size(), 2u);
}

TEST_F(NodeLifecycleControllerTest, ANewPodOfTheSameNameIsNeverDeleted) {
  CreateNode("node-a");
  CreateNode("node-b");
  CreatePod("web-1", "node-a");
  StartController();
  clock_.Advance(40s);
  Reconcile("node-a");
  clock_.Advance(300s);
  // Between the controller's read and its delete, the Pod is replaced by one of the same name:
  // the uid precondition makes the API refuse (409), and the new Pod stays.
  const std::string old_uid = MetaString(Pod("web-1"), "uid");
  std::string new_uid;
  api_->before_delete = [&](const std::string&) {
    EXPECT_TRUE(client_->Delete(std::string(kPods) + "/web-1", json{{"gracePeriodSeconds", 0}}).ok());
    CreatePod("web-1", "node-b");
    new_uid = MetaString(Pod("web-1"), "uid");
  };
  Reconcile("node-a");
  api_->before_delete = nullptr;
  ASSERT_EQ(PodDeletions().size(), 1u);
  EXPECT_EQ(PodDeletions()[0].options["preconditions"]["uid"], old_uid);
  ASSERT_FALSE(new_uid.empty());
  EXPECT_NE(new_uid, old_uid);
  EXPECT_EQ(MetaString(Pod("web-1"), "uid"), new_uid);
  EXPECT_EQ(Pod("web-1")["spec"]["nodeName"], "node-b");
}

TEST_F(NodeLifecycleControllerTest, OnANotReadyNodeWithALiveAgentTheEvictionIsGraceful) {
  CreateNode("node-a", "False");
  CreateNode("node-b");
  CreatePod("web-1", "node-a");
  StartController();
  Reconcile("node-a");
  EXPECT_EQ(Condition(Pod("web-1"), "Ready")["status"], "False");
  // The agent keeps its Lease fresh: the node stays False, not Unknown.
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(10s);
    RenewLease("node-a");
    Reconcile("node-a");
  }
  EXPECT_EQ(Condition(Node("node-a"), "Ready")["status"], "False");
  json pod = Pod("web-1");
  ASSERT_FALSE(pod.is_null());
  EXPECT_FALSE(pod["metadata"].value("deletionTimestamp", "").empty());  // Terminating: the agent finishes it
  auto deletions = PodDeletions();
  ASSERT_EQ(deletions.size(), 1u);
  EXPECT_FALSE(deletions[0].options.contains("gracePeriodSeconds"));
  EXPECT_EQ(deletions[0].options["preconditions"]["uid"], MetaString(pod, "uid"));
  // A Terminating Pod on a reachable node is left to its agent.
  clock_.Advance(5s);
  RenewLease("node-a");
  Reconcile("node-a");
  EXPECT_EQ(PodDeletions().size(), 1u);
}

TEST_F(NodeLifecycleControllerTest, ATerminatingPodOnALostNodeIsRemovedWithGraceZero) {
  CreateNode("node-a");
  CreateNode("node-b");
  CreatePod("web-1", "node-a");
  StartController();
  Reconcile("node-a");
  // Deleted by its user while the node is fine: Terminating, for the agent to finish...
  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/web-1").ok());
  ASSERT_FALSE(Pod("web-1")["metadata"].value("deletionTimestamp", "").empty());
  // ...but the agent goes silent first.
  clock_.Advance(40s);
  Reconcile("node-a");
  EXPECT_TRUE(PodExists("web-1"));
  clock_.Advance(300s);
  Reconcile("node-a");
  EXPECT_FALSE(PodExists("web-1"));
  ASSERT_EQ(PodDeletions().size(), 1u);  // the controller's (the user's went around the recorder)
  EXPECT_EQ(PodDeletions()[0].options["gracePeriodSeconds"], 0);
}

TEST_F(NodeLifecycleControllerTest, ALiveAgentThatReportsItsPodReadyAgainIsBelieved) {
  CreateNode("node-a", "False");
  CreateNode("node-b");
  CreatePod("web-1", "node-a", json::parse(R"([{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute"}])"));
  StartController();
  Reconcile("node-a");
  EXPECT_EQ(Condition(Pod("web-1"), "Ready")["status"], "False");
  SetPodReady("web-1", "True");
  Reconcile("node-a");
  EXPECT_EQ(Condition(Pod("web-1"), "Ready")["status"], "True");
  EXPECT_EQ(controller_->Stats().pods_marked_not_ready, 1u);
}

TEST_F(NodeLifecycleControllerTest, TolerationsDecideWhenPodsGo) {
  CreateNode("node-a");
  CreateNode("node-b");
  CreatePod("default-300", "node-a");
  CreatePod("tolerates-600", "node-a", json::parse(R"([
    {"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":600}])"));
  CreatePod("tolerates-forever", "node-a", json::parse(R"([
    {"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute"}])"));
  NodeLifecycleControllerOptions options;
  options.pod_eviction_timeout = 300s;
  StartController(options);

  clock_.Advance(40s);
  Reconcile("node-a");
  clock_.Advance(300s);
  ReconcileResult r = Reconcile("node-a");
  EXPECT_FALSE(PodExists("default-300"));
  EXPECT_TRUE(PodExists("tolerates-600"));  // its own toleration wins over the default
  EXPECT_TRUE(PodExists("tolerates-forever"));
  ASSERT_EQ(r.kind, ReconcileResult::kRequeueAfter);
  EXPECT_GT(r.after, 299000ms);
  EXPECT_LE(r.after, 300000ms);

  clock_.Advance(300s);
  r = Reconcile("node-a");
  EXPECT_FALSE(PodExists("tolerates-600"));
  EXPECT_TRUE(PodExists("tolerates-forever"));
  EXPECT_EQ(r.kind, ReconcileResult::kDone);

  clock_.Advance(24h * 10);
  Reconcile("node-a");
  EXPECT_TRUE(PodExists("tolerates-forever"));
  EXPECT_EQ(PodDeletions().size(), 2u);
}

}  // namespace
}  // namespace capstan::controller::nodelifecycle
