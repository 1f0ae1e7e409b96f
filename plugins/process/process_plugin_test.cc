// The process driver through the real ABI (capstan-driver-process.so loaded by the node agent's
// loader), running real processes: start, inspect, logs, exec, stop with a grace period, process
// groups, start errors, the image field, wait, events, fingerprint and configuration.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "plugins/process/proc.h"
#include "plugins/process/process_test_util.h"

namespace capstan::plugins::process {
namespace {

using node::PluginOp;
using Clock = std::chrono::steady_clock;
using sdk::ContainerState;

TEST_F(ProcessPluginTest, RunsContainersAsHostProcesses) {
  const std::string work = dir_ / "work";
  std::filesystem::create_directories(work);
  sdk::ContainerSpec c0 =
      Shell("c0", "echo out-$CAPSTAN_PROCESS_TEST; echo err-line >&2; echo cwd=$(pwd); exec sleep 300");
  c0.working_dir = work;
  sdk::ContainerSpec c1 = Container("c1", {"sleep"});  // found in the default PATH
  c1.args = {"300"};
  const sdk::PodRunHandle h = Start(Spec({c0, c1}));
  ASSERT_EQ(h.containers.size(), 2u);
  EXPECT_EQ(h.containers[0].name, "c0");
  EXPECT_EQ(h.containers[0].id, h.id + ".c0");

  // Recorded before start returned; each main process leads its own group and session.
  ASSERT_TRUE(StateFile(h.id).is_object()) << "no state file for the run";
  for (const char* name : {"c0", "c1"}) {
    const pid_t pid = PidOf(h, name);
    ASSERT_GT(pid, 0);
    std::optional<ProcStat> st = ReadProcStat(pid);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->pgrp, pid) << name;
    EXPECT_EQ(st->session, pid) << name;
  }
  for (const sdk::ContainerStatus& s : Inspect(h).containers) {
    EXPECT_EQ(s.state, ContainerState::kRunning) << s.name << ": " << s.message;
    EXPECT_TRUE(s.started_at_unix_nano.has_value());
    EXPECT_TRUE(s.ready);
    EXPECT_EQ(s.image, "busybox:1.36");
    EXPECT_EQ(s.image_id, "") << "an image that is not a directory is ignored";
  }

  std::string log;
  ASSERT_TRUE(AwaitLog(h, "c0", "cwd=" + work + "\n", &log)) << log;
  EXPECT_NE(log.find("out-" + marker_ + "\n"), std::string::npos) << "the spec's env reaches the process: " << log;
  EXPECT_NE(log.find("err-line\n"), std::string::npos) << "stderr goes to the log too: " << log;

  // exec: the container's environment and working directory, output and exit code.
  auto echo = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"echo", "hi"}, 10000});
  EXPECT_EQ(echo.exit_code, 0);
  EXPECT_EQ(echo.out, "hi\n");
  auto sh = Must<sdk::ExecResult>(
      PluginOp::kExec,
      sdk::ExecRequest{h, "c0", {"sh", "-c", "echo $CAPSTAN_PROCESS_TEST; pwd; echo e >&2; exit 3"}, 10000});
  EXPECT_EQ(sh.exit_code, 3);
  EXPECT_EQ(sh.out, marker_ + "\n" + work + "\n");
  EXPECT_EQ(sh.err, "e\n");
  auto missing = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"no-such-command-xyz"}, 10000});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("no-such-command-xyz"), std::string::npos) << missing.err;
  const auto exec_begin = Clock::now();
  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"sleep", "30"}, 200}).code, CAPSTAN_ERR_TIMEOUT);
  EXPECT_LT(Clock::now() - exec_begin, std::chrono::seconds(10)) << "the timed out command was not killed";
  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "nope", {"true"}, 0}).code, CAPSTAN_ERR_NOT_FOUND);

  // stop: SIGTERM ends both at once (well within the grace period).
  const auto stop_begin = Clock::now();
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 5000}).code, CAPSTAN_OK);
  EXPECT_LT(Clock::now() - stop_begin, std::chrono::seconds(4));
  for (const sdk::ContainerStatus& s : Inspect(h).containers) {
    EXPECT_EQ(s.state, ContainerState::kTerminated) << s.name;
    EXPECT_EQ(s.exit_code, 143) << s.name << " (128 + SIGTERM)";
    EXPECT_EQ(s.reason, "Error");
    EXPECT_NE(s.message.find("SIGTERM"), std::string::npos) << s.message;
    EXPECT_TRUE(s.finished_at_unix_nano.has_value());
    EXPECT_FALSE(s.ready);
  }
  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 0}).code, CAPSTAN_ERR_CONFLICT);
  EXPECT_EQ(Logs(h, "c0", 1).all, "cwd=" + work + "\n") << "tailLines 1";
  EXPECT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK) << "stopping a stopped run";

  // remove, twice: the record and the logs go.
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kInspect, sdk::HandleRequest{h}).code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_FALSE(std::filesystem::exists(dir_ / ("state/runs/" + h.id + ".json")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / ("state/logs/" + h.id)));
  EXPECT_TRUE(ListIds({{"test", marker_}}).empty());
}

