// The process driver end to end: `capstan server --driver process` runs a Deployment's Pods as
// host processes through the plugin ABI. Each test marks its processes with a unique environment
// variable and finds them in /proc, so it counts only its own and can prove none is left.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/server_fixture.h"
#include "e2e/workload_scenario.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ProcessDriverTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    marker_ = "CAPSTAN_E2E_MARK=" + std::to_string(rd()) + std::to_string(rd());
    state_ = server_.home() + "/driver-state";
  }
  void TearDown() override {
    server_.Stop();
    // Whatever the test did, leave no process of ours behind.
    for (pid_t p : MarkedProcesses(marker_)) ::kill(p, SIGKILL);
  }
  bool StartServer() {
    return server_.Start({"--driver", "process", "--driver-config", json{{"stateDir", state_}}.dump(), "--node-name",
                          "e2e-node"});
  }
  std::string Deployment(int replicas) const {
    const std::string value = marker_.substr(marker_.find('=') + 1);
    json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", "sleeper"}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", {{"app", "sleeper"}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", "sleeper"}}}}},
                  {"spec",
                   {{"terminationGracePeriodSeconds", 5},
                    {"containers",
                     {{{"name", "main"},
                       {"image", "none"},
                       {"command", {"/bin/sh", "-c", "echo started; exec sleep 600"}},
                       {"env", {{{"name", "CAPSTAN_E2E_MARK"}, {"value", value}}}}}}}}}}}}}};
    return d.dump();
  }
  json Pods() {
    auto r = server_.Capstan({"get", "pods", "-o", "json"});
    if (r.exit_code != 0) return json::array();
    json list = json::parse(r.out, nullptr, false);
    return list.is_object() ? list.value("items", json::array()) : json::array();
  }
  int RunningPods() {
    int n = 0;
    for (const json& p : Pods()) {
      if (p["status"].value("phase", "") == "Running" && p["metadata"].value("deletionTimestamp", "").empty()) ++n;
    }
    return n;
  }

  ServerProcess server_;
  std::string marker_;
  std::string state_;
};

TEST_F(ProcessDriverTest, DeploymentRunsScalesRestartsAndLeavesNothingBehind) {
  ASSERT_TRUE(StartServer()) << server_.log();
  auto r = server_.Capstan({"apply", "-f", "-"}, Deployment(3));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] { return RunningPods() == 3 && MarkedProcesses(marker_).size() == 3; }, 30s))
      << "running pods " << RunningPods() << ", processes " << MarkedProcesses(marker_).size() << "\n"
      << server_.log();

  // Logs and exec go through the API to the node agent and its driver.
  const std::string pod = Pods()[0]["metadata"]["name"];
  r = server_.Capstan({"logs", pod});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "started\n");
  r = server_.Capstan({"logs", "pod/" + pod, "-c", "main", "--tail", "1"});
  EXPECT_EQ(r.out, "started\n") << r.err;
  r = server_.Capstan({"exec", pod, "--", "/bin/sh", "-c", "echo $CAPSTAN_E2E_MARK; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, marker_.substr(marker_.find('=') + 1) + "\n");
  EXPECT_NE(r.err.find("command terminated with exit code 3"), std::string::npos) << r.err;
  // kubectl logs, unchanged, reads the same subresource; kubectl exec (an Upgrade) is refused
  // with a message that says what to use instead.
  for (const auto& [version, kubectl] : KubectlBinaries()) {
    if (version != "1.27" && version != "1.33") continue;
    r = server_.Kubectl(kubectl, {"logs", pod});
    EXPECT_EQ(r.exit_code, 0) << version << ": " << r.err;
    EXPECT_EQ(r.out, "started\n") << version;
    r = server_.Kubectl(kubectl, {"logs", "--tail=1", "-c", "main", pod});
    EXPECT_EQ(r.out, "started\n") << version << ": " << r.err;
    r = server_.Kubectl(kubectl, {"exec", pod, "--", "true"});
    EXPECT_NE(r.exit_code, 0) << version;
    EXPECT_NE(r.err.find("capstan exec"), std::string::npos) << version << ": " << r.err;
  }
  r = server_.Capstan({"logs", pod, "-c", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("container nope is not valid for pod " + pod), std::string::npos) << r.err;

  // Killed from outside the engine: the agent sees the exit and starts it again.
  const pid_t victim = *MarkedProcesses(marker_).begin();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    int restarts = 0;
    for (const json& p : Pods()) {
      for (const json& cs : p["status"].value("containerStatuses", json::array())) restarts += cs.value("restartCount", 0);
    }
    auto procs = MarkedProcesses(marker_);
    return restarts >= 1 && procs.size() == 3 && !procs.count(victim);
  }, 30s)) << server_.log();

  r = server_.Capstan({"scale", "deployment", "sleeper", "--replicas", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] { return MarkedProcesses(marker_).size() == 1 && Pods().size() == 1; }, 30s))
      << MarkedProcesses(marker_).size() << " processes\n" << server_.log();

  r = server_.Capstan({"delete", "deployment", "sleeper"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitFor([&] { return MarkedProcesses(marker_).empty() && Pods().empty(); }, 30s))
      << MarkedProcesses(marker_).size() << " processes left\n" << server_.log();
  // Nothing of ours left in the engine either: no run records.
  std::error_code ec;
  int records = 0;
  for (const auto& e : std::filesystem::directory_iterator(state_, ec)) {
    if (e.path().extension() == ".json") ++records;
  }
  EXPECT_EQ(records, 0);
}

