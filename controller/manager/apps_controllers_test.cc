// The ReplicaSet and Deployment controllers against a real API over a RocksDB store, through the
// in-process client, as `capstan server` runs them. (Pods never become ready here: no node
// agent; rollouts with running Pods are tested in e2e with the fake driver.)
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "client/informer_test_util.h"
#include "controller/deployment/deployment_controller.h"
#include "controller/gc/garbage_collector.h"
#include "controller/manager/controller_manager.h"
#include "controller/replicaset/replicaset_controller.h"

namespace capstan::controller {
namespace {

using client::testing::WaitUntil;
using json = nlohmann::json;

constexpr char kPods[] = "/api/v1/namespaces/default/pods";
constexpr char kReplicaSets[] = "/apis/apps/v1/namespaces/default/replicasets";
constexpr char kDeployments[] = "/apis/apps/v1/namespaces/default/deployments";

json Template(const std::string& app) {
  return {{"metadata", {{"labels", {{"app", app}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
}

json ReplicaSet(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata", {{"name", name}}},
          {"spec", {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}, {"template", Template(name)}}}};
}

class AppsControllersTest : public client::testing::InProcessApiFixture {
 protected:
  void SetUp() override {
    InProcessApiFixture::SetUp();
    StartControllers();
  }
  void StartControllers() {
    manager_ = std::make_unique<ControllerManager>(client_.get());
    manager_->Add(std::make_unique<gc::GarbageCollector>());
    manager_->Add(std::make_unique<replicaset::ReplicaSetController>());
    manager_->Add(std::make_unique<deployment::DeploymentController>());
    Status st = manager_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void TearDown() override {
    manager_.reset();
    InProcessApiFixture::TearDown();
  }

  // Pods of the namespace, through the API (not a cache).
  std::vector<json> Pods(const std::string& selector = "") {
    client::Query q;
    if (!selector.empty()) q.emplace_back("labelSelector", selector);
    auto list = client_->List(kPods, q);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<json> out;
    if (list.ok()) {
      for (auto& p : (*list)["items"]) out.push_back(p);
    }
    return out;
  }

  std::unique_ptr<ControllerManager> manager_;
};

TEST_F(AppsControllersTest, ReplicaSetScalesUpAndDownAndNeverOverCreates) {
  auto created = client_->Create(kReplicaSets, ReplicaSet("web", 5));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string uid = (*created)["metadata"]["uid"];
  size_t most = 0;
  ASSERT_TRUE(WaitUntil([&] {
    size_t n = Pods("app=web").size();
    most = std::max(most, n);
    return n == 5;
  }));
  for (const auto& p : Pods("app=web")) {
    EXPECT_EQ(p["metadata"]["generateName"], "web-");
    ASSERT_EQ(p["metadata"]["ownerReferences"].size(), 1u);
    EXPECT_EQ(p["metadata"]["ownerReferences"][0]["uid"], uid);
    EXPECT_EQ(p["metadata"]["ownerReferences"][0]["controller"], true);
  }
  ASSERT_TRUE(WaitUntil([&] {
    auto rs = client_->Get(std::string(kReplicaSets) + "/web");
    return rs.ok() && (*rs)["status"].value("replicas", -1) == 5 && (*rs)["status"].value("observedGeneration", 0) == 1;
  }));
  // Held steady: still five a little later (no create beyond the expectation).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  most = std::max(most, Pods("app=web").size());
  EXPECT_EQ(most, 5u);

  auto scaled = client_->Patch(std::string(kReplicaSets) + "/web", client::PatchType::kMerge,
                               json{{"spec", {{"replicas", 2}}}});
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=web").size() == 2; }));
  // A deleted Pod is replaced.
  auto victim = Pods("app=web")[0]["metadata"]["name"].get<std::string>();
  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/" + victim).ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto pods = Pods("app=web");
    return pods.size() == 2 && pods[0]["metadata"]["name"] != victim && pods[1]["metadata"]["name"] != victim;
  }));
}

// The status counts move only toward the truth: a scale-up writes its status once the new Pods are
// in the cache (not a status counting none of them first), and a scale-down never counts a Pod
// again whose delete was sent while the cache still shows it.
TEST_F(AppsControllersTest, ReplicaSetStatusCountsNeverRunAheadOrBack) {
  auto watch = client_->Watch(kReplicaSets, {{"watch", "true"}});
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_TRUE(client_->Create(kReplicaSets, ReplicaSet("count", 6)).ok());
  std::vector<int64_t> counts;  // status.replicas of every event that carries one
  auto follow_until = [&](int64_t want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto ev = (*watch)->Next(std::chrono::milliseconds(200));
      if (!ev.ok()) return false;
      if (!ev->has_value()) continue;
      const json& status = (**ev)["object"].value("status", json::object());
      if (!status.contains("replicas")) continue;
      counts.push_back(status["replicas"].get<int64_t>());
      if (counts.back() == want && (**ev)["object"]["spec"]["replicas"] == want) return true;
    }
    return false;
  };
  ASSERT_TRUE(follow_until(6));
  EXPECT_EQ(counts, (std::vector<int64_t>{6})) << "one status write, after all six creates were seen";
  counts.clear();
  ASSERT_TRUE(client_->Patch(std::string(kReplicaSets) + "/count", client::PatchType::kMerge,
                             json{{"spec", {{"replicas", 0}}}})
                  .ok());
  ASSERT_TRUE(follow_until(0));
  for (size_t i = 1; i < counts.size(); ++i) EXPECT_LE(counts[i], counts[i - 1]) << "event " << i;
}

TEST_F(AppsControllersTest, ReplicaSetAdoptsOrphansAndReleasesPodsThatStopMatching) {
  json orphan = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "orphan"}, {"labels", {{"app", "api"}}}}},
                 {"spec", Template("api")["spec"]}};
  ASSERT_TRUE(client_->Create(kPods, orphan).ok());
  auto rs = client_->Create(kReplicaSets, ReplicaSet("api", 2));
  ASSERT_TRUE(rs.ok());
  const std::string uid = (*rs)["metadata"]["uid"];
  // The orphan counts as one of the two: one Pod is created, and the orphan gets our reference.
  ASSERT_TRUE(WaitUntil([&] {
    auto p = client_->Get(std::string(kPods) + "/orphan");
    return p.ok() && p->contains("metadata") && (*p)["metadata"].contains("ownerReferences") &&
           (*p)["metadata"]["ownerReferences"][0]["uid"] == uid && Pods("app=api").size() == 2;
  }));
  // Relabelled, it no longer matches: released (reference gone) and replaced.
  ASSERT_TRUE(client_->Patch(std::string(kPods) + "/orphan", client::PatchType::kMerge,
                             json{{"metadata", {{"labels", {{"app", "moved"}}}}}})
                  .ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto p = client_->Get(std::string(kPods) + "/orphan");
    bool released = p.ok() && (!(*p)["metadata"].contains("ownerReferences") ||
                               (*p)["metadata"]["ownerReferences"].empty());
    return released && Pods("app=api").size() == 2;
  }));
}