TEST_F(ProcessPluginTest, StopWaitsTheGracePeriodThenKills) {
  // c0 exits 0 on SIGTERM; c1 ignores it (and so does its child) and must be SIGKILLed.
  const sdk::PodRunHandle h =
      Start(Spec({Shell("c0", "trap 'echo got-term; exit 0' TERM; echo ready; sleep 300 & wait"),
                  Shell("c1", "trap '' TERM; echo ready; sleep 300 & wait")}));
  // The traps must be in place before the signal comes.
  ASSERT_TRUE(AwaitLog(h, "c0", "ready"));
  ASSERT_TRUE(AwaitLog(h, "c1", "ready"));
  constexpr auto kGrace = std::chrono::milliseconds(1500);
  const auto begin = Clock::now();
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, kGrace.count()}).code, CAPSTAN_OK);
  const auto took = Clock::now() - begin;
  EXPECT_GE(took, kGrace - std::chrono::milliseconds(100)) << "c1 was killed before its grace period ended";
  EXPECT_LT(took, kGrace + std::chrono::seconds(5));
  const sdk::ContainerStatus c0 = StatusOf(h, "c0"), c1 = StatusOf(h, "c1");
  EXPECT_EQ(c0.state, ContainerState::kTerminated);
  EXPECT_EQ(c0.exit_code, 0);
  EXPECT_EQ(c0.reason, "Completed");
  EXPECT_EQ(c1.state, ContainerState::kTerminated);
  EXPECT_EQ(c1.exit_code, 137) << "128 + SIGKILL";
  EXPECT_NE(Logs(h, "c0").all.find("got-term"), std::string::npos);
}

TEST_F(ProcessPluginTest, TheWholeProcessGroupIsKilled) {
  // A grandchild that ignores SIGTERM dies with its group on stop.
  const sdk::PodRunHandle h = Start(Spec({Shell("c0", "(trap '' TERM; exec sleep 300) & echo child=$!; wait")}));
  const pid_t grandchild = PidFromLog(h, "c0", "child");
  ASSERT_GT(grandchild, 0);
  ASSERT_EQ(ReadProcStat(grandchild)->pgrp, PidOf(h, "c0")) << "the grandchild is in the container's group";
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 300}).code, CAPSTAN_OK);
  EXPECT_TRUE(AwaitDead(grandchild)) << "stop left a process of the group running";

  // When the main process exits by itself, the rest of its group goes with it (as a container's).
  const sdk::PodRunHandle h2 = Start(Spec({Shell("c0", "sleep 300 & echo child=$!; sleep 0.2; exit 4")}));
  const pid_t orphan = PidFromLog(h2, "c0", "child");
  ASSERT_GT(orphan, 0);
  auto waited = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h2, 20000});
  ASSERT_TRUE(waited.exited);
  EXPECT_EQ(waited.containers[0].exit_code, 4);
  EXPECT_TRUE(AwaitDead(orphan)) << "the main process exited, its group lives on";
}

