// The containerd driver through the real ABI (capstan-driver-containerd.so loaded by the node
// agent's loader) against a private containerd started by the test itself: a host-network
// server answering on 127.0.0.1, exits learned from outside, recover, logs, exec, stop with a
// grace period, resources, images, fingerprint and configuration. Nothing leaves 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "plugins/containerd/containerd_plugin_test_util.h"
#include "plugins/containerd/pod_request.h"

namespace capstan::plugins::containerd {
namespace {

using node::PluginOp;
using Clock = std::chrono::steady_clock;
using sdk::ContainerState;
using json = nlohmann::json;

// A TCP port on 127.0.0.1 that is free now.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// GET / from 127.0.0.1:port; the whole response, or "" when nothing answers.
std::string HttpGet(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

TEST_F(ContainerdPluginTest, HostNetworkServerAnswersOnLoopback) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const sdk::PodRunHandle h =
      Start(Spec({Shell("web",
                        "mkdir -p /www && echo hello-$CAPSTAN_CONTAINERD_TEST > /www/index.html && "
                        "exec httpd -f -p 127.0.0.1:" +
                            std::to_string(port) + " -h /www")}));
  ASSERT_EQ(h.id.size(), 64u) << "the handle id is the sandbox id";
  ASSERT_EQ(h.containers.size(), 1u);
  EXPECT_EQ(h.containers[0].name, "web");
  ASSERT_TRUE(AwaitRunning(h));
  std::string response;
  for (const auto deadline = Clock::now() + std::chrono::seconds(20); Clock::now() < deadline;) {
    response = HttpGet(port);
    if (!response.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(response.find("200 OK"), std::string::npos) << response;
  EXPECT_NE(response.find("hello-" + marker_), std::string::npos)
      << "the spec's env reaches the container: " << response;
  const sdk::ContainerStatus s = StatusOf(h, "web");
  EXPECT_EQ(s.state, ContainerState::kRunning);
  EXPECT_TRUE(s.ready);
  EXPECT_TRUE(s.started_at_unix_nano.has_value());
  EXPECT_EQ(s.image, env().test_image());
  EXPECT_EQ(s.image_id.rfind("sha256:", 0), 0u) << s.image_id;
  EXPECT_EQ(s.id, h.containers[0].id);

  // The sandbox is in the node's network namespace, and carries the run's labels.
  sdk::Result<cri::PodSandboxStatusResponse> sandbox = cri().PodSandboxStatus(h.id);
  ASSERT_TRUE(sandbox.ok()) << sandbox.error().message;
  EXPECT_EQ(sandbox.value().status().labels().at("test"), marker_);
  EXPECT_EQ(sandbox.value().status().metadata().uid(), h.pod.uid);

  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  EXPECT_EQ(HttpGet(port), "") << "stopped, yet something answers";
}

TEST_F(ContainerdPluginTest, ExitOfAContainerKilledFromOutside) {
  const sdk::PodRunHandle h =
      Start(Spec({Container("victim", {"sleep", "300"}), Container("bystander", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(h));
  const int pid = PidOf(h.containers[0].id);
  ASSERT_GT(pid, 1);
  EXPECT_TRUE(Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 0}).exited == false);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const auto events = AwaitEvents(h.id, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].pod_uid, h.pod.uid);
  EXPECT_EQ(events[0].container.name, "victim");
  EXPECT_EQ(events[0].container.state, ContainerState::kTerminated);
  EXPECT_EQ(events[0].container.exit_code, 137);
  EXPECT_TRUE(events[0].container.finished_at_unix_nano.has_value());
  EXPECT_EQ(StatusOf(h, "bystander").state, ContainerState::kRunning);

  // A wait returns when the last one ends (stopped from another thread).
  sdk::WaitResult waited;
  const auto begin = Clock::now();
  std::thread waiter([&] { waited = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 60000}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  waiter.join();
  EXPECT_TRUE(waited.exited);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(20));
  const auto all = AwaitEvents(h.id, 2);
  ASSERT_EQ(all.size(), 2u) << "one event per container, not more";
  EXPECT_EQ(all[1].container.name, "bystander");
}

TEST_F(ContainerdPluginTest, RecoverAfterTheInstanceIsRecreated) {
  const sdk::PodRunHandle h = Start(Spec({Container("a", {"sleep", "300"}), Container("b", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(h));
  const auto begin = Clock::now();
  Recreate();
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(2)) << "destroy waited for something";
  EXPECT_EQ(ListIds({{"test", marker_}}), std::vector<std::string>{h.id});
  const std::vector<sdk::PodRunHandle> listed =
      Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{"test", marker_}}}).items;
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].pod.uid, h.pod.uid);
  ASSERT_EQ(listed[0].containers.size(), 2u);
  EXPECT_EQ(listed[0].containers[0].name, "a") << "spec order";
  EXPECT_EQ(listed[0].containers[0].id, h.containers[0].id);
  EXPECT_EQ(listed[0].containers[1].id, h.containers[1].id);
  ASSERT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{listed[0]}).code, CAPSTAN_OK);
  for (const sdk::ContainerStatus& s : Inspect(h).containers) EXPECT_EQ(s.state, ContainerState::kRunning);

  // The new instance learns of exits too.
  ASSERT_EQ(::kill(PidOf(h.containers[1].id), SIGKILL), 0);
  const auto events = AwaitEvents(h.id, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].container.name, "b");

  sdk::PodRunHandle unknown = h;
  unknown.id = std::string(64, 'f');
  EXPECT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{unknown}).code, CAPSTAN_ERR_NOT_FOUND);
  unknown.id = h.id.substr(0, 12);
  EXPECT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{unknown}).code, CAPSTAN_ERR_NOT_FOUND)
      << "a prefix of a sandbox id is no handle";
  EXPECT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{unknown}).code, CAPSTAN_OK);
  EXPECT_EQ(StatusOf(h, "a").state, ContainerState::kRunning) << "remove of a prefix removed the run";
}

