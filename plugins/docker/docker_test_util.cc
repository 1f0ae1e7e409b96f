#include "plugins/docker/docker_test_util.h"

#include <sstream>

#ifndef CAPSTAN_DOCKER_PLUGIN
#error "CAPSTAN_DOCKER_PLUGIN: the path of capstan-driver-docker.so"
#endif

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;

// One engine for the test binary (each test runs in a process of its own under ctest).
const auto* const kDockerd = ::testing::AddGlobalTestEnvironment(new testing::DockerdEnvironment({}));

}  // namespace

DockerPluginTest::DockerPluginTest()
    : PluginHarness(
          {.module = CAPSTAN_DOCKER_PLUGIN, .marker_env = "CAPSTAN_DOCKER_TEST", .marker_label = kTestLabel}) {}

void DockerPluginTest::SetUp() {
  REQUIRE_DOCKERD();
  LoadPlugin();
}

void DockerPluginTest::TearDown() {
  UnloadPlugin();
  if (testing::DockerdEnvironment::fixture() == nullptr) return;
  // Nothing of this test is left in the engine.
  const std::vector<std::string> left = EngineContainers();
  EXPECT_TRUE(left.empty()) << left.size() << " container(s) of this test are left in the engine";
  for (const std::string& id : left) engine().Docker({"rm", "-f", id});
}

json DockerPluginTest::BaseConfig() const {
  return {{"endpoint", engine().endpoint()}, {"bridgeNetwork", engine().network()}};
}

sdk::PodRunSpec DockerPluginTest::Spec(std::vector<sdk::ContainerSpec> containers, const std::string& mode) const {
  sdk::PodRunSpec spec = PluginHarness::Spec(std::move(containers));
  spec.labels["capstan.io/pod-uid"] = spec.pod.uid;
  spec.network_mode = mode;
  return spec;
}

json DockerPluginTest::DockerInspect(const std::string& id) const {
  const json all = json::parse(engine().MustDocker({"inspect", id}), nullptr, false);
  return all.is_array() && !all.empty() ? all[0] : json();
}

std::vector<std::string> DockerPluginTest::EngineContainers() const {
  std::string out;
  engine().Docker({"ps", "-aq", "--no-trunc", "--filter", std::string("label=") + kTestLabel + "=" + marker_}, &out);
  std::vector<std::string> ids;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

}  // namespace capstan::plugins::docker
