// The docker driver through the real ABI (capstan-driver-docker.so loaded by the node agent's
// loader) against the test's own dockerd: host networking with traffic on 127.0.0.1, the create
// body as docker sees it, exits seen from outside, recover with a new instance, stop with a grace
// period, start errors, bridge and none modes (created, inspected, removed: no traffic), remove.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "plugins/docker/docker_test_util.h"

namespace capstan::plugins::docker {
namespace {

using node::PluginOp;
using sdk::ContainerState;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

TEST_F(DockerPluginTest, HostNetworkHttpdServesOnLoopback) {
  const int port = testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  const sdk::PodRunHandle h =
      Start(Spec({Container("web", {"httpd", "-f", "-p", "127.0.0.1:" + std::to_string(port), "-h", "/www"})}));
  ASSERT_EQ(h.containers.size(), 1u);
  EXPECT_EQ(h.containers[0].name, "web");
  EXPECT_EQ(h.containers[0].id.size(), 64u) << "the docker container id";
  ASSERT_TRUE(AwaitRunning(h, "web"));
  std::string page;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    page = testing::HttpGetLoopback(port, "/index.html");
    if (!page.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(page.find("200 OK"), std::string::npos) << page;
  EXPECT_NE(page.find("capstan fixture"), std::string::npos) << page;

  const sdk::ContainerStatus s = StatusOf(h, "web");
  EXPECT_EQ(s.state, ContainerState::kRunning);
  EXPECT_TRUE(s.ready);
  EXPECT_EQ(s.id, h.containers[0].id);
  EXPECT_EQ(s.image, engine().image());
  EXPECT_EQ(s.image_id.rfind("sha256:", 0), 0u) << s.image_id;
  EXPECT_TRUE(s.started_at_unix_nano.has_value());

  // What docker was given.
  const json c = DockerInspect(h.containers[0].id);
  EXPECT_EQ(c["HostConfig"]["NetworkMode"], "host");
  EXPECT_EQ(c["Name"], "/capstan-default-" + h.pod.name + "-web-" + h.id);
  EXPECT_EQ(c["Config"]["Labels"]["driver.capstan.io/run-id"], h.id);
  EXPECT_EQ(c["Config"]["Labels"]["driver.capstan.io/container"], "web");
  EXPECT_EQ(c["Config"]["Labels"][kTestLabel], marker_);
  EXPECT_EQ(c["Config"]["Labels"]["capstan.io/pod-uid"], h.pod.uid);
  EXPECT_EQ(c["HostConfig"]["RestartPolicy"]["Name"], "no");

  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 1000}).code, CAPSTAN_OK);
  const sdk::ContainerStatus stopped = StatusOf(h, "web");
  EXPECT_EQ(stopped.state, ContainerState::kTerminated);
  EXPECT_TRUE(stopped.finished_at_unix_nano.has_value());
  EXPECT_FALSE(stopped.ready);
  EXPECT_TRUE(testing::HttpGetLoopback(port, "/").empty()) << "still served after stop";
}

TEST_F(DockerPluginTest, SpecReachesTheContainer) {
  const std::string host_dir = engine().dir() + "/mount-" + marker_;
  std::filesystem::create_directories(host_dir);
  std::ofstream(host_dir + "/greeting") << "hello from the host\n";
  sdk::ContainerSpec c = Container("app", {"sh", "-c"});
  c.args = {"echo env=$GREETING; echo cwd=$(pwd); cat /data/greeting; exec sleep 300"};
  c.env.push_back({"GREETING", "hi there"});
  c.working_dir = "/tmp";
  c.mounts = {{host_dir, "/data", true}};
  c.resources = json::parse(R"({"limits": {"memory": "64Mi", "cpu": "250m"}, "requests": {"cpu": "100m"}})");
  const sdk::PodRunHandle h = Start(Spec({c}));
  ASSERT_TRUE(AwaitLog(h, "app", "hello from the host"));
  const LogOutput log = Logs(h, "app");
  EXPECT_NE(log.out.find("env=hi there\n"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("cwd=/tmp\n"), std::string::npos) << log.out;
  const json d = DockerInspect(h.containers[0].id);
  EXPECT_EQ(d["HostConfig"]["Memory"], 64 * 1024 * 1024);
  EXPECT_EQ(d["HostConfig"]["NanoCpus"], 250000000);
  EXPECT_EQ(d["HostConfig"]["CpuShares"], 102);
  EXPECT_EQ(d["Config"]["Entrypoint"], json({"sh", "-c"}));
  ASSERT_EQ(d["Mounts"].size(), 1u);
  EXPECT_EQ(d["Mounts"][0]["Source"], host_dir);
  EXPECT_EQ(d["Mounts"][0]["RW"], false);
  // The mount is read-only.
  auto write = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "app", {"touch", "/data/x"}, 10000});
  EXPECT_NE(write.exit_code, 0);
}

