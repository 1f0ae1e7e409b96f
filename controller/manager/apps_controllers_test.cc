// The ReplicaSet and Deployment controllers against a real API over a RocksDB store, through the
// in-process client, as `capstan server` runs them. (Pods never become ready here: no node
// agent; rollouts with running Pods are tested in e2e with the fake driver.)
#include <gtest/gtest.h>

#include "client/informer_test_util.h"
#include "controller/deployment/deployment_controller.h"
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
    manager_ = std::make_unique<ControllerManager>(client_.get());
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
}

}  // namespace
}  // namespace capstan::controller