TEST_F(ProcessPluginTest, FailedStartsAreTerminatedContainers) {
  sdk::ContainerSpec bad_dir = Container("baddir", {"true"});
  bad_dir.working_dir = "/nonexistent/wd";
  sdk::ContainerSpec no_command = Container("nocmd", {});
  sdk::ContainerSpec mount = Container("mount", {"sleep", "300"});
  mount.mounts = {{"/tmp", "/data", false}};
  sdk::ContainerSpec same_path_mount = Container("samemount", {"sleep", "300"});
  same_path_mount.mounts = {{"/tmp", "/tmp", true}};
  const sdk::PodRunHandle h =
      Start(Spec({Container("ok", {"sleep", "300"}), Container("missing", {"no-such-command-xyz"}), bad_dir, no_command,
                  mount, same_path_mount}));
  const std::map<std::string, std::string> expected = {
      {"missing", "no-such-command-xyz"}, {"baddir", "/nonexistent/wd"}, {"nocmd", "no command"}, {"mount", "/data"}};
  for (const sdk::ContainerStatus& s : Inspect(h).containers) {
    auto it = expected.find(s.name);
    if (it == expected.end()) {
      EXPECT_EQ(s.state, ContainerState::kRunning) << s.name << ": " << s.message;
      continue;
    }
    EXPECT_EQ(s.state, ContainerState::kTerminated) << s.name;
    EXPECT_EQ(s.exit_code, 127) << s.name;
    EXPECT_EQ(s.reason, "StartError") << s.name;
    EXPECT_NE(s.message.find(it->second), std::string::npos) << s.name << ": " << s.message;
    EXPECT_TRUE(s.finished_at_unix_nano.has_value());
  }
  EXPECT_EQ(AwaitEvents(h.id, 4).size(), 4u) << "one ContainerExited per start error";
  EXPECT_EQ(Logs(h, "missing").all, "") << "a container that never ran has an empty log";
}

TEST_F(ProcessPluginTest, SpecsTheDriverCannotRun) {
  sdk::PodRunSpec bridge = Spec({Container("c0", {"sleep", "300"})});
  bridge.network_mode = "bridge";
  EXPECT_EQ(Call(PluginOp::kStart, bridge).code, CAPSTAN_ERR_UNSUPPORTED) << "a process has only the host network";
  EXPECT_EQ(Call(PluginOp::kStart, Spec({Container("../escape", {"sleep", "300"})})).code, CAPSTAN_ERR_INVALID_ARGUMENT)
      << "container names become file names";
  EXPECT_TRUE(ListIds({{"test", marker_}}).empty()) << "a refused spec started something";
}

TEST_F(ProcessPluginTest, ImageDirectoryIsTheDefaultWorkingDirectory) {
  const std::string app = dir_ / "app";
  std::filesystem::create_directories(app + "/data");
  sdk::ContainerSpec in_image = Container("app", {"pwd"});
  in_image.image = app;
  sdk::ContainerSpec relative = Container("rel", {"pwd"});
  relative.image = app;
  relative.working_dir = "data";
  const sdk::PodRunHandle h = Start(Spec({in_image, relative, Container("plain", {"pwd"})}));
  auto waited = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 20000});
  ASSERT_TRUE(waited.exited);
  EXPECT_EQ(Logs(h, "app").all, app + "\n");
  EXPECT_EQ(Logs(h, "rel").all, app + "/data\n");
  EXPECT_EQ(Logs(h, "plain").all, "/\n");
  EXPECT_EQ(StatusOf(h, "app").image_id, app);
  EXPECT_EQ(StatusOf(h, "plain").image_id, "");
  EXPECT_EQ(StatusOf(h, "app").exit_code, 0);
  EXPECT_EQ(StatusOf(h, "app").reason, "Completed");
}

TEST_F(ProcessPluginTest, WaitAndExitEvents) {
  const sdk::PodRunHandle h = Start(Spec({Shell("quick", "exit 5"), Container("long", {"sleep", "300"})}));
  auto now = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 0});
  EXPECT_FALSE(now.exited);
  const auto first = AwaitEvents(h.id, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].container.name, "quick");
  EXPECT_EQ(first[0].container.exit_code, 5);
  EXPECT_EQ(first[0].pod_uid, h.pod.uid);

  const auto begin = Clock::now();
  auto timed_out = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 200});
  EXPECT_FALSE(timed_out.exited);
  EXPECT_GE(Clock::now() - begin, std::chrono::milliseconds(190));

  sdk::WaitResult late;
  std::thread waiter([&] { late = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 60000}); });
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  waiter.join();
  EXPECT_TRUE(late.exited);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(30));
  const auto events = AwaitEvents(h.id, 2);
  ASSERT_EQ(events.size(), 2u) << "one event per container, not more";
  EXPECT_EQ(events[1].container.name, "long");
  EXPECT_EQ(events[1].container.exit_code, 137);
}

