// The fixture of the docker driver's ABI tests: capstan-driver-docker.so in a PluginHarness
// (plugins/testing/plugin_test_util.h), one instance on the test process's private engine
// (testing/dockerd_fixture.h), and the guarantee the tests owe the engine: every container a test
// made (each carries the test's label) is gone when the test ends.
//
// Thread-safety: as PluginHarness.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/docker/testing/dockerd_fixture.h"
#include "plugins/testing/plugin_test_util.h"

namespace capstan::plugins::docker {

inline constexpr char kTestLabel[] = "docker-plugin-test";

class DockerPluginTest : public ::testing::Test, public PluginHarness {
 protected:
  DockerPluginTest();
  void SetUp() override;
  void TearDown() override;

  const testing::DockerdFixture& engine() const { return *testing::DockerdEnvironment::fixture(); }
  // The engine's socket and bridge network.
  nlohmann::json BaseConfig() const override;
  std::string TestImage() const override { return engine().image(); }

  // PluginHarness::Spec in network `mode`, labelled with the pod's uid as the node agent labels
  // every run (capstan.io/pod-uid).
  sdk::PodRunSpec Spec(std::vector<sdk::ContainerSpec> containers, const std::string& mode = "host") const;

  // `docker inspect` of a container, parsed.
  nlohmann::json DockerInspect(const std::string& id) const;
  // Ids of the engine's containers with this test's label.
  std::vector<std::string> EngineContainers() const;
};

}  // namespace capstan::plugins::docker
