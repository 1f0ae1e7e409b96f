// NodeAgent and the termination order (node/termination_gate.h): a Pod the load balancer routes
// to is stopped only once it is drained, or when its grace period runs out.
#include <gtest/gtest.h>

#include "node/fake_driver.h"
#include "node/node_agent_test_fixture.h"

namespace capstan::node {
namespace {

using namespace testing;  // the fixture (node_agent_test_fixture.h)

// The load balancer's mark on a Pod (what the HAProxy controller writes): one condition, as a
// strategic merge patch keyed by type.
Status MarkDrained(client::ApiClient* api, const std::string& name, const std::string& status) {
  json patch = {{"status",
                 {{"conditions", json::array({{{"type", "haproxy.capstan.io/Drained"},
                                               {"status", status},
                                               {"reason", status == "True" ? "Drained" : "Routed"}}})}}}};
  return api->Patch(std::string(kPods) + "/" + name + "/status", client::PatchType::kStrategic, patch).status();
}

TEST_F(NodeAgentTest, ARoutedPodIsStoppedOnlyOnceDrainedOrWhenItsGraceRunsOut) {
  controller::FakeClock clock;
  FakeDriverConfig config;
  config.start_latency = 1s;
  FakeDriver driver(config, &clock);
  NodeAgentOptions o = Options(&driver, &clock);
  o.heartbeat_interval = 1h;
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  for (const char* name : {"drained", "stuck"}) {
    CreatePod(Pod(name));
    WaitPod(name, [](const json& p) { return p["status"].contains("containerStatuses"); });
    // Marked while Pending: the agent's own status writes that follow keep the condition.
    ASSERT_TRUE(MarkDrained(client_.get(), name, "False").ok());
  }
  bool ready = false;
  for (int i = 0; i < 50 && !ready; ++i) {
    clock.Advance(1s);
    ready = WaitUntil([&] { return IsReady(GetPod("drained")) && IsReady(GetPod("stuck")); }, 100ms);
  }
  ASSERT_TRUE(ready);
  EXPECT_EQ(Condition(GetPod("drained"), "haproxy.capstan.io/Drained")["status"], "False");

  for (const char* name : {"drained", "stuck"}) ASSERT_TRUE(client_->Delete(std::string(kPods) + "/" + name).ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(driver.PodCount(), 2u) << "stopped before the load balancer drained them";
  ASSERT_TRUE(MarkDrained(client_.get(), "drained", "True").ok());
  EXPECT_TRUE(WaitUntil([&] { return client_->Get(std::string(kPods) + "/drained").status().IsNotFound(); }));
  EXPECT_EQ(driver.PodCount(), 1u);
  // The other one is never drained (the load balancer is gone): its grace (30 s) bounds the wait.
  clock.Advance(29s);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(driver.PodCount(), 1u);
  clock.Advance(2s);
  EXPECT_TRUE(WaitUntil([&] { return driver.PodCount() == 0; }));
}

}  // namespace
}  // namespace capstan::node