TEST_F(AppsControllersTest, DeploymentCreatesAHashedReplicaSetAndScales) {
  json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", "shop"}}},
            {"spec", {{"replicas", 3}, {"selector", {{"matchLabels", {{"app", "shop"}}}}}, {"template", Template("shop")}}}};
  ASSERT_TRUE(client_->Create(kDeployments, d).ok());
  std::string rs_name;
  ASSERT_TRUE(WaitUntil([&] {
    auto list = client_->List(kReplicaSets);
    if (!list.ok() || (*list)["items"].size() != 1) return false;
    const json& rs = (*list)["items"][0];
    rs_name = rs["metadata"]["name"];
    return rs["metadata"]["annotations"].value("deployment.kubernetes.io/revision", "") == "1";
  }));
  EXPECT_EQ(rs_name.rfind("shop-", 0), 0u) << rs_name;
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=shop").size() == 3; }));
  for (const auto& p : Pods("app=shop")) {
    EXPECT_EQ(p["metadata"]["labels"]["pod-template-hash"], rs_name.substr(5));
  }
  ASSERT_TRUE(WaitUntil([&] {
    auto got = client_->Get(std::string(kDeployments) + "/shop");
    return got.ok() && (*got)["status"].value("replicas", 0) == 3 && (*got)["status"].value("updatedReplicas", 0) == 3;
  }));
  ASSERT_TRUE(client_->Patch(std::string(kDeployments) + "/shop", client::PatchType::kMerge,
                             json{{"spec", {{"replicas", 0}}}})
                  .ok());
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=shop").empty(); }));
  // What happened is on record as Events, as kubectl describe shows them.
  std::set<std::string> reasons;
  ASSERT_TRUE(WaitUntil([&] {
    auto events = client_->List("/api/v1/namespaces/default/events");
    if (events.ok()) {
      for (const auto& e : (*events)["items"]) reasons.insert(e.value("reason", ""));
    }
    return reasons.count("ScalingReplicaSet") && reasons.count("SuccessfulCreate") && reasons.count("SuccessfulDelete");
  })) << "reasons seen: " << json(reasons).dump();
}

json Deployment(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}}},
          {"spec", {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}, {"template", Template(name)}}}};
}

// Background (the default): the owner goes at once; the collector removes the dependents, whose
// owner is gone, level by level.
TEST_F(AppsControllersTest, GarbageCollectorBackgroundCascade) {
  ASSERT_TRUE(client_->Create(kDeployments, Deployment("bg", 3)).ok());
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=bg").size() == 3; }));
  ASSERT_TRUE(client_->Delete(std::string(kDeployments) + "/bg").ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto rss = client_->List(kReplicaSets, {{"labelSelector", "app=bg"}});
    return rss.ok() && (*rss)["items"].empty() && Pods("app=bg").empty();
  }));
}

