// The docker driver end to end: `capstan server --driver docker` against a private dockerd the test
// starts itself (plugins/docker/testing/dockerd-fixture.sh: loopback only, its own state, the image
// built locally from busybox-static), through the scenario (e2e/workload_scenario.h). A
// workload is "killed from outside the engine" by SIGKILL of its process.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "e2e/engine_test_util.h"
#include "e2e/process.h"
#include "e2e/server_fixture.h"
#include "e2e/workload_scenario.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class DockerDriverTest : public testing::Test {
 protected:
  void SetUp() override {
    const std::string script = SourceDir() + "/plugins/docker/testing/dockerd-fixture.sh";
    RunResult r = e2e::Run({script, "start", "--owner", std::to_string(getpid())}, "", {}, 180s);
    if (r.exit_code == 77) GTEST_SKIP() << "dockerd is not installed (Debian: docker.io, busybox-static): " << r.err;
    ASSERT_EQ(r.exit_code, 0) << r.err;
    dir_ = r.out.substr(0, r.out.find('\n'));
    env_ = ParseEnv(ReadFile(dir_ + "/env"));
    ASSERT_FALSE(env_["CAPSTAN_DOCKER_ENDPOINT"].empty()) << ReadFile(dir_ + "/env");
  }
  void TearDown() override {
    server_.Stop();
    if (!dir_.empty()) e2e::Run({SourceDir() + "/plugins/docker/testing/dockerd-fixture.sh", "stop", dir_}, "", {}, 120s);
  }
  RunResult Docker(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/docker", "-H", env_["CAPSTAN_DOCKER_ENDPOINT"]};
    argv.insert(argv.end(), args.begin(), args.end());
    return e2e::Run(argv);
  }

  ServerProcess server_;
  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(DockerDriverTest, WorkloadScenario) {
  const std::string image = env_["CAPSTAN_TEST_IMAGE"];
  const std::string image_v2 = image.substr(0, image.rfind(':')) + ":v2";
  ASSERT_EQ(Docker({"tag", image, image_v2}).exit_code, 0);
  EngineAdapter a;
  a.name = "docker";
  a.server_flags = {"--driver", "docker", "--driver-config",
                    json{{"endpoint", env_["CAPSTAN_DOCKER_ENDPOINT"]}}.dump(), "--node-name", "e2e-docker",
                    "--port-range", "22000-22999"};  // its own: the engines' scenarios run at once
  a.image_v1 = image;
  a.image_v2 = image_v2;
  a.www = server_.home() + "/www";
  a.workloads = [this] {
    RunResult r = Docker({"ps", "-q", "--no-trunc", "--filter", "label=capstan.io/managed-by=capstan"});
    auto ids = Lines(r.out);
    return std::set<std::string>(ids.begin(), ids.end());
  };
  a.kill = [this](const std::string& id) {
    RunResult r = Docker({"inspect", "-f", "{{.State.Pid}}", id});
    return KillPid(Lines(r.out).empty() ? "" : Lines(r.out)[0]);
  };
  ASSERT_TRUE(server_.Start(a.server_flags)) << server_.log();
  RunWorkloadScenario(server_, a);
  // Nothing of ours left, running or not.
  EXPECT_EQ(Docker({"ps", "-aq", "--filter", "label=capstan.io/managed-by=capstan"}).out, "");
}

// Image garbage collection (docs/image-gc.md) with thresholds that any disk exceeds: the unused
// images go, with an Event each; the image of a running Pod stays.
TEST_F(DockerDriverTest, ImageGarbageCollection) {
  const std::string image = env_["CAPSTAN_TEST_IMAGE"];
  // Two images of their own (another id each, not another tag of the test image): a rootfs of
  // one file, imported.
  for (const std::string name : {"a", "b"}) {
    RunResult r = Shell("set -e; d=$(mktemp -d); echo " + name + " > \"$d/" + name + "\"; tar -C \"$d\" -cf - . | " +
                        "/usr/bin/docker -H " + env_["CAPSTAN_DOCKER_ENDPOINT"] + " import - capstan-gc/unused-" + name +
                        ":1 >/dev/null; rm -rf \"$d\"");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::vector<std::string> flags = {"--driver", "docker", "--driver-config",
                                    json{{"endpoint", env_["CAPSTAN_DOCKER_ENDPOINT"]}}.dump(), "--node-name",
                                    "e2e-docker-gc", "--port-range", "24000-24499"};
  for (const std::string& f : ImageGcTestFlags()) flags.push_back(f);
  ASSERT_TRUE(server_.Start(flags)) << server_.log();
  const std::string keeper = RunKeeperPod(server_, image);
  ASSERT_EQ(keeper, "");

  auto present = [&](const std::string& ref) { return Docker({"image", "inspect", ref}).exit_code == 0; };
  EXPECT_TRUE(WaitFor([&] { return !present("capstan-gc/unused-a:1") && !present("capstan-gc/unused-b:1"); }, 30s))
      << server_.log();
  EXPECT_TRUE(present(image)) << "the running Pod's image stays";

  // An ImageGCRemoved Event on the Node per image removed; FreeDiskSpaceFailed since the disk
  // stays above 0%.
  std::string messages;
  EXPECT_TRUE(WaitFor(
      [&] {
        messages.clear();
        for (const std::string& m : NodeEventMessages(server_, "ImageGCRemoved")) messages += m + "\n";
        return messages.find("capstan-gc/unused-a:1") != std::string::npos &&
               messages.find("capstan-gc/unused-b:1") != std::string::npos &&
               !NodeEventMessages(server_, "FreeDiskSpaceFailed").empty();
      },
      15s))
      << messages;
  EXPECT_EQ(messages.find(image + " "), std::string::npos) << messages;
  ASSERT_EQ(server_.Capstan({"delete", "pod", "keeper"}).exit_code, 0);
}

}  // namespace
}  // namespace capstan::e2e