TEST_F(ProcessPluginTest, LogsTailAndFollow) {
  const sdk::PodRunHandle done = Start(Spec({Shell("c0", "for i in 1 2 3 4 5; do echo line$i; done")}));
  ASSERT_TRUE(Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{done, 20000}).exited);
  EXPECT_EQ(Logs(done, "c0", 2).all, "line4\nline5\n");
  EXPECT_EQ(Logs(done, "c0", 0).all, "");
  EXPECT_EQ(Logs(done, "c0").all, "line1\nline2\nline3\nline4\nline5\n");
  std::string followed;
  ASSERT_TRUE(AwaitLog(done, "c0", "line5\n", &followed)) << "a follow of an exited container drains the log";

  // A follow of a running container goes on until the container is stopped, with heartbeats.
  const sdk::PodRunHandle h = Start(Spec({Shell("c0", "echo first; exec sleep 300")}));
  ASSERT_TRUE(AwaitLog(h, "c0", "first"));
  std::mutex mu;
  std::condition_variable cv;
  int heartbeats = 0;
  std::thread stopper([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return heartbeats > 0; });
    lock.unlock();
    EXPECT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  });
  std::string out;
  node::PluginReply r =
      instance_->Logs(sdk::Encode(sdk::LogsRequest{h, "c0", true, -1}), [&](int32_t stream, std::string_view data) {
        if (stream == CAPSTAN_LOG_STREAM_HEARTBEAT) {
          std::lock_guard<std::mutex> lock(mu);
          ++heartbeats;
          cv.notify_all();
        }
        out.append(data);
        return true;
      });
  stopper.join();
  EXPECT_EQ(r.code, CAPSTAN_OK) << r.error;
  EXPECT_EQ(out, "first\n");
  EXPECT_GE(heartbeats, 1);
  EXPECT_EQ(StatusOf(h, "c0").state, ContainerState::kTerminated) << "the follow ended before the container did";
  EXPECT_EQ(
      instance_
          ->Logs(sdk::Encode(sdk::LogsRequest{h, "nope", false, -1}), [](int32_t, std::string_view) { return true; })
          .code,
      CAPSTAN_ERR_NOT_FOUND);
}

TEST_F(ProcessPluginTest, CapabilitiesAndFingerprint) {
  auto caps = Must<sdk::Capabilities>(PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
  EXPECT_TRUE(caps.exec);
  EXPECT_TRUE(caps.logs);
  EXPECT_TRUE(caps.exit_events);
  EXPECT_FALSE(caps.image_pull);
  EXPECT_FALSE(caps.images);
  EXPECT_FALSE(caps.remote_endpoint);
  EXPECT_EQ(caps.network_modes, std::vector<std::string>{"host"});

  Recreate(Config({{"pods", 7}, {"logDir", dir_ / "elsewhere/logs"}}));
  auto fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_TRUE(fp.healthy) << fp.message;
  EXPECT_EQ(fp.os, "linux");
  EXPECT_FALSE(fp.arch.empty());
  EXPECT_EQ(fp.runtime_version, "process://0.1.0");
  EXPECT_EQ(fp.capacity.value("cpu", ""), std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_EQ(fp.capacity.value("pods", ""), "7");
  const std::string memory = fp.capacity.value("memory", "");
  ASSERT_GT(memory.size(), 2u);
  EXPECT_EQ(memory.substr(memory.size() - 2), "Ki");
  EXPECT_GT(std::stoll(memory), 0);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "elsewhere/logs")) << "create makes the log directory";

  // A state directory that went away: unhealthy, with the reason.
  std::filesystem::remove_all(dir_ / "elsewhere");
  fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_FALSE(fp.healthy);
  EXPECT_NE(fp.message.find("elsewhere"), std::string::npos) << fp.message;
}

TEST_F(ProcessPluginTest, BadConfigurationsNameTheField) {
  std::filesystem::create_directories(dir_ / "d");
  { std::ofstream(dir_ / "d/file") << "x"; }
  const std::vector<std::pair<nlohmann::json, std::string>> bad = {
      {{{"stateDir", "relative"}}, "stateDir"},
      {{{"stateDir", dir_ / "d/file/state"}}, "stateDir"},
      {{{"stateDir", dir_ / "s"}, {"logDir", dir_ / "d/file/logs"}}, "logDir"},
      {{{"stateDir", dir_ / "s"}, {"pods", -1}}, "pods"},
      {{{"stateDir", dir_ / "s"}, {"bogus", true}}, "bogus"},
  };
  for (const auto& [config, field] : bad) ExpectConfigRejected(config, field);
}

}  // namespace
}  // namespace capstan::plugins::process
