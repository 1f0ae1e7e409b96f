// The fixture of the process driver's ABI tests: capstan-driver-process.so in a PluginHarness
// (plugins/testing/plugin_test_util.h), one instance on a fresh state directory, and the guarantee
// the tests owe the machine: every process a test started (each carries the test's marker in its
// environment, grandchildren included) is dead when the test ends.
//
// Thread-safety: as PluginHarness.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>

#include "plugins/process/test_dir.h"
#include "plugins/process/test_processes.h"
#include "plugins/testing/plugin_test_util.h"

namespace capstan::plugins::process {

inline constexpr char kMarkerVar[] = "CAPSTAN_PROCESS_TEST";

class ProcessPluginTest : public ::testing::Test, public PluginHarness {
 protected:
  ProcessPluginTest();
  void SetUp() override;
  void TearDown() override;

  // stateDir in the test's directory.
  nlohmann::json BaseConfig() const override;
  // Not a directory: the driver ignores it.
  std::string TestImage() const override { return "busybox:1.36"; }

  // The number after "<key>=" in the container's log (waited for), or -1.
  pid_t PidFromLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& key);

  // The run's state file, parsed (null when absent).
  nlohmann::json StateFile(const std::string& run_id) const;
  // The main process pid of a container, from the state file.
  pid_t PidOf(const sdk::PodRunHandle& h, const std::string& container) const;

  TestDir dir_;
};

}  // namespace capstan::plugins::process