TEST_F(ContainerdPluginTest, LogsTailFollowAndLongLines) {
  // stderr first, and a pause: containerd copies the two streams separately, so their order in
  // the file is only as good as the pause.
  const sdk::PodRunHandle h = Start(Spec({Shell("c0",
                                                "echo oops >&2; sleep 0.5; for i in 1 2 3 4 5; do echo line$i; done; "
                                                "head -c 40000 /dev/zero | tr '\\0' x; echo; printf 'no-newline'")}));
  ASSERT_TRUE(Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 30000}).exited);
  const std::string long_line = std::string(40000, 'x') + "\n";
  const LogOutput all = Logs(h, "c0");
  // (Compared as booleans: a failure must not print 40 kB.)
  EXPECT_TRUE(all.out == "line1\nline2\nline3\nline4\nline5\n" + long_line + "no-newline")
      << all.out.size() << " bytes: " << all.out.substr(0, 40) << "..."
      << all.out.substr(all.out.size() - std::min<size_t>(40, all.out.size()));
  EXPECT_EQ(all.err, "oops\n");
  EXPECT_EQ(Logs(h, "c0", 1).out, "no-newline") << "a last line without a newline is a line";
  const LogOutput tail = Logs(h, "c0", 2);
  EXPECT_TRUE(tail.out == long_line + "no-newline") << "the long line is one line: " << tail.out.size() << " bytes";
  EXPECT_EQ(tail.err, "");
  EXPECT_TRUE(Logs(h, "c0", 3).out == "line5\n" + long_line + "no-newline");
  const LogOutput eight = Logs(h, "c0", 8);
  EXPECT_EQ(eight.out.substr(0, 6), "line1\n");
  EXPECT_EQ(eight.err, "oops\n");
  EXPECT_EQ(Logs(h, "c0", 0).out, "");
  ASSERT_TRUE(AwaitLog(h, "c0", "no-newline")) << "a follow of an exited container drains the log and ends";

  // A follow of a running container gets each line as it comes and ends when it exits.
  const sdk::PodRunHandle ticker =
      Start(Spec({Shell("t", "for i in 1 2 3 4 5 6; do echo tick$i; sleep 0.3; done; exit 3")}));
  std::string out;
  int heartbeats = 0;
  const auto begin = Clock::now();
  node::PluginReply r =
      instance_->Logs(sdk::Encode(sdk::LogsRequest{ticker, "t", true, -1}), [&](int32_t stream, std::string_view data) {
        if (stream == CAPSTAN_LOG_STREAM_HEARTBEAT) ++heartbeats;
        out.append(data);
        return true;
      });
  EXPECT_EQ(r.code, CAPSTAN_OK) << r.error;
  EXPECT_EQ(out, "tick1\ntick2\ntick3\ntick4\ntick5\ntick6\n");
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(20));
  EXPECT_EQ(StatusOf(ticker, "t").exit_code, 3) << "the follow ended with the container";
  EXPECT_EQ(
      instance_
          ->Logs(sdk::Encode(sdk::LogsRequest{h, "nope", false, -1}), [](int32_t, std::string_view) { return true; })
          .code,
      CAPSTAN_ERR_NOT_FOUND);
}

