// The fixture of the NodeLifecycleController tests (node_lifecycle_controller_test.cc,
// node_lifecycle_disruption_test.cc): the real API handler over a RocksStore in a temporary
// directory, reconcile by reconcile. The test plays the node agents (Node status and Lease
// writes), calls Reconcile(node) itself (no workers) and moves a FakeClock, so timeouts of minutes
// take no time. Before each reconcile it waits until the informers show the API's current state.
#pragma once

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

}  // namespace
}  // namespace capstan::controller::nodelifecycle
