// SchedulerController against the real API handler over a RocksStore in a temporary directory,
// run by a ControllerManager: spreading, unschedulable pods (condition, event, the node-added
// and pod-deleted triggers), NotReady nodes, resources, and two schedulers racing.
#include "controller/scheduler/scheduler_controller.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "client/informer_test_util.h"
#include "controller/manager/controller_manager.h"
#include "controller/scheduler/test_util.h"

namespace capstan::controller::scheduler {
namespace {

using namespace std::chrono_literals;
namespace ct = capstan::client::testing;
using client::MetaString;

constexpr char kPods[] = "/api/v1/namespaces/default/pods";
constexpr char kEvents[] = "/api/v1/namespaces/default/events";
constexpr auto kWait = 8000ms;

json Node(const std::string& name, const std::string& cpu = "4", bool ready = true, const json& labels = {}) {
  json n = testing::NodeJson(name, cpu);
  if (!ready) n["status"]["conditions"][0]["status"] = "False";
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) n["metadata"]["labels"][k] = v;
  }
  return n;
}

json Pod(const std::string& name, const std::string& cpu = "", const json& node_selector = {}) {
  json p = testing::Owned(testing::PodJson(name, cpu), "rs-uid-1");
  p["metadata"].erase("uid");  // the API assigns it
  p["metadata"]["ownerReferences"][0]["name"] = "web";
  if (node_selector.is_object()) p["spec"]["nodeSelector"] = node_selector;
  return p;
}

// Forwards to a real client, except that the first binding it carries is preceded by another
// "scheduler" binding the same pod to a different node, so the real one gets 409.
class BindingThiefApiClient : public ct::GatedApiClient {
 public:
  explicit BindingThiefApiClient(client::ApiClient* inner) : GatedApiClient(inner), inner_(inner) {}
  Result<json> Create(const std::string& path, const json& body, const client::Query& q) override {
    if (path.ends_with("/binding") && !stolen_.exchange(true)) {
      json other = body;
      other["target"]["name"] = body["target"]["name"] == "node-c" ? "node-a" : "node-c";
      stolen_to_ = other["target"]["name"];
      auto r = inner_->Create(path, other, q);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
    return GatedApiClient::Create(path, body, q);
  }
  std::string stolen_to() const { return stolen_to_; }

 private:
  client::ApiClient* const inner_;
  std::atomic<bool> stolen_{false};
  std::string stolen_to_;  // written before the real binding is sent, read after it returned
};

class SchedulerControllerTest : public ct::InProcessApiFixture {
 protected:
  void TearDown() override {
    managers_.clear();  // stops the schedulers and informers before the store closes
    thief_.reset();
    InProcessApiFixture::TearDown();
  }

