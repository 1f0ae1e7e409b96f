#include "controller/haproxy/drain_tracker.h"

#include <gtest/gtest.h>

#include "controller/haproxy/runtime_plan.h"

namespace capstan::controller::haproxy {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = DrainTracker::Clock;

ServerSlot Server(int slot, ServerState state, const std::string& pod) {
  return {slot, "127.0.0.1", 20000 + slot, state, "default/" + pod, "uid-" + pod};
}

HaproxyModel Model(std::vector<ServerSlot> servers) {
  HaproxyModel m;
  Backend b;
  b.name = "default_web_80";
  b.servers = std::move(servers);
  m.backends.push_back(b);
  return m;
}

ServerStat Stat(int slot, const std::string& status, int64_t sessions = 0) {
  ServerStat s;
  s.backend = "default_web_80";
  s.server = ServerName(slot);
  s.status = status;
  s.current_sessions = sessions;
  return s;
}

std::vector<ServerState> States(const HaproxyModel& m) {
  std::vector<ServerState> out;
  for (const ServerSlot& s : m.backends[0].servers) out.push_back(s.state);
  return out;
}

using S = ServerState;

TEST(DrainTrackerTest, ATerminatingServerIsHeldUntilAReplacementIsUpThenDrainedThenMaint) {
  DrainTracker tracker(30s);
  const Clock::time_point t0 = Clock::now();
  // old (slot 1) terminating; its replacement (slot 2) entered but not UP yet.
  HaproxyModel applied = Model({Server(1, S::kReady, "old"), Server(2, S::kReady, "new")});
  HaproxyModel desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  std::vector<ServerStat> stats = {Stat(1, "UP"), Stat(2, "DOWN")};
  EXPECT_TRUE(DrainTracker::NeedsStats(desired));
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0), 200ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kReady, S::kReady})) << "held: the replacement is not UP";

  // The replacement is UP: the drain starts (not yet in effect, so not drained though idle).
  stats = {Stat(1, "UP"), Stat(2, "UP")};
  desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0 + 1s), 200ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrain, S::kReady}));
  applied = desired;

  // In effect, one session left: still draining.
  stats = {Stat(1, "DRAIN", 1), Stat(2, "UP")};
  desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0 + 2s), 200ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrain, S::kReady}));

  // Idle: drained (maint), and it stays so even if the replacement goes DOWN.
  stats = {Stat(1, "DRAIN", 0), Stat(2, "UP")};
  desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0 + 3s), 0ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrained, S::kReady}));
  RuntimePlan plan = PlanRuntime(applied, desired);
  ASSERT_EQ(plan.ops.size(), 1u);
  EXPECT_EQ(plan.ops[0].kind, ServerOp::kMaint);
  applied = desired;
  stats = {Stat(1, "MAINT"), Stat(2, "DOWN")};
  desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0 + 4s), 0ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrained, S::kReady}));
  EXPECT_TRUE(PlanRuntime(applied, desired).ops.empty());
}

// A replacement that never turns UP holds the terminating server for drain_timeout at most; then
// the drain starts anyway, so the Pod reaches Drained within what its node agent waits.
TEST(DrainTrackerTest, TheHoldForAReplacementIsBoundedByTheDrainTimeout) {
  DrainTracker tracker(5s);
  const Clock::time_point t0 = Clock::now();
  HaproxyModel applied = Model({Server(1, S::kReady, "old"), Server(2, S::kReady, "new")});
  std::vector<ServerStat> stats = {Stat(1, "UP"), Stat(2, "DOWN")};
  HaproxyModel desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  tracker.Adjust(&desired, applied, &stats, t0);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kReady, S::kReady})) << "held";
  desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  tracker.Adjust(&desired, applied, &stats, t0 + 4s);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kReady, S::kReady})) << "still within the bound";
  desired = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  tracker.Adjust(&desired, applied, &stats, t0 + 5s);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrain, S::kReady})) << "the bound passed: drained anyway";
}

// A slot drained to MAINT whose endpoint then goes (its Pod deleted) gets no leave: a leave would
// `state drain` it, out of maintenance.
TEST(DrainTrackerTest, ADrainedSlotWhoseEndpointGoesGetsNoLeave) {
  HaproxyModel applied = Model({Server(1, S::kDrained, "old"), Server(2, S::kReady, "new")});
  HaproxyModel desired = Model({Server(2, S::kReady, "new")});
  EXPECT_TRUE(PlanRuntime(applied, desired).ops.empty());
  applied = Model({Server(1, S::kDrain, "old"), Server(2, S::kReady, "new")});
  RuntimePlan plan = PlanRuntime(applied, desired);
  ASSERT_EQ(plan.ops.size(), 1u);
  EXPECT_EQ(plan.ops[0].kind, ServerOp::kLeave);
}

