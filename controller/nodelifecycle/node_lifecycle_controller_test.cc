// NodeLifecycleController against the real API handler over a RocksStore in a temporary
// directory, reconcile by reconcile: the test plays the node agents (Node status and Lease
// writes), calls Reconcile(node) itself (no workers) and moves a FakeClock, so timeouts of minutes
// take no time. Before each reconcile it waits until the informers show the API's current state.
#include "controller/nodelifecycle/node_lifecycle_controller.h"

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "client/informer_factory.h"
#include "client/informer_test_util.h"

namespace capstan::controller::nodelifecycle {
namespace {

using namespace std::chrono_literals;
namespace ct = capstan::client::testing;
using client::MetaString;

constexpr char kNodes[] = "/api/v1/nodes";
constexpr char kLeases[] = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
constexpr char kAllPods[] = "/api/v1/pods";
constexpr char kPods[] = "/api/v1/namespaces/default/pods";
constexpr char kEvents[] = "/api/v1/namespaces/default/events";
constexpr char kNotReadyKey[] = "node.kubernetes.io/not-ready";
constexpr char kUnreachableKey[] = "node.kubernetes.io/unreachable";

// Forwards everything to the real client and records every DELETE (path and options).
class RecordingApiClient : public ct::GatedApiClient {
 public:
  struct Deletion {
    std::string path;
    json options;
  };
  explicit RecordingApiClient(client::ApiClient* inner) : GatedApiClient(inner) {}
  // Called with the path before each recorded DELETE is forwarded (set before the controller
  // runs).
  std::function<void(const std::string& path)> before_delete;

  Result<json> Delete(const std::string& path, const json& options, const client::Query& q) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      deletions_.push_back({path, options});
    }
    if (before_delete) before_delete(path);
    return GatedApiClient::Delete(path, options, q);
  }
  std::vector<Deletion> deletions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deletions_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Deletion> deletions_;  // guarded by mu_
};

// A MicroTime / Time that differs for every n: what an agent's heartbeats look like.
std::string Stamp(int n, bool micro) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "2026-01-01T%02d:%02d:%02d%sZ", (n / 3600) % 24, (n / 60) % 60, n % 60,
                micro ? ".000000" : "");
  return buf;
}

json ReadyCondition(const std::string& status, const std::string& heartbeat) {
  return {{"type", "Ready"},
          {"status", status},
          {"reason", status == "True" ? "KubeletReady" : "KubeletNotReady"},
          {"message", status == "True" ? "capstan node agent is posting ready status" : "driver is not healthy"},
          {"lastHeartbeatTime", heartbeat},
          {"lastTransitionTime", "2026-01-01T00:00:00Z"}};
}

class NodeLifecycleControllerTest : public ct::InProcessApiFixture {
 protected:
  void SetUp() override {
    InProcessApiFixture::SetUp();
    MakeNamespace("kube-node-lease");
    api_ = std::make_unique<RecordingApiClient>(client_.get());
    informers_ = std::make_unique<client::SharedInformerFactory>(api_.get());
  }
  void TearDown() override {
    informers_->StopAll();  // their handlers call into the controller
    if (controller_) controller_->Stop();
    controller_.reset();
    informers_.reset();
    api_.reset();
    InProcessApiFixture::TearDown();
  }

  // Sets the controller up on the FakeClock and syncs its informers; no workers run.
  void StartController(NodeLifecycleControllerOptions options = {}) {
    options.clock = &clock_;
    controller_ = std::make_unique<NodeLifecycleController>(options);
    ControllerContext ctx{api_.get(), informers_.get(), &clock_};
    Status st = controller_->Setup(ctx);
    ASSERT_TRUE(st.ok()) << st.ToString();
    informers_->StartAll();
    ASSERT_TRUE(informers_->WaitForSyncAll(10s));
  }

  // ---- The cluster, as agents and users write it ----

  void MustOk(const Result<json>& r) { ASSERT_TRUE(r.ok()) << r.status().ToString(); }

