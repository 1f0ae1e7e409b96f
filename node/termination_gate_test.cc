#include "node/termination_gate.h"

#include <gtest/gtest.h>

namespace capstan::node {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json Pod(const std::string& drained) {
  json pod = {{"metadata", {{"name", "web-1"}, {"deletionTimestamp", "2026-01-01T00:00:00Z"}}},
              {"status", {{"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
  if (!drained.empty()) {
    pod["status"]["conditions"].push_back({{"type", "haproxy.capstan.io/Drained"}, {"status", drained}});
  }
  return pod;
}

TEST(TerminationGateTest, APodNeverRoutedStopsAtOnceWithItsWholeGrace) {
  TerminationGate g = GateTermination(Pod(""), 30s, 0ms, 60s);
  EXPECT_EQ(g.wait, 0ms);
  EXPECT_EQ(g.grace_left, 30s);
  g = GateTermination(json::object(), 30s, 5s, 60s);
  EXPECT_EQ(g.wait, 0ms);
  EXPECT_EQ(g.grace_left, 30s);
}

TEST(TerminationGateTest, ARoutedPodWaitsForTheDrainBoundedByGraceAndCap) {
  TerminationGate g = GateTermination(Pod("False"), 30s, 0ms, 60s);
  EXPECT_EQ(g.wait, 30s);
  g = GateTermination(Pod("False"), 30s, 12s, 60s);
  EXPECT_EQ(g.wait, 18s);
  g = GateTermination(Pod("False"), 3600s, 0ms, 60s);
  EXPECT_EQ(g.wait, 60s) << "the cap bounds a long grace";
  // Drained after 12 s: the rest of the grace is for preStop and the stop.
  g = GateTermination(Pod("True"), 30s, 12s, 60s);
  EXPECT_EQ(g.wait, 0ms);
  EXPECT_EQ(g.grace_left, 18s);
  // The wait ran out (the load balancer is down): the containers still get 2 s.
  g = GateTermination(Pod("False"), 30s, 30s, 60s);
  EXPECT_EQ(g.wait, 0ms);
  EXPECT_EQ(g.grace_left, 2s);
  g = GateTermination(Pod("False"), 1s, 1s, 60s);
  EXPECT_EQ(g.grace_left, 1s);
}

TEST(TerminationGateTest, AForcedDeletionWaitsForNothing) {
  TerminationGate g = GateTermination(Pod("False"), 0ms, 0ms, 60s);
  EXPECT_EQ(g.wait, 0ms);
  EXPECT_EQ(g.grace_left, 0ms);
}

TEST(PodGracePeriodTest, TheDeletionsGraceThenTheSpecsThenThirtySeconds) {
  EXPECT_EQ(PodGracePeriod(json::object()), 30s);
  EXPECT_EQ(PodGracePeriod(json{{"spec", {{"terminationGracePeriodSeconds", 5}}}}), 5s);
  EXPECT_EQ(PodGracePeriod(json{{"metadata", {{"deletionGracePeriodSeconds", 0}}},
                                {"spec", {{"terminationGracePeriodSeconds", 5}}}}),
            0s);
  EXPECT_EQ(PodGracePeriod(json{{"spec", {{"terminationGracePeriodSeconds", -3}}}}), 0s);
}

}  // namespace
}  // namespace capstan::node