TEST(DrainTrackerTest, WithoutAReplacementTheDrainStartsAtOnceAndSessionsAreWaitedForBoundedly) {
  DrainTracker tracker(5s);
  const Clock::time_point t0 = Clock::now();
  HaproxyModel applied = Model({Server(1, S::kReady, "a"), Server(2, S::kReady, "b")});
  HaproxyModel desired = Model({Server(1, S::kDrain, "a"), Server(2, S::kDrain, "b")});  // scale to zero
  std::vector<ServerStat> stats = {Stat(1, "UP", 3), Stat(2, "UP", 3)};
  tracker.Adjust(&desired, applied, &stats, t0);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrain, S::kDrain}));
  applied = desired;
  stats = {Stat(1, "DRAIN", 2), Stat(2, "DRAIN", 0)};
  desired = Model({Server(1, S::kDrain, "a"), Server(2, S::kDrain, "b")});
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0 + 1s), 200ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrain, S::kDrained}));
  applied = desired;
  // The bound: 5 s after the drain was first seen in effect (t0 + 1s), sessions or not.
  desired = Model({Server(1, S::kDrain, "a"), Server(2, S::kDrain, "b")});
  stats = {Stat(1, "DRAIN", 2), Stat(2, "MAINT", 0)};
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0 + 5s), 200ms);
  EXPECT_EQ(States(desired)[0], S::kDrain);
  desired = Model({Server(1, S::kDrain, "a"), Server(2, S::kDrain, "b")});
  EXPECT_EQ(tracker.Adjust(&desired, applied, &stats, t0 + 6s), 0ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kDrained, S::kDrained}));
}

TEST(DrainTrackerTest, UnknownStatsDecideNothingAndANeverRoutedEndpointIsDrainedAtOnce) {
  DrainTracker tracker(30s);
  const Clock::time_point t0 = Clock::now();
  HaproxyModel applied = Model({Server(1, S::kReady, "a"), Server(2, S::kReady, "b")});
  // HAProxy did not answer: a ready server stays ready, a draining one keeps draining.
  HaproxyModel desired = Model({Server(1, S::kDrain, "a"), Server(2, S::kReady, "b"), Server(3, S::kDrain, "c")});
  EXPECT_EQ(tracker.Adjust(&desired, applied, nullptr, t0), 200ms);
  EXPECT_EQ(States(desired), (std::vector<S>{S::kReady, S::kReady, S::kDrained}))
      << "slot 3 never ran: it is in MAINT already";
  applied = Model({Server(1, S::kDrain, "a"), Server(2, S::kReady, "b")});
  desired = Model({Server(1, S::kDrain, "a"), Server(2, S::kReady, "b")});
  tracker.Adjust(&desired, applied, nullptr, t0 + 1s);
  EXPECT_EQ(States(desired)[0], S::kDrain) << "no idle without stats";
}

json Pod(const std::string& name, const std::string& condition_status = "", bool terminating = false) {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"namespace", "default"}, {"name", name}, {"uid", "uid-" + name}}},
              {"status", {{"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
  if (!condition_status.empty()) {
    pod["status"]["conditions"].push_back({{"type", "haproxy.capstan.io/Drained"}, {"status", condition_status}});
  }
  if (terminating) pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  return pod;
}

ObjectList Pods(std::vector<json> pods) {
  ObjectList out;
  for (json& p : pods) out.push_back(std::make_shared<const json>(std::move(p)));
  return out;
}

TEST(DrainTrackerTest, RoutedPodsGetTheConditionFalseAndDrainedTerminatingOnesTrue) {
  DrainTracker tracker;
  // a: routed, no condition yet; b: routed, has it; c: no server (never routed); d: terminating,
  // drained; e: terminating, still draining; f: terminating, its server gone and not draining.
  HaproxyModel applied = Model({Server(1, S::kReady, "a"), Server(2, S::kReady, "b"), Server(3, S::kDrained, "d"),
                                Server(4, S::kDrain, "e")});
  ObjectList pods = Pods({Pod("a"), Pod("b", "False"), Pod("c"), Pod("d", "False", true), Pod("e", "False", true),
                          Pod("f", "False", true), Pod("g", "True", true)});
  std::vector<PodConditionWrite> writes = tracker.Conditions(applied, {}, pods);
  ASSERT_EQ(writes.size(), 3u);
  EXPECT_EQ(writes[0].name, "a");
  EXPECT_FALSE(writes[0].drained);
  EXPECT_EQ(writes[0].reason, "Routed");
  EXPECT_EQ(writes[0].uid, "uid-a");
  EXPECT_EQ(writes[1].name, "d");
  EXPECT_TRUE(writes[1].drained);
  EXPECT_EQ(writes[2].name, "f");
  EXPECT_TRUE(writes[2].drained);
  for (const auto& w : writes) tracker.Written(w);
  // Written but not in the cache yet: not asked for again.
  EXPECT_TRUE(tracker.Conditions(applied, {}, pods).empty());
}

TEST(DrainTrackerTest, AConditionWrittenButNotYetCachedCountsForAPodThatLostItsServer) {
  DrainTracker tracker;
  auto writes = tracker.Conditions(Model({Server(1, S::kReady, "a")}), {}, Pods({Pod("a")}));
  ASSERT_EQ(writes.size(), 1u);
  tracker.Written(writes[0]);
  // The cache still shows no condition, and no server routes to it any more: Pods without a
  // condition, a write or a server are skipped, but this one has a write.
  writes = tracker.Conditions(Model({}), {}, Pods({Pod("a", "", true), Pod("b", "", true), Pod("c")}));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].name, "a");
  EXPECT_TRUE(writes[0].drained);
}