// kill -9 of the server with Pods running: the restarted server adopts the running processes
// (same pids, no duplicates) and the Pods stay Running.
TEST_F(ProcessDriverTest, KilledServerAdoptsItsProcessesWithoutDuplicates) {
  ASSERT_TRUE(StartServer()) << server_.log();
  ASSERT_EQ(server_.Capstan({"apply", "-f", "-"}, Deployment(2)).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return RunningPods() == 2 && MarkedProcesses(marker_).size() == 2; }, 30s))
      << server_.log();
  const std::set<pid_t> before = MarkedProcesses(marker_);
  server_.Stop(SIGKILL);
  EXPECT_EQ(MarkedProcesses(marker_), before);  // the processes outlive their host
  ASSERT_TRUE(StartServer()) << server_.log();
  // Give the agent time to recover and to (wrongly) start anything twice.
  ASSERT_TRUE(WaitFor([&] { return RunningPods() == 2; }, 30s)) << server_.log();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(MarkedProcesses(marker_), before);
  EXPECT_EQ(Pods().size(), 2u);
}

// The scenario (e2e/workload_scenario.h) on the process driver: httpd processes on
// allocated ports, probes, restarts, scaling, a rollout across a kill -9, nothing left.
TEST_F(ProcessDriverTest, WorkloadScenario) {
  EngineAdapter a;
  a.name = "process";
  // Each engine's scenario has its own port range: ctest runs them at once, and two servers on one
  // host handing out the same port would make one workload's bind fail.
  a.server_flags = {"--driver", "process", "--driver-config", json{{"stateDir", state_}}.dump(), "--node-name",
                    "e2e-node", "--port-range", "21000-21999"};
  a.www = server_.home() + "/www";
  a.env = {{"CAPSTAN_E2E_MARK", marker_.substr(marker_.find('=') + 1)}};
  a.workloads = [this] {
    std::set<std::string> ids;
    for (pid_t p : MarkedProcesses(marker_)) ids.insert(std::to_string(p));
    return ids;
  };
  a.kill = [](const std::string& id) { return ::kill(static_cast<pid_t>(std::stol(id)), SIGKILL) == 0; };
  ASSERT_TRUE(server_.Start(a.server_flags)) << server_.log();
  RunWorkloadScenario(server_, a);
}

}  // namespace
}  // namespace capstan::e2e
