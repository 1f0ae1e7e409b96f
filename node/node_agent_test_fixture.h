// The NodeAgent test fixture: the fake driver's agent against the real API handler over a
// RocksStore in a temporary directory (client::testing::InProcessApiFixture), and the helpers its
// tests share. Test-only.
#pragma once

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "client/informer_test_util.h"
#include "node/node_agent.h"

namespace capstan::node::testing {

using json = nlohmann::json;
using namespace std::chrono_literals;
using client::MetaString;
using client::testing::InProcessApiFixture;
using client::testing::WaitUntil;

inline constexpr char kNode[] = "hollow-1";
inline constexpr char kPods[] = "/api/v1/namespaces/default/pods";
inline constexpr char kLease[] = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/hollow-1";

inline json Pod(const std::string& name, const std::string& restart_policy = "Always") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"nodeName", kNode},
            {"restartPolicy", restart_policy},
            {"containers", {{{"name", "app"}, {"image", "nginx:1.25"}}}}}}};
}

inline const json& Condition(const json& obj, const std::string& type) {
  static const json kNone = json::object();
  const json& conditions = client::Field(client::Field(obj, "status"), "conditions");
  if (conditions.is_array()) {
    for (const json& c : conditions) {
      if (client::StringField(c, "type") == type) return c;
    }
  }
  return kNone;
}

inline bool IsReady(const json& obj) { return client::StringField(Condition(obj, "Ready"), "status") == "True"; }

class NodeAgentTest : public InProcessApiFixture {
 protected:
  void SetUp() override {
    InProcessApiFixture::SetUp();
    MakeNamespace("kube-node-lease");
  }

  NodeAgentOptions Options(RuntimeDriver* driver, controller::Clock* clock = nullptr) {
    NodeAgentOptions o;
    o.node_name = kNode;
    o.driver = driver;
    o.address = "10.1.2.3";
    o.heartbeat_interval = 50ms;
    o.status_update_interval = 10s;
    o.crash_backoff_initial = 20ms;
    o.crash_backoff_max = 80ms;
    o.workers = 2;
    o.clock = clock;
    return o;
  }

  json Get(const std::string& path) {
    auto r = client_->Get(path);
    return r.ok() ? *r : json();
  }
  json GetPod(const std::string& name) { return Get(std::string(kPods) + "/" + name); }
  json CreatePod(const json& pod) {
    auto r = client_->Create(kPods, pod);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }
  // Waits for `pred` over the pod's current state; returns the last state read.
  json WaitPod(const std::string& name, const std::function<bool(const json&)>& pred,
               std::chrono::milliseconds timeout = 8000ms) {
    json pod;
    bool ok = WaitUntil([&] {
      pod = GetPod(name);
      return !pod.is_null() && pred(pod);
    }, timeout);
    EXPECT_TRUE(ok) << "pod " << name << " never got there; last: " << pod.dump();
    return pod;
  }
  json PodOf(const std::string& name, const std::string& image) {
    json pod = Pod(name);
    pod["spec"]["containers"][0]["image"] = image;
    return pod;
  }
  // Runs a pod of `image` until Ready, deletes it, and waits until the agent let it go.
  void RunThenDelete(NodeAgent& agent, const std::string& name, const std::string& image) {
    CreatePod(PodOf(name, image));
    WaitPod(name, IsReady);
    ASSERT_TRUE(client_->Delete(std::string(kPods) + "/" + name).ok());
    ASSERT_TRUE(WaitUntil([&] { return agent.TrackedPods() == 0; }));
  }
  static bool Idle(NodeAgent& agent) {
    auto s = agent.QueueStats();
    return s.depth == 0 && s.processing == 0;
  }
};

}  // namespace capstan::node::testing