TEST(DrainTrackerTest, APodWhoseEndpointLeftIsDrainedOnlyOnceTheApplierFinishedItsSlot) {
  DrainTracker tracker;
  HaproxyModel applied = Model({Server(1, S::kReady, "a")});
  EXPECT_EQ(tracker.Conditions(applied, {}, Pods({Pod("a", "False")})).size(), 0u);
  // Its endpoint left (not ready any more) while it terminates: the applier drains slot 1.
  applied = Model({});
  const std::set<std::pair<std::string, int>> leaving = {{"default_web_80", 1}};
  EXPECT_TRUE(tracker.Conditions(applied, leaving, Pods({Pod("a", "False", true)})).empty());
  EXPECT_TRUE(tracker.Conditions(applied, leaving, Pods({Pod("a", "False", true)})).empty());
  auto writes = tracker.Conditions(applied, {}, Pods({Pod("a", "False", true)}));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_TRUE(writes[0].drained);
}

// After the first pass (every Pod), only Pods with a server or routed before are looked at, and
// that is enough: a routed Pod whose server is gone still gets its Drained.
TEST(DrainTrackerTest, AfterTheFirstPassOnlyServedAndRoutedPodsAreExamined) {
  DrainTracker tracker;
  EXPECT_TRUE(tracker.NeedsAllPods());
  // a: served; b: routed by an earlier run, its server gone, still running; c: never routed.
  HaproxyModel applied = Model({Server(1, S::kReady, "a")});
  auto writes = tracker.Conditions(applied, {}, Pods({Pod("a"), Pod("b", "False"), Pod("c")}));
  ASSERT_EQ(writes.size(), 1u);
  tracker.Written(writes[0]);
  EXPECT_FALSE(tracker.NeedsAllPods());
  EXPECT_EQ(tracker.PodsToExamine(applied), (std::set<std::string>{"default/a", "default/b"}));
  // b terminates with no server: examined, drained; then no longer examined.
  writes = tracker.Conditions(applied, {}, Pods({Pod("a"), Pod("b", "False", true)}));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].name, "b");
  EXPECT_TRUE(writes[0].drained);
  tracker.Written(writes[0]);
  EXPECT_EQ(tracker.PodsToExamine(applied), std::set<std::string>{"default/a"});
  // a's server leaves while a terminates: a is still examined (routed) until drained.
  const HaproxyModel empty = Model({});
  EXPECT_EQ(tracker.PodsToExamine(empty), std::set<std::string>{"default/a"});
  writes = tracker.Conditions(empty, {}, Pods({Pod("a", "False", true)}));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_TRUE(writes[0].drained);
  tracker.Written(writes[0]);
  EXPECT_TRUE(tracker.PodsToExamine(empty).empty());
}

TEST(DrainTrackerTest, OnlyPodsWithAnHttpReadinessProbeOrTheConditionConcernHaproxy) {
  // A plain Pod (the bulk of a cluster) reaches HAProxy only through its EndpointSlice.
  EXPECT_FALSE(PodConcernsHaproxy(Pod("plain")));
  EXPECT_FALSE(PodConcernsHaproxy(Pod("plain", "", true)));
  EXPECT_FALSE(PodConcernsHaproxy(json::object()));
  json tcp_probe = Pod("tcp");
  tcp_probe["spec"] = {{"containers", json::array({{{"name", "c"}, {"readinessProbe", {{"tcpSocket", {{"port", 80}}}}}}})}};
  EXPECT_FALSE(PodConcernsHaproxy(tcp_probe));
  // The HTTP check of its Services comes from it.
  json http_probe = Pod("http");
  http_probe["spec"] = {{"containers", json::array({{{"name", "a"}},
                                                    {{"name", "b"}, {"readinessProbe", {{"httpGet", {{"port", 8080}}}}}}})}};
  EXPECT_TRUE(PodConcernsHaproxy(http_probe));
  // Routed once (False) or drained (True): its termination waits for the controller.
  EXPECT_TRUE(PodConcernsHaproxy(Pod("routed", "False")));
  EXPECT_TRUE(PodConcernsHaproxy(Pod("drained", "True", true)));
}

}  // namespace
}  // namespace capstan::controller::haproxy