TEST_F(DockerPluginTest, ExitSeenWhenKilledFromOutside) {
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"}), Container("c1", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(h, "c0"));
  ASSERT_TRUE(AwaitRunning(h, "c1"));
  // A waiter sees the exit of c0 without c1: not yet exited.
  engine().MustDocker({"kill", h.containers[0].id});
  std::vector<sdk::ContainerExited> events = AwaitEvents(h.id, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].pod_uid, h.pod.uid);
  EXPECT_EQ(events[0].container.name, "c0");
  EXPECT_EQ(events[0].container.state, ContainerState::kTerminated);
  EXPECT_EQ(events[0].container.exit_code, 137);
  EXPECT_EQ(events[0].container.reason, "Error");
  auto early = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 0});
  EXPECT_FALSE(early.exited);

  // A wait in progress returns when the last container is killed from outside.
  const auto begin = Clock::now();
  sdk::WaitResult late;
  std::thread waiter([&] { late = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 30000}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  engine().MustDocker({"kill", "--signal", "TERM", h.containers[1].id});  // ignored: pid 1 has no handler
  engine().MustDocker({"kill", h.containers[1].id});
  waiter.join();
  EXPECT_TRUE(late.exited);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(10));
  events = AwaitEvents(h.id, 2);
  EXPECT_EQ(events.size(), 2u) << "one event per container";
}

TEST_F(DockerPluginTest, ExitEventsSurviveAnEngineRestart) {
  // The engine stops its containers with their stop signal when it shuts down: sleep as pid 1
  // ignores SIGTERM, and the restart would wait out docker's 10 s.
  Recreate(Config({{"stopSignal", "SIGKILL"}}));
  const sdk::PodRunHandle before = Start(Spec({Container("c0", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(before, "c0"));
  // The engine goes away (its containers die) and comes back: the event stream reconnects, and
  // asks for what it missed meanwhile.
  ASSERT_TRUE(engine().RestartEngine());
  auto events = AwaitEvents(before.id, 1);
  ASSERT_EQ(events.size(), 1u) << "the exit during the restart";
  EXPECT_EQ(events[0].container.state, ContainerState::kTerminated);
  EXPECT_EQ(StatusOf(before, "c0").state, ContainerState::kTerminated);
  const sdk::PodRunHandle after = Start(Spec({Container("c0", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(after, "c0"));
  engine().MustDocker({"kill", after.containers[0].id});
  events = AwaitEvents(after.id, 1);
  ASSERT_EQ(events.size(), 1u) << "an exit after the restart";
  EXPECT_EQ(events[0].container.exit_code, 137);
  EXPECT_EQ(AwaitEvents(before.id, 1).size(), 1u) << "each exit once, even when the stream replays it";
}

TEST_F(DockerPluginTest, RecoverAfterTheInstanceIsRecreated) {
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"}), Container("c1", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(h, "c1"));
  Recreate();
  ASSERT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  // Only the id is needed: the containers are found by label.
  sdk::PodRunHandle bare;
  bare.id = h.id;
  const sdk::PodRunStatus s = Must<sdk::PodRunStatus>(PluginOp::kInspect, sdk::HandleRequest{bare});
  ASSERT_EQ(s.containers.size(), 2u);
  EXPECT_EQ(s.containers[0].name, "c0");
  EXPECT_EQ(s.containers[0].id, h.containers[0].id);
  EXPECT_EQ(s.containers[1].id, h.containers[1].id);
  auto list = Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kTestLabel, marker_}}});
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0].id, h.id);
  EXPECT_EQ(list.items[0].pod.uid, h.pod.uid);
  EXPECT_EQ(list.items[0].pod.name, h.pod.name);
  EXPECT_EQ(list.items[0].pod.namespace_name, "default");
  ASSERT_EQ(list.items[0].containers.size(), 2u);
  EXPECT_EQ(list.items[0].containers[1].name, "c1");
  // The new instance follows the engine's events too.
  engine().MustDocker({"kill", h.containers[1].id});
  auto events = AwaitEvents(h.id, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].container.name, "c1");
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{h}).code, CAPSTAN_ERR_NOT_FOUND);
}