  void MustCreate(const std::string& path, const json& obj) {
    auto r = client_->Create(path, obj);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void CreateNode(const json& node) { MustCreate("/api/v1/nodes", node); }
  void CreatePods(int n, const std::string& cpu = "", const std::string& prefix = "web-") {
    for (int i = 0; i < n; ++i) MustCreate(kPods, Pod(prefix + std::to_string(i), cpu));
  }

  // Starts a ControllerManager running one SchedulerController; returns the controller.
  SchedulerController* StartScheduler(SchedulerControllerOptions options = {}, client::ApiClient* api = nullptr) {
    auto manager = std::make_unique<ControllerManager>(api != nullptr ? api : client_.get());
    auto controller = std::make_unique<SchedulerController>(std::move(options));
    SchedulerController* raw = controller.get();
    manager->Add(std::move(controller));
    Status st = manager->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    managers_.push_back(std::move(manager));
    return raw;
  }

  std::vector<json> List(const std::string& path) {
    auto r = client_->List(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["items"].get<std::vector<json>>() : std::vector<json>{};
  }
  json GetPod(const std::string& name) {
    auto r = client_->Get(std::string(kPods) + "/" + name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json::object();
  }
  static std::string NodeName(const json& pod) { return client::StringField(client::Field(pod, "spec"), "nodeName"); }

  // Pods per node ("" for unbound ones).
  std::map<std::string, int> Placement() {
    std::map<std::string, int> out;
    for (const json& p : List(kPods)) ++out[NodeName(p)];
    return out;
  }
  int Bound() {
    int n = 0;
    for (const json& p : List(kPods)) n += NodeName(p).empty() ? 0 : 1;
    return n;
  }
  std::vector<json> EventsWithReason(const std::string& reason) {
    std::vector<json> out;
    for (const json& e : List(kEvents)) {
      if (e.value("reason", "") == reason) out.push_back(e);
    }
    return out;
  }
  static json Condition(const json& pod, const std::string& type) {
    for (const json& c : client::Field(client::Field(pod, "status"), "conditions")) {
      if (c.value("type", "") == type) return c;
    }
    return json::object();
  }

  std::unique_ptr<BindingThiefApiClient> thief_;  // outlives the managers that use it
  std::vector<std::unique_ptr<ControllerManager>> managers_;
};

TEST_F(SchedulerControllerTest, SpreadsThePodsOfOneOwnerEvenly) {
  for (const char* n : {"node-a", "node-b", "node-c"}) CreateNode(Node(n));
  SchedulerController* scheduler = StartScheduler();
  CreatePods(30);
  ASSERT_TRUE(ct::WaitUntil([&] { return Bound() == 30; }, kWait)) << Bound();
  EXPECT_EQ(Placement(), (std::map<std::string, int>{{"node-a", 10}, {"node-b", 10}, {"node-c", 10}}));
  json pod = GetPod("web-0");
  EXPECT_EQ(Condition(pod, "PodScheduled").value("status", ""), "True");
  // One Normal "Scheduled" event per pod, in kube-scheduler's words.
  ASSERT_TRUE(ct::WaitUntil([&] { return EventsWithReason("Scheduled").size() == 30; }, kWait));
  for (const json& e : EventsWithReason("Scheduled")) {
    const std::string name = e["involvedObject"]["name"];
    EXPECT_EQ(e["message"], "Successfully assigned default/" + name + " to " + NodeName(GetPod(name)));
    EXPECT_EQ(e["type"], "Normal");
    EXPECT_EQ(e["source"]["component"], "default-scheduler");
  }
  auto stats = scheduler->Stats();
  EXPECT_EQ(stats.bound, 30u);
  EXPECT_EQ(stats.nodes, 3u);
  EXPECT_EQ(stats.unscheduled, 0u);
}

TEST_F(SchedulerControllerTest, UnschedulablePodIsReportedThenBoundWhenAMatchingNodeArrives) {
  for (const char* n : {"node-a", "node-b", "node-c"}) CreateNode(Node(n));
  SchedulerControllerOptions options;
  options.initial_backoff = 1h;  // only the node-added trigger can bring the pod back
  options.max_backoff = 1h;
  SchedulerController* scheduler = StartScheduler(options);
  MustCreate(kPods, Pod("ssd-pod", "", {{"disk", "ssd"}}));

  const std::string message = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.";
  ASSERT_TRUE(ct::WaitUntil([&] { return Condition(GetPod("ssd-pod"), "PodScheduled").value("message", "") == message; },
                            kWait));
  json condition = Condition(GetPod("ssd-pod"), "PodScheduled");
  EXPECT_EQ(condition["status"], "False");
  EXPECT_EQ(condition["reason"], "Unschedulable");
  ASSERT_TRUE(ct::WaitUntil([&] { return !EventsWithReason("FailedScheduling").empty(); }, kWait));
  json event = EventsWithReason("FailedScheduling")[0];
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["message"], message);
  EXPECT_EQ(event["involvedObject"]["name"], "ssd-pod");
  EXPECT_EQ(scheduler->Stats().unscheduled, 1u);
  EXPECT_EQ(scheduler->Stats().status_writes, 1u);  // its own status write did not trigger another

  CreateNode(Node("node-ssd", "4", true, {{"disk", "ssd"}}));
  ASSERT_TRUE(ct::WaitUntil([&] { return NodeName(GetPod("ssd-pod")) == "node-ssd"; }, kWait));
  condition = Condition(GetPod("ssd-pod"), "PodScheduled");
  EXPECT_EQ(condition["status"], "True");
  EXPECT_EQ(scheduler->Stats().unscheduled, 0u);
}

TEST_F(SchedulerControllerTest, NotReadyNodeGetsNoPods) {
  CreateNode(Node("node-a"));
  CreateNode(Node("node-b"));
  CreateNode(Node("node-sick", "4", /*ready=*/false));
  StartScheduler();
  CreatePods(12);
  ASSERT_TRUE(ct::WaitUntil([&] { return Bound() == 12; }, kWait)) << Bound();
  EXPECT_EQ(Placement(), (std::map<std::string, int>{{"node-a", 6}, {"node-b", 6}}));
}

TEST_F(SchedulerControllerTest, ResourcesLimitOnePodPerNodeAndADeletionMakesRoom) {
  for (const char* n : {"node-a", "node-b", "node-c"}) CreateNode(Node(n, "1"));
  SchedulerControllerOptions options;
  options.initial_backoff = 1h;  // only the pod-deleted trigger can bring pending pods back
  options.max_backoff = 1h;
  SchedulerController* scheduler = StartScheduler(options);
  CreatePods(5, "600m");
  ASSERT_TRUE(ct::WaitUntil([&] { return Bound() == 3 && scheduler->Stats().unscheduled == 2; }, kWait));
  EXPECT_EQ(Placement(), (std::map<std::string, int>{{"", 2}, {"node-a", 1}, {"node-b", 1}, {"node-c", 1}}));
  std::string pending, bound;
  for (const json& p : List(kPods)) (NodeName(p).empty() ? pending : bound) = MetaString(p, "name");
  ASSERT_TRUE(ct::WaitUntil([&] {
    return Condition(GetPod(pending), "PodScheduled").value("message", "") ==
           "0/3 nodes are available: 3 Insufficient cpu.";
  }, kWait));

  // Deleting a bound pod frees its node's cpu: one pending pod takes it, the other still waits.
  // (Without a node agent here, a graceful deletion would leave it Terminating, still holding its
  // cpu as in Kubernetes: grace 0 removes it at once.)
  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/" + bound, json{{"gracePeriodSeconds", 0}}).ok());
  ASSERT_TRUE(ct::WaitUntil([&] { return Bound() == 3 && List(kPods).size() == 4; }, kWait));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Bound(), 3);
  for (const auto& [node, count] : Placement()) EXPECT_EQ(count, 1) << node;
}

TEST_F(SchedulerControllerTest, DeletedNodeGetsNoMorePods) {
  for (const char* n : {"node-a", "node-b", "node-c"}) CreateNode(Node(n));
  SchedulerController* scheduler = StartScheduler();
  ASSERT_TRUE(client_->Delete("/api/v1/nodes/node-c").ok());
  ASSERT_TRUE(ct::WaitUntil([&] { return scheduler->Stats().nodes == 2; }, kWait));
  CreatePods(6);
  ASSERT_TRUE(ct::WaitUntil([&] { return Bound() == 6; }, kWait));
  EXPECT_EQ(Placement(), (std::map<std::string, int>{{"node-a", 3}, {"node-b", 3}}));
}

TEST_F(SchedulerControllerTest, TwoSchedulersRacingNeverDoubleBind) {
  for (const char* n : {"node-a", "node-b", "node-c"}) CreateNode(Node(n));
  SchedulerController* first = StartScheduler();
  SchedulerController* second = StartScheduler();
  CreatePods(60);
  ASSERT_TRUE(ct::WaitUntil([&] { return Bound() == 60; }, kWait)) << Bound();
  // Each pod was bound by exactly one of them: the loser of every race got 409 and said nothing.
  ASSERT_TRUE(ct::WaitUntil([&] { return first->Stats().bound + second->Stats().bound == 60; }, kWait))
      << first->Stats().bound << " + " << second->Stats().bound;
  const uint64_t first_conflicts = first->Stats().conflicts, second_conflicts = second->Stats().conflicts;
  managers_.clear();  // drains both event recorders
  auto scheduled = EventsWithReason("Scheduled");
  EXPECT_EQ(scheduled.size(), 60u);
  std::set<std::string> pods;
  for (const json& e : scheduled) {
    pods.insert(e["involvedObject"]["name"].get<std::string>());
    EXPECT_EQ(e["count"], 1);
  }
  EXPECT_EQ(pods.size(), 60u);
  RecordProperty("conflicts", std::to_string(first_conflicts + second_conflicts));
  // Whatever the interleaving, the cluster stays within capacity and roughly even.
  for (const auto& [node, count] : Placement()) EXPECT_GE(count, 10) << node;
}

TEST_F(SchedulerControllerTest, LosingABindingRaceDropsTheAssumption) {
  for (const char* n : {"node-a", "node-b", "node-c"}) CreateNode(Node(n, "1"));
  thief_ = std::make_unique<BindingThiefApiClient>(client_.get());
  SchedulerController* scheduler = StartScheduler({}, thief_.get());
  CreatePods(1, "600m", "first-");
  ASSERT_TRUE(ct::WaitUntil([&] { return scheduler->Stats().conflicts == 1; }, kWait));
  EXPECT_EQ(scheduler->Stats().bound, 0u);
  EXPECT_EQ(NodeName(GetPod("first-0")), thief_->stolen_to());
  // The node the scheduler had assumed is free again and the thief's node is full: two more
  // pods take the two other nodes, and a third finds no room.
  CreatePods(3, "600m");
  ASSERT_TRUE(ct::WaitUntil([&] { return Bound() == 3 && scheduler->Stats().unscheduled == 1; }, kWait));
  EXPECT_EQ(Placement(), (std::map<std::string, int>{{"", 1}, {"node-a", 1}, {"node-b", 1}, {"node-c", 1}}));
  ASSERT_TRUE(ct::WaitUntil([&] { return scheduler->Stats().bound == 2; }, kWait)) << scheduler->Stats().bound;
}

}  // namespace
}  // namespace capstan::controller::scheduler