// Orphan: the owner goes once its dependents no longer point at it; they stay.
TEST_F(AppsControllersTest, GarbageCollectorOrphansDependents) {
  ASSERT_TRUE(client_->Create(kReplicaSets, ReplicaSet("keep", 2)).ok());
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=keep").size() == 2; }));
  ASSERT_TRUE(client_->Delete(std::string(kReplicaSets) + "/keep", json{{"propagationPolicy", "Orphan"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return client_->Get(std::string(kReplicaSets) + "/keep").status().IsNotFound(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto pods = Pods("app=keep");
  ASSERT_EQ(pods.size(), 2u);
  for (const auto& p : pods) {
    EXPECT_FALSE(p["metadata"].contains("ownerReferences") && !p["metadata"]["ownerReferences"].empty()) << p.dump();
  }
}

// Foreground: the owner stays (deletionTimestamp set) until every blocking dependent is gone.
TEST_F(AppsControllersTest, GarbageCollectorForegroundWaitsForDependents) {
  ASSERT_TRUE(client_->Create(kDeployments, Deployment("fg", 2)).ok());
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=fg").size() == 2; }));
  ASSERT_TRUE(client_->Delete(std::string(kDeployments) + "/fg", json{{"propagationPolicy", "Foreground"}}).ok());
  bool seen_waiting = false;
  ASSERT_TRUE(WaitUntil([&] {
    auto d = client_->Get(std::string(kDeployments) + "/fg");
    if (d.ok()) {
      // Still here only while dependents are.
      seen_waiting = seen_waiting || !(*d)["metadata"].value("deletionTimestamp", "").empty();
      return false;
    }
    return d.status().IsNotFound();
  }));
  EXPECT_TRUE(Pods("app=fg").empty());
  auto rss = client_->List(kReplicaSets, {{"labelSelector", "app=fg"}});
  ASSERT_TRUE(rss.ok());
  EXPECT_TRUE((*rss)["items"].empty());
}

// Dependents whose owner vanished while no collector ran are collected when one starts.
TEST_F(AppsControllersTest, GarbageCollectorCollectsDanglingDependentsAfterARestart) {
  manager_.reset();  // "the server was down"
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", "dangling"},
                {"labels", {{"app", "none"}}},
                {"ownerReferences",
                 {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "gone"},
                   {"uid", "00000000-0000-0000-0000-000000000001"}, {"controller", true}}}}}},
              {"spec", Template("none")["spec"]}};
  ASSERT_TRUE(client_->Create(kPods, pod).ok());
  json kept = pod;
  kept["metadata"]["name"] = "owned";
  json owner = ReplicaSet("alive", 0);
  auto alive = client_->Create(kReplicaSets, owner);
  ASSERT_TRUE(alive.ok());
  kept["metadata"]["ownerReferences"][0]["name"] = "alive";
  kept["metadata"]["ownerReferences"][0]["uid"] = (*alive)["metadata"]["uid"];
  kept["metadata"]["ownerReferences"][0]["controller"] = false;
  ASSERT_TRUE(client_->Create(kPods, kept).ok());
  StartControllers();
  ASSERT_TRUE(WaitUntil([&] { return client_->Get(std::string(kPods) + "/dangling").status().IsNotFound(); }));
  EXPECT_TRUE(client_->Get(std::string(kPods) + "/owned").ok()) << "a Pod whose owner exists stays";
}

// A manager on informers it shares with other parts of the process (the load balancer's, on the
// informers of the node agent in `capstan server`): stopped and destroyed, it takes its
// controllers' handlers out (ASan would see one called on a destroyed controller), and a manager
// started later on the running informers gets the cache replayed and converges.
TEST_F(AppsControllersTest, ManagersOnSharedInformersLeaveNoHandlersBehind) {
  manager_.reset();  // the fixture's own, on informers of its own
  client::SharedInformerFactory informers(client_.get());
  ControllerManagerOptions options;
  options.informers = &informers;
  auto start = [&] {
    auto m = std::make_unique<ControllerManager>(client_.get(), options);
    m->Add(std::make_unique<replicaset::ReplicaSetController>());
    Status st = m->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return m;
  };
  ASSERT_TRUE(client_->Create(kReplicaSets, ReplicaSet("shared", 2)).ok());
  auto first = start();
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=shared").size() == 2; }));
  first.reset();

  // Changes while no manager runs reach no handler; the next one sees them in the cache.
  ASSERT_TRUE(client_->Patch(std::string(kReplicaSets) + "/shared", client::PatchType::kMerge,
                             json{{"spec", {{"replicas", 3}}}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Pods("app=shared").size(), 2u);
  auto second = start();
  ASSERT_TRUE(WaitUntil([&] { return Pods("app=shared").size() == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Pods("app=shared").size(), 3u);
  second.reset();
  informers.StopAll();
}

}  // namespace
}  // namespace capstan::controller
