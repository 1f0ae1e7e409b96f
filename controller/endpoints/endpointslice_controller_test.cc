// The EndpointSlice controller against a real API over a RocksDB store, through the in-process
// client, as `capstan server` runs it: Pods turning Ready, terminating and going, and no write
// when nothing changed.
#include "controller/endpoints/endpointslice_controller.h"

#include <gtest/gtest.h>

#include "client/informer_test_util.h"
#include "controller/endpoints/endpointslice_sync.h"
#include "controller/manager/controller_manager.h"

namespace capstan::controller::endpoints {
namespace {

using client::testing::WaitUntil;

constexpr char kPods[] = "/api/v1/namespaces/default/pods";
constexpr char kServices[] = "/api/v1/namespaces/default/services";
constexpr char kSlices[] = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";

class EndpointSliceControllerTest : public client::testing::InProcessApiFixture {
 protected:
  void SetUp() override {
    InProcessApiFixture::SetUp();
    json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "node-1"}}},
                 {"status", {{"addresses", json::array({{{"type", "InternalIP"}, {"address", "127.0.0.1"}}})}}}};
    ASSERT_TRUE(client_->Create("/api/v1/nodes", node).ok());
    manager_ = std::make_unique<ControllerManager>(client_.get());
    manager_->Add(std::make_unique<EndpointSliceController>());
    Status st = manager_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void TearDown() override {
    manager_.reset();
    InProcessApiFixture::TearDown();
  }

  // A Pod on node-1 whose container port "http" (8080) is served on `host_port`.
  void RunPod(const std::string& name, int host_port, bool ready) {
    json pod = {{"apiVersion", "v1"}, {"kind", "Pod"},
                {"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
                {"spec", {{"nodeName", "node-1"},
                          {"containers", json::array({{{"name", "app"}, {"image", "busybox"},
                                                       {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})}}})}}}};
    auto created = client_->Create(kPods, pod);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    SetStatus(*created, host_port, ready);
  }
  void SetStatus(json pod, int host_port, bool ready) {
    pod["status"]["phase"] = "Running";
    pod["status"]["conditions"] = json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}});
    pod["status"]["portMappings"] = json::array({{{"container", "app"}, {"name", "http"}, {"containerPort", 8080},
                                                  {"hostPort", host_port}, {"protocol", "TCP"}}});
    auto r = client_->Update(std::string(kPods) + "/" + pod["metadata"]["name"].get<std::string>() + "/status", pod);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::vector<json> Slices() {
    auto list = client_->List(kSlices, {{"labelSelector", "kubernetes.io/service-name=web"}});
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<json> out;
    if (list.ok()) {
      for (auto& s : (*list)["items"]) out.push_back(s);
    }
    return out;
  }

  // "address:port ready/serving/terminating" per endpoint, sorted.
  std::set<std::string> Endpoints() {
    std::set<std::string> out;
    for (const json& s : Slices()) {
      for (const json& e : s["endpoints"]) {
        const json& c = e["conditions"];
        out.insert(e["addresses"][0].get<std::string>() + ":" + std::to_string(s["ports"][0]["port"].get<int>()) +
                   " " + (c["ready"] == true ? "R" : "-") + (c["serving"] == true ? "S" : "-") +
                   (c["terminating"] == true ? "T" : "-"));
      }
    }
    return out;
  }

  std::unique_ptr<ControllerManager> manager_;
};

TEST_F(EndpointSliceControllerTest, FollowsThePodsOfTheService) {
  json svc = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "web"}}},
              {"spec", {{"selector", {{"app", "web"}}}, {"ports", json::array({{{"name", "http"}, {"port", 80}, {"targetPort", "http"}}})}}}};
  auto created = client_->Create(kServices, svc);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  RunPod("web-1", 41001, true);
  RunPod("web-2", 41002, false);
  using Set = std::set<std::string>;
  ASSERT_TRUE(WaitUntil([&] { return Endpoints() == Set{"127.0.0.1:41001 RS-", "127.0.0.1:41002 ---"}; }))
      << ::testing::PrintToString(Endpoints());
  for (const json& s : Slices()) {
    EXPECT_EQ(s["metadata"]["labels"][kManagedByLabel], kManagedByValue);
    EXPECT_EQ(s["metadata"]["ownerReferences"][0]["uid"], (*created)["metadata"]["uid"]);
  }

  // web-2 turns Ready; web-1 starts terminating (a graceful delete: it is bound to a node).
  auto web2 = client_->Get(std::string(kPods) + "/web-2");
  ASSERT_TRUE(web2.ok());
  SetStatus(*web2, 41002, true);
  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/web-1").ok());
  ASSERT_TRUE(WaitUntil([&] { return Endpoints() == Set{"127.0.0.1:41001 -ST", "127.0.0.1:41002 RS-"}; }))
      << ::testing::PrintToString(Endpoints());

  // Nothing changed: a Service write that does not touch the endpoints writes no slice.
  std::map<std::string, std::string> versions;
  for (const json& s : Slices()) versions[s["metadata"]["name"]] = s["metadata"]["resourceVersion"];
  ASSERT_TRUE(client_->Patch(std::string(kServices) + "/web", client::PatchType::kMerge,
                             json{{"metadata", {{"annotations", {{"touched", "yes"}}}}}})
                  .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const json& s : Slices()) EXPECT_EQ(versions[s["metadata"]["name"]], s["metadata"]["resourceVersion"]);

  // web-1 gone for good: its slice goes (or is reused) and only web-2 is left.
  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/web-1", json{{"gracePeriodSeconds", 0}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return Endpoints() == Set{"127.0.0.1:41002 RS-"}; }))
      << ::testing::PrintToString(Endpoints());
  EXPECT_EQ(Slices().size(), 1u);
}

}  // namespace
}  // namespace capstan::controller::endpoints
