// Pod status computation: phases, container states, conditions and their transition times, the
// up-to-date comparison and the patch.
#include "node/pod_status.h"

#include <gtest/gtest.h>

namespace capstan::node {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json Pod(const std::string& policy = "Always") {
  return {{"metadata", {{"name", "web"}, {"namespace", "default"}, {"uid", "u1"}}},
          {"spec", {{"restartPolicy", policy}, {"containers", {{{"name", "app"}, {"image", "nginx:1.25"}}}}}},
          {"status", {{"phase", "Pending"}, {"qosClass", "BestEffort"}}}};
}

PodStatusContext Ctx() {
  return {"10.0.0.5", "fake", std::chrono::system_clock::from_time_t(1700000000)};
}

ContainerState Container(ContainerPhase phase, int exit_code = 0) {
  ContainerState c;
  c.name = "app";
  c.id = "abc";
  c.image = "nginx:1.25";
  c.image_id = "fake://nginx:1.25";
  c.phase = phase;
  c.exit_code = exit_code;
  if (phase == ContainerPhase::kWaiting) c.reason = "ContainerCreating";
  if (phase != ContainerPhase::kWaiting) c.started_at = std::chrono::system_clock::from_time_t(1700000001);
  if (phase == ContainerPhase::kTerminated) {
    c.finished_at = std::chrono::system_clock::from_time_t(1700000002);
    c.reason = exit_code == 0 ? "Completed" : "Error";
  }
  c.ready = phase == ContainerPhase::kRunning;
  return c;
}

const json& Cond(const json& status, const std::string& type) {
  for (const json& c : status["conditions"]) {
    if (c["type"] == type) return c;
  }
  static const json kNone;
  return kNone;
}

TEST(PodStatusTest, TimeFormats) {
  auto t = std::chrono::system_clock::from_time_t(1700000000) + 1234us;
  EXPECT_EQ(FormatTime(t), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatMicroTime(t), "2023-11-14T22:13:20.001234Z");
}

TEST(PodStatusTest, RunningAndReady) {
  PodState state{{Container(ContainerPhase::kRunning)}, 0ms};
  PodRunInfo info;
  info.state = &state;
  json s = ComputePodStatus(Pod(), info, Ctx());
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["hostIP"], "10.0.0.5");
  EXPECT_EQ(s["podIP"], "10.0.0.5");
  EXPECT_EQ(s["podIPs"], json::parse(R"([{"ip":"10.0.0.5"}])"));
  EXPECT_EQ(s["startTime"], "2023-11-14T22:13:20Z");
  const json& cs = s["containerStatuses"][0];
  EXPECT_EQ(cs["containerID"], "fake://abc");
  EXPECT_EQ(cs["imageID"], "fake://nginx:1.25");
  EXPECT_EQ(cs["ready"], true);
  EXPECT_EQ(cs["started"], true);
  EXPECT_EQ(cs["restartCount"], 0);
  EXPECT_EQ(cs["state"]["running"]["startedAt"], "2023-11-14T22:13:21Z");
  for (const char* type : {"Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    EXPECT_EQ(Cond(s, type)["status"], "True") << type;
    EXPECT_EQ(Cond(s, type)["lastTransitionTime"], "2023-11-14T22:13:20Z") << type;
  }
  EXPECT_FALSE(Cond(s, "Ready").contains("reason"));
}

TEST(PodStatusTest, WaitingIsPendingAndNotReady) {
  PodState state{{Container(ContainerPhase::kWaiting)}, 100ms};
  PodRunInfo info;
  info.state = &state;
  json s = ComputePodStatus(Pod(), info, Ctx());
  EXPECT_EQ(s["phase"], "Pending");
  EXPECT_EQ(s["containerStatuses"][0]["state"]["waiting"]["reason"], "ContainerCreating");
  EXPECT_EQ(Cond(s, "Ready")["status"], "False");
  EXPECT_EQ(Cond(s, "Ready")["reason"], "ContainersNotReady");
  EXPECT_EQ(Cond(s, "ContainersReady")["message"], "containers with unready status: [app]");
}

TEST(PodStatusTest, CrashLoopIsRunningWithLastState) {
  PodRunInfo info;
  info.restart_count = 3;
  info.last_terminated["app"] = TerminatedJson(Container(ContainerPhase::kTerminated, 1), "fake");
  info.waiting_reason = "CrashLoopBackOff";
  info.waiting_message = "back-off 40s";
  json s = ComputePodStatus(Pod(), info, Ctx());
  EXPECT_EQ(s["phase"], "Running");
  const json& cs = s["containerStatuses"][0];
  EXPECT_EQ(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_EQ(cs["lastState"]["terminated"]["containerID"], "fake://abc");
  EXPECT_EQ(cs["restartCount"], 3);
  EXPECT_EQ(cs["ready"], false);
  EXPECT_EQ(Cond(s, "Ready")["status"], "False");
}

TEST(PodStatusTest, TerminatedPhasesFollowTheRestartPolicy) {
  PodState failed{{Container(ContainerPhase::kTerminated, 1)}, 0ms};
  PodState done{{Container(ContainerPhase::kTerminated, 0)}, 0ms};
  PodRunInfo info;
  info.state = &failed;
  json s = ComputePodStatus(Pod("Never"), info, Ctx());
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["reason"], "Error");
  EXPECT_EQ(Cond(s, "Ready")["reason"], "PodCompleted");
  EXPECT_EQ(ComputePodStatus(Pod("OnFailure"), info, Ctx())["phase"], "Running");
  info.state = &done;
  EXPECT_EQ(ComputePodStatus(Pod("Never"), info, Ctx())["phase"], "Succeeded");
  EXPECT_EQ(ComputePodStatus(Pod("OnFailure"), info, Ctx())["phase"], "Succeeded");
  EXPECT_EQ(ComputePodStatus(Pod("Always"), info, Ctx())["phase"], "Running");
  // A terminal phase sticks.
  json pod = Pod();
  pod["status"]["phase"] = "Failed";
  PodState running{{Container(ContainerPhase::kRunning)}, 0ms};
  info.state = &running;
  EXPECT_EQ(ComputePodStatus(pod, info, Ctx())["phase"], "Failed");
}

TEST(PodStatusTest, RecomputingAWrittenStatusIsUpToDate) {
  PodState state{{Container(ContainerPhase::kRunning)}, 0ms};
  PodRunInfo info;
  info.state = &state;
  json pod = Pod();
  json s = ComputePodStatus(pod, info, Ctx());
  EXPECT_FALSE(StatusUpToDate(pod["status"], s));
  pod["status"].update(s);  // what the API stores after the patch
  PodStatusContext later = Ctx();
  later.now += 1h;
  json again = ComputePodStatus(pod, info, later);
  EXPECT_EQ(again, s);  // transition times and startTime kept
  EXPECT_TRUE(StatusUpToDate(pod["status"], again));

  // A readiness change moves only the flipped conditions' transition time.
  state.containers[0] = Container(ContainerPhase::kTerminated, 1);
  json flipped = ComputePodStatus(pod, info, later);
  EXPECT_FALSE(StatusUpToDate(pod["status"], flipped));
  EXPECT_EQ(Cond(flipped, "Ready")["lastTransitionTime"], FormatTime(later.now));
  EXPECT_EQ(Cond(flipped, "PodScheduled")["lastTransitionTime"], "2023-11-14T22:13:20Z");
}

TEST(PodStatusTest, ReadinessGatesHoldReadyBack) {
  json pod = Pod();
  pod["spec"]["readinessGates"] = json::parse(R"([{"conditionType":"example.com/lb"}])");
  PodState state{{Container(ContainerPhase::kRunning)}, 0ms};
  PodRunInfo info;
  info.state = &state;
  json s = ComputePodStatus(pod, info, Ctx());
  EXPECT_EQ(Cond(s, "ContainersReady")["status"], "True");
  EXPECT_EQ(Cond(s, "Ready")["status"], "False");
  EXPECT_EQ(Cond(s, "Ready")["reason"], "ReadinessGatesNotReady");
  pod["status"]["conditions"] = json::parse(R"([{"type":"example.com/lb","status":"True"}])");
  EXPECT_EQ(Cond(ComputePodStatus(pod, info, Ctx()), "Ready")["status"], "True");
}

TEST(PodStatusTest, PatchDeletesStaleReasons) {
  PodState state{{Container(ContainerPhase::kRunning)}, 0ms};
  PodRunInfo info;
  info.state = &state;
  json patch = StatusPatch("u1", ComputePodStatus(Pod(), info, Ctx()));
  EXPECT_EQ(patch["metadata"]["uid"], "u1");
  const json& ready = Cond(patch["status"], "Ready");
  EXPECT_TRUE(ready.contains("reason"));
  EXPECT_TRUE(ready["reason"].is_null());
  EXPECT_TRUE(ready["message"].is_null());
}

}  // namespace
}  // namespace capstan::node