TEST_F(ContainerdPluginTest, ExecOutputExitCodeAndTimeout) {
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(h));
  auto r = Must<sdk::ExecResult>(
      PluginOp::kExec,
      sdk::ExecRequest{h, "c0", {"sh", "-c", "echo out-$CAPSTAN_CONTAINERD_TEST; echo err >&2; exit 3"}, 10000});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out-" + marker_ + "\n") << "the container's environment";
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 0}).exit_code, 0);
  auto missing = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"no-such-command-xyz"}, 10000});
  EXPECT_EQ(missing.exit_code, 127) << "as a shell says it";
  EXPECT_NE(missing.err.find("no-such-command-xyz"), std::string::npos) << missing.err;
  const auto begin = Clock::now();
  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"sleep", "30"}, 1000}).code, CAPSTAN_ERR_TIMEOUT);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(15));
  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "nope", {"true"}, 0}).code, CAPSTAN_ERR_NOT_FOUND);
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 0}).code, CAPSTAN_ERR_CONFLICT);
}

TEST_F(ContainerdPluginTest, StopWaitsTheGracePeriodThenKills) {
  const sdk::PodRunHandle h =
      Start(Spec({Shell("polite",
                        "trap 'echo got-term; exit 0' TERM; echo ready; "
                        "while true; do sleep 0.1; done"),
                  Shell("stubborn", "trap '' TERM; echo ready; while true; do sleep 0.1; done")}));
  ASSERT_TRUE(AwaitLog(h, "polite", "ready"));
  ASSERT_TRUE(AwaitLog(h, "stubborn", "ready"));
  const auto begin = Clock::now();
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 2000}).code, CAPSTAN_OK);
  const auto took = Clock::now() - begin;
  EXPECT_GE(took, std::chrono::milliseconds(1900)) << "the stubborn one was killed before its grace period ended";
  EXPECT_LT(took, std::chrono::seconds(10));
  const sdk::ContainerStatus polite = StatusOf(h, "polite"), stubborn = StatusOf(h, "stubborn");
  EXPECT_EQ(polite.state, ContainerState::kTerminated);
  EXPECT_EQ(polite.exit_code, 0);
  EXPECT_EQ(polite.reason, "Completed");
  EXPECT_EQ(stubborn.state, ContainerState::kTerminated);
  EXPECT_EQ(stubborn.exit_code, 137);
  EXPECT_NE(Logs(h, "polite").out.find("got-term"), std::string::npos);
  EXPECT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK) << "stopping a stopped run";
}

