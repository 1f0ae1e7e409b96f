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

}  // namespace
}  // namespace capstan::e2e
