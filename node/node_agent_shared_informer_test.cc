// NodeAgent on a shared Pod informer (`capstan server`: the node agent and the load balancer
// share one cache of all Pods): each agent runs the Pods bound to its node, and one that stops
// takes its handler with it.
#include <memory>

#include <gtest/gtest.h>

#include "client/informer_factory.h"
#include "node/fake_driver.h"
#include "node/node_agent_test_fixture.h"

namespace capstan::node {
namespace {

using namespace testing;  // the fixture (node_agent_test_fixture.h)

// Two agents on one cache of all Pods (as the node agent and the load balancer share one in
// `capstan server`): each runs exactly the Pods bound to its node; an unbound Pod runs nowhere
// until its binding, which reaches the agent as an update.
TEST_F(NodeAgentTest, AgentsSharingOnePodCacheRunOnlyThePodsBoundToTheirNode) {
  client::SharedInformerFactory informers(client_.get());
  FakeDriver driver1, driver2;
  NodeAgentOptions o1 = Options(&driver1);
  o1.informers = &informers;
  NodeAgentOptions o2 = Options(&driver2);
  o2.node_name = "hollow-2";
  o2.informers = &informers;
  NodeAgent agent1(client_.get(), o1);
  auto agent2 = std::make_unique<NodeAgent>(client_.get(), o2);
  ASSERT_TRUE(agent1.Start().ok());
  ASSERT_TRUE(agent2->Start().ok());  // the shared Pod informer already runs: its handler joins late
  CreatePod(Pod("one"));
  json two = Pod("two");
  two["spec"]["nodeName"] = "hollow-2";
  CreatePod(two);
  json later = Pod("later");
  later["spec"].erase("nodeName");
  CreatePod(later);
  WaitPod("one", IsReady);
  WaitPod("two", IsReady);
  ASSERT_TRUE(WaitUntil([&] { return Idle(agent1) && Idle(*agent2); }));
  EXPECT_EQ(driver1.PodCount(), 1u);
  EXPECT_EQ(driver2.PodCount(), 1u);
  EXPECT_EQ(agent1.TrackedPods(), 1u);
  EXPECT_EQ(agent2->TrackedPods(), 1u);
  EXPECT_FALSE(GetPod("later").contains("status") && GetPod("later")["status"].contains("containerStatuses"));

  json binding = {{"apiVersion", "v1"}, {"kind", "Binding"}, {"metadata", {{"name", "later"}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "hollow-2"}}}};
  auto bound = client_->Create(std::string(kPods) + "/later/binding", binding);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  WaitPod("later", IsReady);
  EXPECT_EQ(driver1.PodCount(), 1u);
  EXPECT_EQ(driver2.PodCount(), 2u);

  // Deleting one agent's Pod leaves the other agent's alone.
  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/two").ok());
  EXPECT_TRUE(WaitUntil([&] { return driver2.PodCount() == 1u && agent2->TrackedPods() == 1u; }));
  EXPECT_EQ(driver1.PodCount(), 1u);

  // An agent that stops takes its handler with it: the shared informer runs on without it.
  agent2->Stop();
  agent2.reset();
  json three = Pod("three");
  three["spec"]["nodeName"] = "hollow-2";
  CreatePod(three);
  CreatePod(Pod("four"));
  WaitPod("four", IsReady);
  EXPECT_EQ(driver1.PodCount(), 2u);
  EXPECT_EQ(driver2.PodCount(), 1u) << "nobody runs hollow-2's Pods now";
}

}  // namespace
}  // namespace capstan::node