TEST_F(ContainerdPluginTest, RemoveIsIdempotentAndLeavesNothing) {
  const sdk::PodRunHandle h = Start(Spec({Shell("c0", "echo hi; exec sleep 300")}));
  ASSERT_TRUE(AwaitLog(h, "c0", "hi"));
  sdk::Result<cri::PodSandboxStatusResponse> sandbox = cri().PodSandboxStatus(h.id);
  ASSERT_TRUE(sandbox.ok());
  const std::string log_dir = sandbox.value().status().annotations().at(kLogDirAnnotation);
  EXPECT_EQ(std::filesystem::path(log_dir).parent_path(), env().dir() + "/logs");
  EXPECT_TRUE(std::filesystem::exists(log_dir + "/c0.log"));
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kInspect, sdk::HandleRequest{h}).code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_EQ(cri().PodSandboxStatus(h.id).error().code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_EQ(cri().ContainerStatus(h.containers[0].id).error().code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_FALSE(std::filesystem::exists(log_dir)) << "the run's logs go with it";
  EXPECT_TRUE(ListIds({{"test", marker_}}).empty());
  EXPECT_EQ(AwaitEvents(h.id, 1).size(), 1u) << "remove kills, and says so";
}

TEST_F(ContainerdPluginTest, StartNeverPullsAndFailsCleanly) {
  // A missing image: NOT_FOUND naming it, and nothing created.
  sdk::PodRunSpec spec = Spec({Container("ok", {"sleep", "300"}), Container("missing", {"true"})});
  spec.containers[1].image = "127.0.0.1:1/capstan-test/missing:1";
  node::PluginReply r = Call(PluginOp::kStart, spec);
  EXPECT_EQ(r.code, CAPSTAN_ERR_NOT_FOUND) << r.error;
  EXPECT_NE(r.error.find("127.0.0.1:1/capstan-test/missing:1"), std::string::npos) << r.error;
  EXPECT_TRUE(ListIds({{"test", marker_}}).empty()) << "a failed start left a run";

  // A command that does not exist: the container is terminated (StartError), the run is not an error.
  const sdk::PodRunHandle h = Start(Spec({Container("ok", {"sleep", "300"}), Container("bad", {"/no/such/command"})}));
  const auto events = AwaitEvents(h.id, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].container.name, "bad");
  const sdk::ContainerStatus bad = StatusOf(h, "bad");
  EXPECT_EQ(bad.state, ContainerState::kTerminated);
  EXPECT_EQ(bad.exit_code, 128);
  EXPECT_EQ(bad.reason, "StartError");
  EXPECT_NE(bad.message.find("/no/such/command"), std::string::npos) << bad.message;
  EXPECT_EQ(StatusOf(h, "ok").state, ContainerState::kRunning);

  // A container containerd cannot create (its mount's host path lies under a file): the sandbox
  // and the container created before it are removed, with the run's log directory.
  sdk::ContainerSpec unmountable = Container("second", {"true"});
  unmountable.mounts = {{env().dir() + "/config.toml/below-a-file", "/data", false}};
  r = Call(PluginOp::kStart, Spec({Container("first", {"sleep", "300"}), unmountable}));
  EXPECT_NE(r.code, CAPSTAN_OK);
  EXPECT_NE(r.error.find("second"), std::string::npos) << r.error;
  // A sandbox containerd cannot run (no such runtime handler): nothing is left either.
  Recreate(Config({{"runtimeHandler", "no-such-handler"}}));
  r = Call(PluginOp::kStart, Spec({Container("c", {"true"})}));
  EXPECT_NE(r.code, CAPSTAN_OK);
  EXPECT_NE(r.error.find("no-such-handler"), std::string::npos) << r.error;
  Recreate();
  size_t log_dirs = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(env().dir() + "/logs")) ++log_dirs;
  EXPECT_EQ(log_dirs, 1u) << "only the run that started has logs";

  // Specs the driver refuses before anything is created.
  sdk::PodRunSpec none = Spec({Container("c", {"true"})});
  none.network_mode = "none";
  EXPECT_EQ(Call(PluginOp::kStart, none).code, CAPSTAN_ERR_UNSUPPORTED);
  EXPECT_EQ(Call(PluginOp::kStart, Spec({Container("../x", {"true"})})).code, CAPSTAN_ERR_INVALID_ARGUMENT);
  sdk::PodRunSpec bad_quantity = Spec({Container("c", {"true"})});
  bad_quantity.containers[0].resources = {{"limits", {{"memory", "lots"}}}};
  r = Call(PluginOp::kStart, bad_quantity);
  EXPECT_EQ(r.code, CAPSTAN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(r.error.find("resources.limits.memory"), std::string::npos) << r.error;
  EXPECT_EQ(ListIds({{"test", marker_}}), std::vector<std::string>{h.id});
}