TEST_F(DockerPluginTest, StopWaitsTheGracePeriodThenKills) {
  // c0 exits 0 on SIGTERM; c1 ignores it and is killed when the grace period ends.
  const sdk::PodRunHandle h =
      Start(Spec({Shell("c0", "trap 'exit 0' TERM; echo ready; sleep 300 & wait"),
                  Shell("c1", "trap '' TERM; echo ready; sleep 300 & wait")}));
  ASSERT_TRUE(AwaitLog(h, "c0", "ready"));
  ASSERT_TRUE(AwaitLog(h, "c1", "ready"));
  const auto begin = Clock::now();
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 1500}).code, CAPSTAN_OK);
  const auto took = Clock::now() - begin;
  EXPECT_GE(took, std::chrono::milliseconds(1400)) << "c1 was killed before its grace period ended";
  EXPECT_LT(took, std::chrono::seconds(8)) << "the containers are stopped together, not in turn";
  const sdk::ContainerStatus c0 = StatusOf(h, "c0"), c1 = StatusOf(h, "c1");
  EXPECT_EQ(c0.state, ContainerState::kTerminated);
  EXPECT_EQ(c0.exit_code, 0);
  EXPECT_EQ(c0.reason, "Completed");
  EXPECT_EQ(c1.state, ContainerState::kTerminated);
  EXPECT_EQ(c1.exit_code, 137);
  EXPECT_EQ(c1.reason, "Error");
  EXPECT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK) << "stopping a stopped run";
}

TEST_F(DockerPluginTest, AContainerThatCannotStartIsTerminatedNotAnError) {
  const sdk::PodRunHandle h =
      Start(Spec({Container("good", {"sleep", "300"}), Container("bad", {"no-such-command-xyz"})}));
  ASSERT_EQ(h.containers.size(), 2u);
  const sdk::ContainerStatus bad = StatusOf(h, "bad");
  EXPECT_EQ(bad.state, ContainerState::kTerminated);
  EXPECT_EQ(bad.reason, "StartError");
  EXPECT_EQ(bad.exit_code, 127);
  EXPECT_NE(bad.message.find("no-such-command-xyz"), std::string::npos) << bad.message;
  EXPECT_TRUE(bad.finished_at_unix_nano.has_value());
  EXPECT_EQ(StatusOf(h, "good").state, ContainerState::kRunning);
  auto events = AwaitEvents(h.id, 1);
  ASSERT_EQ(events.size(), 1u) << "the failed start is an exit";
  EXPECT_EQ(events[0].container.name, "bad");
  EXPECT_EQ(events[0].container.reason, "StartError");
}

TEST_F(DockerPluginTest, AMissingImageFailsTheStartAndLeavesNothing) {
  sdk::ContainerSpec missing = Container("second", {"true"});
  missing.image = "capstan-test/no-such-image:" + marker_;
  node::PluginReply reply =
      Call(PluginOp::kStart, Spec({Container("first", {"sleep", "300"}), missing}));
  EXPECT_EQ(reply.code, CAPSTAN_ERR_NOT_FOUND) << reply.error;
  EXPECT_NE(reply.error.find(missing.image), std::string::npos) << "names the image: " << reply.error;
  EXPECT_NE(reply.error.find("pull"), std::string::npos) << reply.error;
  EXPECT_TRUE(EngineContainers().empty()) << "the first container was not removed";
  auto list = Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kTestLabel, marker_}}});
  EXPECT_TRUE(list.items.empty());
}

