// The containerd driver end to end: `capstan server --driver containerd` against a private
// containerd with its CRI plugin that the test starts itself (plugins/containerd/testing/
// containerd_env.sh: its own state, images built locally from busybox-static), through the issue's
// scenario (e2e/workload_scenario.h). A workload is "killed from outside the engine" by SIGKILL of
// its process.
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

class ContainerdDriverTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cce.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    RunResult r = e2e::Run({SourceDir() + "/plugins/containerd/testing/containerd_env.sh", "start", dir_}, "", {}, 180s);
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
    if (!dir_.empty()) e2e::Run({SourceDir() + "/plugins/containerd/testing/containerd_env.sh", "stop", dir_}, "", {}, 120s);
  }
  RunResult Ctr(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ctr", "-a", env_["CONTAINERD_SOCKET"], "-n", "k8s.io"};
    argv.insert(argv.end(), args.begin(), args.end());
    return e2e::Run(argv);
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
                    "--node-name", "e2e-containerd", "--port-range", "23000-23999"};  // its own, as docker's
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
  const std::string left = Ctr({"containers", "ls", "-q", "labels.\"capstan.io/managed-by\"==capstan"}).out;
  std::string about;
  for (const std::string& id : Lines(left)) about += Ctr({"containers", "info", id}).out.substr(0, 2000) + "\n";
  EXPECT_EQ(left, "") << "no container or sandbox of ours is left:\n" << about << server_.log();
}

// Image garbage collection (docs/image-gc.md) with thresholds that any disk exceeds: the unused
// images go; the running Pod's image and the sandbox image (pinned) stay.
TEST_F(ContainerdDriverTest, ImageGarbageCollection) {
  const std::string image = env_["CONTAINERD_TEST_IMAGE"];
  const std::string pause = env_["CONTAINERD_PAUSE_IMAGE"];
  // Two images of their own: the busybox layer with another command each (another config, so
  // another id).
  for (const std::string name : {"a", "b"}) {
    const std::string tar = dir_ + "/unused-" + name + ".tar";
    RunResult built = e2e::Run({SourceDir() + "/plugins/containerd/testing/containerd_env.sh", "image", tar,
                                "docker.io/capstan-gc/unused-" + name + ":1", "echo", name});
    ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
    RunResult imported = Ctr({"images", "import", tar});
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  }
  auto present = [&](const std::string& ref) {
    for (const std::string& line : Lines(Ctr({"images", "ls", "-q"}).out)) {
      if (line == ref) return true;
    }
    return false;
  };
  ASSERT_TRUE(present("docker.io/capstan-gc/unused-a:1"));
  std::vector<std::string> flags = {"--driver", "containerd", "--driver-config",
                                    json{{"endpoint", env_["CONTAINERD_ENDPOINT"]},
                                         {"sandboxImage", pause},
                                         {"logDir", dir_ + "/logs"}}
                                        .dump(),
                                    "--node-name", "e2e-containerd-gc", "--port-range", "24500-24999"};
  for (const std::string& f : ImageGcTestFlags()) flags.push_back(f);
  ASSERT_TRUE(server_.Start(flags)) << server_.log();
  const std::string keeper = RunKeeperPod(server_, image);
  ASSERT_EQ(keeper, "");
  EXPECT_TRUE(WaitFor(
      [&] { return !present("docker.io/capstan-gc/unused-a:1") && !present("docker.io/capstan-gc/unused-b:1"); },
      30s))
      << Ctr({"images", "ls", "-q"}).out << server_.log();
  EXPECT_TRUE(present(image)) << "the running Pod's image stays";
  EXPECT_TRUE(present(pause)) << "the sandbox image is pinned";
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const std::string& m : NodeEventMessages(server_, "ImageGCRemoved")) {
          if (m.find("capstan-gc/unused-a:1") != std::string::npos) return true;
        }
        return false;
      },
      15s));
  ASSERT_EQ(server_.Capstan({"delete", "pod", "keeper"}).exit_code, 0);
}

}  // namespace
}  // namespace capstan::e2e