TEST_F(ContainerdPluginTest, ResourcesReachTheRuntime) {
  sdk::ContainerSpec c = Container("c0", {"sleep", "300"});
  c.resources = {{"limits", {{"cpu", "500m"}, {"memory", "64Mi"}}}, {"requests", {{"cpu", "250m"}}}};
  c.working_dir = "/tmp";
  const std::string host_dir = env().dir() + "/mount-" + marker_;
  std::filesystem::create_directories(host_dir);
  { std::ofstream(host_dir + "/file") << "from-the-host"; }
  c.mounts = {{host_dir, "/data", true}};
  const sdk::PodRunHandle h = Start(Spec({c}));
  ASSERT_TRUE(AwaitRunning(h));
  sdk::Result<cri::ContainerStatusResponse> s = cri().ContainerStatus(h.containers[0].id, true);
  ASSERT_TRUE(s.ok());
  const json info = json::parse(s.value().info().at("info"), nullptr, false);
  const json& resources = info["runtimeSpec"]["linux"]["resources"];
  EXPECT_EQ(resources["memory"]["limit"], 64 << 20) << resources.dump();
  EXPECT_EQ(resources["cpu"]["quota"], 50000) << resources.dump();
  EXPECT_EQ(resources["cpu"]["period"], 100000) << resources.dump();
  EXPECT_EQ(resources["cpu"]["shares"], 256) << resources.dump();
  auto r = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h,
                                                                   "c0",
                                                                   {"sh", "-c",
                                                                    "pwd; cat /data/file; "
                                                                    "touch /data/x"},
                                                                   10000});
  EXPECT_EQ(r.out, "/tmp\nfrom-the-host") << r.err;
  EXPECT_NE(r.exit_code, 0) << "the mount is read-only";
}

TEST_F(ContainerdPluginTest, Images) {
  const std::string extra = "docker.io/capstan-test/extra:" + marker_;
  ASSERT_TRUE(env().ImportImage(extra, {"true"}));
  auto has = [&](const std::string& tag) {
    for (const sdk::Image& i : Must<sdk::ImageList>(PluginOp::kListImages, sdk::ListImagesRequest{}).images) {
      if (std::find(i.tags.begin(), i.tags.end(), tag) != i.tags.end()) {
        EXPECT_EQ(i.id.rfind("sha256:", 0), 0u);
        EXPECT_GT(i.size_bytes, 0);
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has(env().test_image()));
  EXPECT_TRUE(has(extra));
  // Present: no pull (nothing leaves the host), the id as containerd has it.
  auto pulled =
      Must<sdk::PullImageResult>(PluginOp::kPullImage, sdk::PullImageRequest{"capstan-test/extra:" + marker_, {}});
  EXPECT_EQ(pulled.image_id, cri().ImageStatus(extra).value().image().id());
  // A registry that is not there (a closed port on loopback): UNAVAILABLE.
  node::PluginReply nowhere = Call(PluginOp::kPullImage, sdk::PullImageRequest{"127.0.0.1:1/capstan-test/none:1", {}});
  EXPECT_EQ(nowhere.code, CAPSTAN_ERR_UNAVAILABLE) << nowhere.error;

  // In use by a run (even stopped): CONFLICT; then removed with the run gone; unknown: OK.
  sdk::ContainerSpec c = Container("c0", {"sleep", "300"});
  c.image = extra;
  c.command = {"/bin/sleep", "300"};
  const sdk::PodRunHandle h = Start(Spec({c}));
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  node::PluginReply in_use = Call(PluginOp::kRemoveImage, sdk::RemoveImageRequest{extra});
  EXPECT_EQ(in_use.code, CAPSTAN_ERR_CONFLICT) << in_use.error;
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kRemoveImage, sdk::RemoveImageRequest{extra}).code, CAPSTAN_OK);
  EXPECT_FALSE(has(extra));
  EXPECT_EQ(Call(PluginOp::kRemoveImage, sdk::RemoveImageRequest{extra}).code, CAPSTAN_OK) << "idempotent";
}

