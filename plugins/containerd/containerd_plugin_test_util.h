// The fixture of the containerd driver's ABI tests: a private containerd (ContainerdTest) and the
// built capstan-driver-containerd.so in a PluginHarness (plugins/testing/plugin_test_util.h), one
// instance configured for that containerd. Every run a test starts is stopped and removed at the
// end, and ContainerdTest then checks that nothing of the driver is left.
//
// Thread-safety: as PluginHarness.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "plugins/containerd/testing/containerd_fixture.h"
#include "plugins/testing/plugin_test_util.h"

namespace capstan::plugins::containerd {

class ContainerdPluginTest : public ContainerdTest, public PluginHarness {
 protected:
  ContainerdPluginTest();
  void SetUp() override;
  void TearDown() override;

  // The test's containerd, logs in its directory, a short poll for exits.
  nlohmann::json BaseConfig() const override;
  std::string TestImage() const override { return env().test_image(); }

  // The host pid of a running container (from containerd's verbose status), or -1.
  int PidOf(const std::string& container_id);
};

}  // namespace capstan::plugins::containerd
