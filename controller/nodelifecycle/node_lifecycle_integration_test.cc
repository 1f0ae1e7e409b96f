// The node lifecycle controller with the loops it works with, against the real API over a
// RocksStore, in real (short) time: a live Node run by a NodeAgent with the fake driver, a second
// Node whose "agent" is this test (a Node and a Lease written through the API, the Lease renewed
// by a thread), the ReplicaSet controller and the scheduler. When the test stops renewing the
// second Node's Lease, its Pods must end up replaced on the live Node.
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "client/event_recorder.h"
#include "client/informer_test_util.h"
#include "controller/manager/controller_manager.h"
#include "controller/nodelifecycle/node_lifecycle_controller.h"
#include "controller/replicaset/replicaset_controller.h"
#include "controller/scheduler/scheduler_controller.h"
#include "node/fake_driver.h"
#include "node/node_agent.h"

namespace capstan::controller::nodelifecycle {
namespace {

using namespace std::chrono_literals;
namespace ct = capstan::client::testing;
using client::MetaString;
using client::StringField;

constexpr char kPods[] = "/api/v1/namespaces/default/pods";
constexpr char kLeases[] = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
constexpr char kReplicaSets[] = "/apis/apps/v1/namespaces/default/replicasets";
constexpr auto kWait = 20000ms;

std::string MicroNow() {
  const auto now = std::chrono::system_clock::now();
  std::string s = client::FormatRfc3339(now);  // "...:SSZ"
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lldZ", static_cast<long long>(micros));
  return s.substr(0, s.size() - 1) + frac;
}

class NodeLifecycleIntegrationTest : public ct::InProcessApiFixture {
 protected:
  void SetUp() override {
    InProcessApiFixture::SetUp();
    MakeNamespace("kube-node-lease");
  }
  void TearDown() override {
    StopRenewing();
    if (agent_) agent_->Stop();
    manager_.reset();
    agent_.reset();
    InProcessApiFixture::TearDown();
  }