  void CreateNode(const std::string& name, const std::string& ready = "True", const json& taints = nullptr) {
    json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}, {"spec", json::object()},
                 {"status", {{"conditions", json::array()}}}};
    if (!ready.empty()) node["status"]["conditions"].push_back(ReadyCondition(ready, Stamp(++beat_, false)));
    if (!taints.is_null()) node["spec"]["taints"] = taints;
    MustOk(client_->Create(kNodes, node));
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", name}, {"namespace", "kube-node-lease"}}},
                  {"spec", {{"holderIdentity", name}, {"leaseDurationSeconds", 40}, {"renewTime", Stamp(++beat_, true)}}}};
    MustOk(client_->Create(kLeases, lease));
  }
  // The agent renews its Lease.
  void RenewLease(const std::string& name) {
    MustOk(client_->Patch(std::string(kLeases) + "/" + name, client::PatchType::kMerge,
                          json{{"spec", {{"renewTime", Stamp(++beat_, true)}}}}));
  }
  // The agent posts its Ready condition (and renews its Lease).
  void PostReady(const std::string& name, const std::string& status) {
    json c = ReadyCondition(status, Stamp(++beat_, false));
    MustOk(client_->Patch(std::string(kNodes) + "/" + name + "/status", client::PatchType::kStrategic,
                          json{{"status", {{"conditions", json::array({c})}}}}));
    RenewLease(name);
  }
  // A running, Ready Pod bound to `node`.
  void CreatePod(const std::string& name, const std::string& node, const json& tolerations = nullptr) {
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}}},
                {"spec", {{"nodeName", node}, {"containers", {{{"name", "app"}, {"image", "nginx:1.25"}}}}}}};
    if (!tolerations.is_null()) pod["spec"]["tolerations"] = tolerations;
    MustOk(client_->Create(kPods, pod));
    SetPodReady(name, "True");
  }
  void SetPodReady(const std::string& name, const std::string& status) {
    MustOk(client_->Patch(std::string(kPods) + "/" + name + "/status", client::PatchType::kStrategic,
                          json{{"status",
                                {{"phase", "Running"},
                                 {"conditions", json::array({{{"type", "Ready"}, {"status", status}}})}}}}));
  }

  // ---- Reading it back ----

  json Get(const std::string& path) {
    auto r = client_->Get(path);
    return r.ok() ? *r : json();
  }
  json Node(const std::string& name) { return Get(std::string(kNodes) + "/" + name); }
  json Pod(const std::string& name) { return Get(std::string(kPods) + "/" + name); }
  bool PodExists(const std::string& name) { return !Pod(name).is_null(); }
  static json Condition(const json& obj, const std::string& type) {
    const json* c = FindCondition(obj, type);
    return c != nullptr ? *c : json::object();
  }
  static json Taints(const json& node) {
    const json& t = client::Field(client::Field(node, "spec"), "taints");
    return t.is_array() ? t : json::array();
  }
  // "key:effect" of every taint, in order.
  static std::vector<std::string> TaintNames(const json& node) {
    std::vector<std::string> out;
    for (const json& t : Taints(node)) out.push_back(t.value("key", "") + ":" + t.value("effect", ""));
    return out;
  }
  std::vector<json> Events(const std::string& reason, const std::string& object = "") {
    EXPECT_TRUE(controller_->FlushEvents());
    std::vector<json> out;
    auto list = client_->List(kEvents);
    if (!list.ok()) return out;
    for (const json& e : (*list)["items"]) {
      if (e.value("reason", "") != reason) continue;
      if (!object.empty() && e["involvedObject"].value("name", "") != object) continue;
      out.push_back(e);
    }
    return out;
  }
  std::vector<RecordingApiClient::Deletion> PodDeletions() { return api_->deletions(); }

  // ---- Driving the controller ----

  // Waits until every informer shows what the API holds (keys and resourceVersions).
  void Settle() {
    auto agree = [&](const char* path) {
      client::Informer* informer = informers_->ForResource(path);
      auto list = client_->List(path);
      if (!list.ok()) return false;
      std::map<std::string, std::string> want, have;
      for (const json& o : (*list)["items"]) want[client::ObjectKey(o)] = MetaString(o, "resourceVersion");
      for (const auto& o : informer->List()) have[client::ObjectKey(*o)] = MetaString(*o, "resourceVersion");
      return want == have;
    };
    ASSERT_TRUE(ct::WaitUntil([&] { return agree(kNodes) && agree(kLeases) && agree(kAllPods); }, 10s));
  }
  ReconcileResult Reconcile(const std::string& node) {
    Settle();
    ReconcileResult r = controller_->Reconcile(node);
    EXPECT_NE(r.kind, ReconcileResult::kRetry) << r.error.ToString();
    EXPECT_NE(r.kind, ReconcileResult::kTerminal) << r.error.ToString();
    return r;
  }

  FakeClock clock_;  // first: outlives the controller's queue
  std::unique_ptr<RecordingApiClient> api_;
  std::unique_ptr<client::SharedInformerFactory> informers_;
  std::unique_ptr<NodeLifecycleController> controller_;
  int beat_ = 0;
};

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

TEST_F(NodeLifecycleControllerTest, ANodeThatRecoversLosesItsTaintsAndEvictsNothing) {
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

TEST_F(NodeLifecycleControllerTest, WhenEveryNodeIsDownNothingIsEvicted) {
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

TEST_F(NodeLifecycleControllerTest, NoExecuteTaintsAreRateLimited) {
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

TEST_F(NodeLifecycleControllerTest, AUsersNoExecuteTaintEvictsPodsThatDoNotTolerateIt) {
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

TEST_F(NodeLifecycleControllerTest, ANodeThatNeverReportedGetsTheStartupGracePeriod) {
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

TEST_F(NodeLifecycleControllerTest, ADeletedNodeIsForgotten) {
  CreateNode("node-a");
  StartController();
  Reconcile("node-a");
  ASSERT_TRUE(client_->Delete(std::string(kNodes) + "/node-a").ok());
  EXPECT_EQ(Reconcile("node-a").kind, ReconcileResult::kDone);
}

TEST_F(NodeLifecycleControllerTest, OptionsOutOfRangeAreRefused) {
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