TEST_F(ContainerdPluginTest, CapabilitiesAndFingerprint) {
  auto caps = Must<sdk::Capabilities>(PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
  EXPECT_TRUE(caps.exec && caps.logs && caps.image_pull && caps.images && caps.exit_events);
  EXPECT_FALSE(caps.remote_endpoint);
  EXPECT_EQ(caps.network_modes, std::vector<std::string>{"host"});

  auto fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_TRUE(fp.healthy) << fp.message;
  EXPECT_EQ(fp.os, "linux");
  EXPECT_EQ(fp.runtime_version.rfind("containerd://1.", 0), 0u) << fp.runtime_version;
  EXPECT_EQ(fp.capacity.value("cpu", ""), std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_EQ(fp.capacity.value("pods", ""), "110");
  EXPECT_EQ(fp.attributes["sandboxImage"], env().pause_image()) << "containerd's own sandbox_image";
  EXPECT_EQ(fp.attributes["sandboxImagePresent"], "true");
  EXPECT_EQ(fp.attributes["runtimeApiVersion"], "v1");

  // The same image spelled short is the same image; another one is a misconfiguration.
  Recreate(Config({{"sandboxImage", "capstan-test/pause:1"}, {"pods", 7}}));
  fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_TRUE(fp.healthy) << fp.message;
  EXPECT_EQ(fp.capacity.value("pods", ""), "7");
  Recreate(Config({{"sandboxImage", "capstan-test/other-pause:1"}}));
  fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_FALSE(fp.healthy);
  EXPECT_NE(fp.message.find("capstan-test/other-pause:1"), std::string::npos) << fp.message;
  node::PluginReply r = Call(PluginOp::kStart, Spec({Container("c", {"true"})}));
  EXPECT_EQ(r.code, CAPSTAN_ERR_UNAVAILABLE) << r.error;
  EXPECT_NE(r.error.find("sandbox_image"), std::string::npos) << r.error;

  // An endpoint where nothing listens: unhealthy with the reason, at once.
  Recreate(Config({{"endpoint", "unix://" + env().dir() + "/nothing.sock"}}));
  const auto begin = Clock::now();
  fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_FALSE(fp.healthy);
  EXPECT_NE(fp.message.find("not reachable"), std::string::npos) << fp.message;
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(3));
}

TEST_F(ContainerdPluginTest, BadConfigurationsNameTheField) {
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"endpoint", "tcp://127.0.0.1:1"}}, "endpoint"},
      {{{"logDir", "relative"}}, "logDir"},
      {{{"logDir", env().dir() + "/config.toml/logs"}}, "logDir"},
      {{{"timeouts", {{"callMs", -1}}}}, "timeouts.callMs"},
      {{{"bogus", true}}, "bogus"},
  };
  for (const auto& [config, field] : bad) ExpectConfigRejected(config, field);
}

}  // namespace
}  // namespace capstan::plugins::containerd