  // A Node registered by API writes, Ready, with a Lease this test renews every 100 ms.
  void RegisterRemoteNode(const std::string& name) {
    json node = {{"apiVersion", "v1"},
                 {"kind", "Node"},
                 {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
                 {"spec", {{"driver", {{"name", "fake"}}}}},
                 {"status",
                  {{"conditions", json::array({{{"type", "Ready"},
                                                {"status", "True"},
                                                {"reason", "KubeletReady"},
                                                {"message", "ready"},
                                                {"lastHeartbeatTime", client::FormatRfc3339(std::chrono::system_clock::now())},
                                                {"lastTransitionTime", client::FormatRfc3339(std::chrono::system_clock::now())}}})}}}};
    auto created = client_->Create("/api/v1/nodes", node);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", name}, {"namespace", "kube-node-lease"}}},
                  {"spec", {{"holderIdentity", name}, {"leaseDurationSeconds", 1}, {"renewTime", MicroNow()}}}};
    auto lr = client_->Create(kLeases, lease);
    ASSERT_TRUE(lr.ok()) << lr.status().ToString();
    renewing_ = true;
    renewer_ = std::thread([this, name] {
      while (renewing_) {
        auto r = client_->Patch(std::string(kLeases) + "/" + name, client::PatchType::kMerge,
                                json{{"spec", {{"renewTime", MicroNow()}}}});
        if (!r.ok()) ADD_FAILURE() << r.status().ToString();
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  void StopRenewing() {
    renewing_ = false;
    if (renewer_.joinable()) renewer_.join();
  }

  std::vector<json> Pods() {
    auto r = client_->List(kPods);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["items"].get<std::vector<json>>() : std::vector<json>{};
  }
  static std::string NodeOf(const json& pod) { return StringField(client::Field(pod, "spec"), "nodeName"); }
  json Node(const std::string& name) {
    auto r = client_->Get("/api/v1/nodes/" + name);
    return r.ok() ? *r : json();
  }

  std::unique_ptr<node::FakeDriver> driver_;
  std::unique_ptr<node::NodeAgent> agent_;
  std::unique_ptr<ControllerManager> manager_;
  std::atomic<bool> renewing_{false};
  std::thread renewer_;
};

TEST_F(NodeLifecycleIntegrationTest, PodsOfANodeWhoseLeaseExpiresAreReplacedOnTheLiveNode) {
  // The live node: a real agent with the fake driver (Pods Running at once).
  driver_ = std::make_unique<node::FakeDriver>();
  node::NodeAgentOptions agent_options;
  agent_options.node_name = "node-live";
  agent_options.driver = driver_.get();
  agent_options.heartbeat_interval = 100ms;
  agent_options.lease_duration = 1s;
  agent_options.workers = 2;
  agent_ = std::make_unique<node::NodeAgent>(client_.get(), agent_options);
  Status st = agent_->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  // The node that will die.
  RegisterRemoteNode("node-lost");

  manager_ = std::make_unique<ControllerManager>(client_.get());
  manager_->Add(std::make_unique<replicaset::ReplicaSetController>());
  manager_->Add(std::make_unique<scheduler::SchedulerController>());
  NodeLifecycleControllerOptions options;
  options.node_monitor_grace_period = 3000ms;  // 30 missed renewals: no false alarm on a busy machine
  options.pod_eviction_timeout = 2000ms;  // timeAdded has whole seconds: 1 to 2 s after the taint
  options.eviction_rate = 100;
  auto owned = std::make_unique<NodeLifecycleController>(options);
  NodeLifecycleController* lifecycle = owned.get();
  manager_->Add(std::move(owned));
  st = manager_->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();

  json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata", {{"name", "web"}}},
             {"spec",
              {{"replicas", 4},
               {"selector", {{"matchLabels", {{"app", "web"}}}}},
               {"template",
                {{"metadata", {{"labels", {{"app", "web"}}}}},
                 {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}}}}}};
  ASSERT_TRUE(client_->Create(kReplicaSets, rs).ok());
  // The scheduler spreads one owner's Pods: two on each node.
  std::set<std::string> lost_uids;
  ASSERT_TRUE(ct::WaitUntil([&] {
    auto pods = Pods();
    lost_uids.clear();
    int bound = 0;
    for (const json& p : pods) {
      if (!NodeOf(p).empty()) ++bound;
      if (NodeOf(p) == "node-lost") lost_uids.insert(MetaString(p, "uid"));
    }
    return pods.size() == 4 && bound == 4;
  }, kWait));
  ASSERT_FALSE(lost_uids.empty()) << "the scheduler put nothing on node-lost";

  // The lost node's agent goes silent.
  StopRenewing();
  ASSERT_TRUE(ct::WaitUntil([&] { return NodeReadiness(Node("node-lost")) == Readiness::kUnknown; }, kWait));
  json lost = Node("node-lost");
  EXPECT_EQ(StringField(*FindCondition(lost, "Ready"), "reason"), "NodeStatusUnknown");
  // The live node keeps its heartbeat and stays Ready.
  EXPECT_EQ(NodeReadiness(Node("node-live")), Readiness::kTrue);

  // Evicted after the timeout (grace 0: no Terminating leftovers), replaced on the live node.
  std::string last;
  ASSERT_TRUE(ct::WaitUntil([&] {
    auto pods = Pods();
    int running_on_live = 0;
    last.clear();
    for (const json& p : pods) {
      last += MetaString(p, "name") + "@" + NodeOf(p) + "/" + StringField(p["status"], "phase") + " ";
      if (lost_uids.count(MetaString(p, "uid")) > 0) return false;
      if (NodeOf(p) == "node-live" && StringField(p["status"], "phase") == "Running") ++running_on_live;
    }
    return pods.size() == 4 && running_on_live == 4;
  }, kWait)) << last;

  lost = Node("node-lost");
  std::set<std::string> taints;
  for (const json& t : lost["spec"]["taints"]) taints.insert(t.value("key", "") + ":" + t.value("effect", ""));
  EXPECT_EQ(taints, (std::set<std::string>{"node.kubernetes.io/unreachable:NoSchedule",
                                           "node.kubernetes.io/unreachable:NoExecute"}));
  auto stats = lifecycle->Stats();
  EXPECT_EQ(stats.nodes_marked_unknown, 1u);
  EXPECT_GE(stats.evictions, lost_uids.size());
  EXPECT_FALSE(stats.full_disruption);
  ASSERT_TRUE(lifecycle->FlushEvents());
  auto events = client_->List("/api/v1/namespaces/default/events");
  ASSERT_TRUE(events.ok());
  size_t evictions = 0, not_ready = 0;
  for (const json& e : (*events)["items"]) {
    if (e.value("reason", "") == "TaintManagerEviction") ++evictions;
    if (e.value("reason", "") == "NodeNotReady" && e["involvedObject"].value("name", "") == "node-lost") ++not_ready;
  }
  EXPECT_EQ(evictions, lost_uids.size());
  EXPECT_EQ(not_ready, 1u);
}

}  // namespace
}  // namespace capstan::controller::nodelifecycle
