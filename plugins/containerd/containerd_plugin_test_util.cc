#include "plugins/containerd/containerd_plugin_test_util.h"

#include <chrono>

namespace capstan::plugins::containerd {
namespace {

using json = nlohmann::json;

}  // namespace

// A sandbox and its first container take longer to come up than a process or a docker container.
ContainerdPluginTest::ContainerdPluginTest()
    : PluginHarness({.module = CAPSTAN_CONTAINERD_PLUGIN,
                     .marker_env = "CAPSTAN_CONTAINERD_TEST",
                     .patience = std::chrono::seconds(30)}) {}

void ContainerdPluginTest::SetUp() {
  ContainerdTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  LoadPlugin();
}

void ContainerdPluginTest::TearDown() {
  UnloadPlugin();
  ContainerdTest::TearDown();
}

json ContainerdPluginTest::BaseConfig() const {
  return {{"endpoint", env().endpoint()}, {"logDir", env().dir() + "/logs"}, {"pollIntervalMs", 100}};
}

int ContainerdPluginTest::PidOf(const std::string& container_id) {
  sdk::Result<cri::ContainerStatusResponse> s = cri().ContainerStatus(container_id, true);
  if (!s.ok()) return -1;
  auto it = s.value().info().find("info");
  if (it == s.value().info().end()) return -1;
  const json info = json::parse(it->second, nullptr, false);
  return info.is_object() && info.contains("pid") && info["pid"].is_number_integer() ? info["pid"].get<int>() : -1;
}

}  // namespace capstan::plugins::containerd
