// The docker and containerd drivers end to end: `capstan server --driver docker|containerd`
// against a private engine the test starts itself (plugins/docker/testing/dockerd-fixture.sh,
// plugins/containerd/testing/containerd_env.sh: loopback only, their own state, images built
// locally from busybox-static), through the scenario (e2e/workload_scenario.h). A
// workload is "killed from outside the engine" by SIGKILL of its process, found in the engine.
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

#include "e2e/process.h"
#include "e2e/server_fixture.h"
#include "e2e/workload_scenario.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string SourceDir() { return CAPSTAN_SOURCE_DIR; }

std::map<std::string, std::string> ParseEnv(const std::string& text) {
  std::map<std::string, std::string> env;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool KillPid(const std::string& pid) {
  return !pid.empty() && pid != "0" && ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL) == 0;
}

// ---- docker ----

class DockerDriverTest : public testing::Test {
 protected:
  void SetUp() override {
    const std::string script = SourceDir() + "/plugins/docker/testing/dockerd-fixture.sh";
    RunResult r = Run({script, "start", "--owner", std::to_string(getpid())}, "", {}, 180s);
    if (r.exit_code == 77) GTEST_SKIP() << "dockerd is not installed (Debian: docker.io, busybox-static): " << r.err;
    ASSERT_EQ(r.exit_code, 0) << r.err;
    dir_ = r.out.substr(0, r.out.find('\n'));
    env_ = ParseEnv(ReadFile(dir_ + "/env"));
    ASSERT_FALSE(env_["CAPSTAN_DOCKER_ENDPOINT"].empty()) << ReadFile(dir_ + "/env");
  }
  void TearDown() override {
    server_.Stop();
    if (!dir_.empty()) Run({SourceDir() + "/plugins/docker/testing/dockerd-fixture.sh", "stop", dir_}, "", {}, 120s);
  }
  RunResult Docker(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/docker", "-H", env_["CAPSTAN_DOCKER_ENDPOINT"]};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
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
                    json{{"endpoint", env_["CAPSTAN_DOCKER_ENDPOINT"]}}.dump(), "--node-name", "e2e-docker"};
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

// ---- containerd ----

class ContainerdDriverTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cce.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    RunResult r = Run({SourceDir() + "/plugins/containerd/testing/containerd_env.sh", "start", dir_}, "", {}, 180s);
    if (r.exit_code == 3) {
      std::filesystem::remove_all(dir_);
      dir_.clear();
      GTEST_SKIP() << "containerd is not installed: " << r.out << r.err;
    }
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    env_ = ParseEnv(r.out);
    ASSERT_FALSE(env_["CONTAINERD_ENDPOINT"].empty()) << r.out;
  }
  void TearDown() override {
    server_.Stop();
    if (!dir_.empty()) Run({SourceDir() + "/plugins/containerd/testing/containerd_env.sh", "stop", dir_}, "", {}, 120s);
  }
  RunResult Ctr(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ctr", "-a", env_["CONTAINERD_SOCKET"], "-n", "k8s.io"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }
  // Running workload containers of ours (not sandboxes): id -> pid.
  std::map<std::string, std::string> Running() {
    std::map<std::string, std::string> out;
    RunResult ours = Ctr({"containers", "ls", "-q",
                          "labels.\"io.cri-containerd.kind\"==container,labels.\"capstan.io/managed-by\"==capstan"});
    std::set<std::string> ids;
    for (const std::string& id : Lines(ours.out)) ids.insert(id);
    for (const std::string& line : Lines(Ctr({"tasks", "ls"}).out)) {
      std::istringstream in(line);
      std::string id, pid, status;
      in >> id >> pid >> status;
      if (ids.count(id) && status == "RUNNING") out[id] = pid;
    }
    return out;
  }

  ServerProcess server_;
  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ContainerdDriverTest, WorkloadScenario) {
  const std::string image = env_["CONTAINERD_TEST_IMAGE"];
  const std::string image_v2 = image.substr(0, image.rfind(':')) + ":2";
  ASSERT_EQ(Ctr({"images", "tag", image, image_v2}).exit_code, 0);
  EngineAdapter a;
  a.name = "containerd";
  a.server_flags = {"--driver", "containerd", "--driver-config",
                    json{{"endpoint", env_["CONTAINERD_ENDPOINT"]},
                         {"sandboxImage", env_["CONTAINERD_PAUSE_IMAGE"]},
                         {"logDir", dir_ + "/logs"}}
                        .dump(),
                    "--node-name", "e2e-containerd"};
  a.image_v1 = image;
  a.image_v2 = image_v2;
  a.www = server_.home() + "/www";
  a.workloads = [this] {
    std::set<std::string> ids;
    for (const auto& [id, pid] : Running()) ids.insert(id);
    return ids;
  };
  a.kill = [this](const std::string& id) {
    auto running = Running();
    return running.count(id) != 0 && KillPid(running[id]);
  };
  ASSERT_TRUE(server_.Start(a.server_flags)) << server_.log();
  RunWorkloadScenario(server_, a);
  EXPECT_EQ(Ctr({"containers", "ls", "-q", "labels.\"capstan.io/managed-by\"==capstan"}).out, "")
      << "no container or sandbox of ours is left";
}

}  // namespace
}  // namespace capstan::e2e