TEST_F(DockerPluginTest, BridgeModeCreateInspectRemove) {
  const int port = testing::FreeLoopbackPort();
  sdk::ContainerSpec web = Container("web", {"httpd", "-f", "-p", "80", "-h", "/www"});
  web.ports = {{"http", 80, port, "TCP", "127.0.0.1"}, {"admin", 8081, 0, "TCP", ""}};
  sdk::ContainerSpec side = Container("side", {"sleep", "300"});
  side.ports = {{"dns", 53, 0, "UDP", ""}};
  const sdk::PodRunHandle h = Start(Spec({web, side}, "bridge"));
  ASSERT_TRUE(AwaitRunning(h, "web"));
  ASSERT_TRUE(AwaitRunning(h, "side"));
  const json first = DockerInspect(h.containers[0].id);
  EXPECT_EQ(first["HostConfig"]["NetworkMode"], engine().network());
  EXPECT_EQ(first["HostConfig"]["PortBindings"],
            json::parse(R"({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ")" + std::to_string(port) + R"("}]})"));
  EXPECT_TRUE(first["Config"]["ExposedPorts"].contains("8081/tcp"));
  EXPECT_TRUE(first["Config"]["ExposedPorts"].contains("53/udp"));
  EXPECT_EQ(first["Config"]["Hostname"], h.pod.name);
  EXPECT_TRUE(first["NetworkSettings"]["Networks"].contains(engine().network()));
  const json second = DockerInspect(h.containers[1].id);
  EXPECT_EQ(second["HostConfig"]["NetworkMode"], "container:" + h.containers[0].id) << "one namespace per pod";
  // The pod's containers share the namespace (its loopback), seen from inside, not by traffic
  // from the host.
  auto hostname = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "side", {"hostname"}, 10000});
  EXPECT_EQ(hostname.out, h.pod.name + "\n");
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_TRUE(EngineContainers().empty());
  EXPECT_EQ(Call(PluginOp::kInspect, sdk::HandleRequest{h}).code, CAPSTAN_ERR_NOT_FOUND);
}

TEST_F(DockerPluginTest, NoneModeHasOnlyLoopback) {
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"}), Container("c1", {"sleep", "300"})}, "none"));
  ASSERT_TRUE(AwaitRunning(h, "c1"));
  EXPECT_EQ(DockerInspect(h.containers[0].id)["HostConfig"]["NetworkMode"], "none");
  EXPECT_EQ(DockerInspect(h.containers[1].id)["HostConfig"]["NetworkMode"], "container:" + h.containers[0].id);
  auto links = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c1", {"ls", "/sys/class/net"}, 10000});
  EXPECT_EQ(links.out, "lo\n");
}

TEST_F(DockerPluginTest, RemoveIsIdempotentAndEndsWaits) {
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"})}));
  node::PluginReply waited;
  std::thread waiter([&] { waited = Call(PluginOp::kWait, sdk::WaitRequest{h, 30000}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto begin = Clock::now();
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  waiter.join();
  EXPECT_TRUE(waited.code == CAPSTAN_ERR_NOT_FOUND || waited.code == CAPSTAN_OK) << sdk::CodeName(waited.code);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(5));
  EXPECT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  EXPECT_EQ(engine().Docker({"inspect", h.containers[0].id}), 1) << "the container is gone from the engine";
  sdk::PodRunHandle unknown;
  unknown.id = "0123456789ab";
  EXPECT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{unknown}).code, CAPSTAN_OK);
  unknown.id = "not-a-run-id";
  EXPECT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{unknown}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kInspect, sdk::HandleRequest{unknown}).code, CAPSTAN_ERR_NOT_FOUND);
}

TEST_F(DockerPluginTest, AContainerRemovedBehindTheDriversBackIsUnknown) {
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"}), Container("c1", {"sleep", "300"})}));
  engine().MustDocker({"rm", "-f", h.containers[1].id});
  const sdk::PodRunStatus s = Inspect(h);
  ASSERT_EQ(s.containers.size(), 2u);
  EXPECT_EQ(s.containers[1].name, "c1");
  EXPECT_EQ(s.containers[1].state, ContainerState::kTerminated);
  EXPECT_EQ(s.containers[1].exit_code, 255) << "an exit code that is lost";
  EXPECT_EQ(s.containers[1].reason, "Unknown");
}

}  // namespace
}  // namespace capstan::plugins::docker
