#include "controller/nodelifecycle/taint_eviction.h"

#include <limits>

#include <gtest/gtest.h>

namespace capstan::controller::nodelifecycle {
namespace {

using namespace std::chrono_literals;

constexpr char kNow[] = "2026-01-01T00:10:00Z";
const WallTime kT0 = WallTime(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z

json NodeWithTaints(const json& taints) { return {{"spec", {{"taints", taints}}}}; }

json T(const std::string& key, const std::string& effect, const std::string& added = "", const std::string& value = "") {
  json t = {{"key", key}, {"effect", effect}};
  if (!value.empty()) t["value"] = value;
  if (!added.empty()) t["timeAdded"] = added;
  return t;
}

TEST(TaintEvictionTest, DesiredTaintsFollowReadiness) {
  const json none = NodeWithTaints(json::array());
  EXPECT_EQ(DesiredTaints(none, Readiness::kTrue, true, kNow), json::array());
  EXPECT_EQ(DesiredTaints(none, Readiness::kFalse, true, kNow),
            json::array({T("node.kubernetes.io/not-ready", "NoSchedule"),
                          T("node.kubernetes.io/not-ready", "NoExecute", kNow)}));
  EXPECT_EQ(DesiredTaints(none, Readiness::kUnknown, true, kNow),
            json::array({T("node.kubernetes.io/unreachable", "NoSchedule"),
                          T("node.kubernetes.io/unreachable", "NoExecute", kNow)}));
  // Without a token (or in full disruption): the NoSchedule taint only.
  EXPECT_EQ(DesiredTaints(none, Readiness::kUnknown, false, kNow),
            json::array({T("node.kubernetes.io/unreachable", "NoSchedule")}));
  // A node that has not reported yet: kept off the scheduler's list, never evicted.
  EXPECT_EQ(DesiredTaints(none, Readiness::kMissing, true, kNow),
            json::array({T("node.kubernetes.io/not-ready", "NoSchedule")}));
  // No taints field at all reads as none.
  EXPECT_EQ(DesiredTaints(json::object(), Readiness::kTrue, true, kNow), json::array());
}

TEST(TaintEvictionTest, ExistingTaintsKeepTheirTimeAndTheUsersTaintsStay) {
  const json user = T("dedicated", "NoSchedule", "", "gpu");
  const json user_exec = T("example.com/drain", "NoExecute", "2025-12-31T00:00:00Z");
  const json node = NodeWithTaints(json::array({user, T("node.kubernetes.io/unreachable", "NoSchedule"),
                                                T("node.kubernetes.io/unreachable", "NoExecute", "2026-01-01T00:00:00Z"),
                                                user_exec}));
  // Still unreachable: nothing changes, timeAdded included.
  EXPECT_EQ(DesiredTaints(node, Readiness::kUnknown, true, kNow), node["spec"]["taints"]);
  // Ready again: only the controller's go.
  EXPECT_EQ(DesiredTaints(node, Readiness::kTrue, true, kNow), json::array({user, user_exec}));
  // Unknown -> False: a swap, the new NoExecute taint with a new time.
  EXPECT_EQ(DesiredTaints(node, Readiness::kFalse, true, kNow),
            json::array({user, user_exec, T("node.kubernetes.io/not-ready", "NoSchedule"),
                         T("node.kubernetes.io/not-ready", "NoExecute", kNow)}));
  // Full disruption: the NoExecute taint goes, the NoSchedule one stays.
  EXPECT_EQ(DesiredTaints(node, Readiness::kUnknown, false, kNow),
            json::array({user, T("node.kubernetes.io/unreachable", "NoSchedule"), user_exec}));
}

TEST(TaintEvictionTest, ControllerTaints) {
  EXPECT_TRUE(IsControllerTaint(T("node.kubernetes.io/not-ready", "NoExecute")));
  EXPECT_TRUE(IsControllerTaint(T("node.kubernetes.io/unreachable", "NoSchedule")));
  EXPECT_FALSE(IsControllerTaint(T("node.kubernetes.io/unreachable", "PreferNoSchedule")));
  EXPECT_FALSE(IsControllerTaint(T("node.kubernetes.io/unschedulable", "NoSchedule")));
  EXPECT_TRUE(HasControllerNoExecuteTaint(NodeWithTaints(json::array({T("node.kubernetes.io/not-ready", "NoExecute")}))));
  EXPECT_FALSE(HasControllerNoExecuteTaint(NodeWithTaints(json::array({T("other", "NoExecute")}))));
  EXPECT_TRUE(HasNoExecuteTaint(NodeWithTaints(json::array({T("other", "NoExecute")}))));
  EXPECT_FALSE(HasNoExecuteTaint(NodeWithTaints(json::array({T("other", "NoSchedule")}))));
}

json PodTolerating(const json& tolerations) { return {{"spec", {{"tolerations", tolerations}}}}; }

std::vector<NoExecuteTaint> Taints(const json& node) {
  return NoExecuteTaints(node, [](const scheduler::Taint&) { return kT0 + 1h; });
}

const json kUnreachable = NodeWithTaints(json::array(
    {T("node.kubernetes.io/unreachable", "NoSchedule"), T("node.kubernetes.io/unreachable", "NoExecute", "2026-01-01T00:00:00Z")}));

TEST(TaintEvictionTest, NoExecuteTaintsSinceTimeAddedOrFirstSeen) {
  auto taints = Taints(NodeWithTaints(json::array({T("node.kubernetes.io/unreachable", "NoExecute", "2026-01-01T00:00:00Z"),
                                                   T("a", "NoSchedule"), T("b", "NoExecute", "", "v"),
                                                   T("c", "NoExecute", "not a time")})));
  ASSERT_EQ(taints.size(), 3u);
  EXPECT_TRUE(taints[0].controller);
  EXPECT_EQ(taints[0].since, kT0);
  EXPECT_FALSE(taints[1].controller);
  EXPECT_EQ(taints[1].taint.key, "b");
  EXPECT_EQ(taints[1].taint.value, "v");
  EXPECT_EQ(taints[1].since, kT0 + 1h);
  EXPECT_EQ(taints[2].since, kT0 + 1h);
}

TEST(TaintEvictionTest, APodWithoutTolerationGetsTheControllersDefault) {
  auto when = EvictionTime(PodTolerations(json::object()), Taints(kUnreachable), 300s);
  ASSERT_TRUE(when.has_value());
  EXPECT_EQ(*when, kT0 + 300s);
}

TEST(TaintEvictionTest, ThePodsOwnTolerationSecondsWin) {
  json p = PodTolerating(json::parse(R"([
    {"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":600}])"));
  EXPECT_EQ(*EvictionTime(PodTolerations(p), Taints(kUnreachable), 300s), kT0 + 600s);
  p["spec"]["tolerations"][0]["tolerationSeconds"] = 30;
  EXPECT_EQ(*EvictionTime(PodTolerations(p), Taints(kUnreachable), 300s), kT0 + 30s);
  p["spec"]["tolerations"][0]["tolerationSeconds"] = -5;  // <= 0: at once
  EXPECT_EQ(*EvictionTime(PodTolerations(p), Taints(kUnreachable), 300s), kT0);
  p["spec"]["tolerations"][0]["tolerationSeconds"] = std::numeric_limits<int64_t>::max();  // no overflow
  EXPECT_GT(*EvictionTime(PodTolerations(p), Taints(kUnreachable), 300s), kT0 + 24h * 365 * 50);
}

TEST(TaintEvictionTest, ATolerationWithoutSecondsMeansNever) {
  json p = PodTolerating(json::parse(R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute"}])"));
  EXPECT_FALSE(EvictionTime(PodTolerations(p), Taints(kUnreachable), 300s).has_value());
  // Tolerating everything (operator Exists, no key): never, whatever the taint.
  p = PodTolerating(json::parse(R"([{"operator":"Exists"}])"));
  EXPECT_FALSE(EvictionTime(PodTolerations(p), Taints(kUnreachable), 300s).has_value());
}

TEST(TaintEvictionTest, AnotherTaintsTolerationDoesNotCount) {
  // Tolerates not-ready, and unreachable only for NoSchedule: the default applies to unreachable.
  json p = PodTolerating(json::parse(R"([
    {"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute"},
    {"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoSchedule"}])"));
  EXPECT_EQ(*EvictionTime(PodTolerations(p), Taints(kUnreachable), 300s), kT0 + 300s);
}

TEST(TaintEvictionTest, AUsersNoExecuteTaintEvictsAtOnceUnlessTolerated) {
  const json node = NodeWithTaints(json::array({T("example.com/maintenance", "NoExecute", "2026-01-01T00:00:00Z", "yes")}));
  EXPECT_EQ(*EvictionTime(PodTolerations(json::object()), Taints(node), 300s), kT0);
  json p = PodTolerating(json::parse(R"([{"key":"example.com/maintenance","operator":"Equal","value":"yes",
                                           "effect":"NoExecute","tolerationSeconds":60}])"));
  EXPECT_EQ(*EvictionTime(PodTolerations(p), Taints(node), 300s), kT0 + 60s);
  p["spec"]["tolerations"][0]["value"] = "no";  // does not match: evicted at once
  EXPECT_EQ(*EvictionTime(PodTolerations(p), Taints(node), 300s), kT0);
}

TEST(TaintEvictionTest, TheEarliestTaintDecides) {
  const json node = NodeWithTaints(json::array({T("node.kubernetes.io/not-ready", "NoExecute", "2026-01-01T00:00:00Z"),
                                                T("example.com/x", "NoExecute", "2026-01-01T00:01:00Z")}));
  json p = PodTolerating(json::parse(R"([{"key":"example.com/x","operator":"Exists","tolerationSeconds":10}])"));
  EXPECT_EQ(*EvictionTime(PodTolerations(p), Taints(node), 300s), kT0 + 70s);
  EXPECT_FALSE(EvictionTime(PodTolerations(p), {}, 300s).has_value());
}

}  // namespace
}  // namespace capstan::controller::nodelifecycle
