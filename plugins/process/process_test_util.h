// The fixture of the process driver's ABI tests: capstan-driver-process.so loaded through the node
// agent's own loader (node/plugin_loader.h), one instance on a fresh state directory, helpers to
// call it, and the guarantee the tests owe the machine: every process a test started (each carries
// the test's marker in its environment, grandchildren included) is dead when the test ends.
//
// Thread-safety: a fixture is used by its test's threads as the ABI allows (calls concurrent,
// destroy alone); the event log is thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/plugin_loader.h"
#include "plugins/process/test_dir.h"
#include "plugins/process/test_processes.h"

namespace capstan::plugins::process {

inline constexpr char kMarkerVar[] = "CAPSTAN_PROCESS_TEST";

class ProcessPluginTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The driver's configuration: stateDir in the test's directory, plus `extra`.
  nlohmann::json Config(const nlohmann::json& extra = nlohmann::json::object()) const;
  // Destroys the instance (its processes keep running) and creates another.
  void Recreate(const nlohmann::json& config);
  void Recreate() { Recreate(Config()); }

  // A container running `command`, with the marker in its environment.
  sdk::ContainerSpec Container(const std::string& name, std::vector<std::string> command) const;
  sdk::ContainerSpec Shell(const std::string& name, const std::string& script) const {
    return Container(name, {"/bin/sh", "-c", script});
  }
  // A spec of `containers`, host network, labelled {test: marker} plus `labels`.
  sdk::PodRunSpec Spec(std::vector<sdk::ContainerSpec> containers,
                       std::map<std::string, std::string> labels = {}) const;
  // Starts `spec` (fails the test unless OK); the run is removed at TearDown if the test did not.
  sdk::PodRunHandle Start(const sdk::PodRunSpec& spec);

  node::PluginReply Call(node::PluginOp op, const std::string& request_json);
  template <typename Req>
  node::PluginReply Call(node::PluginOp op, const Req& request) {
    return Call(op, sdk::Encode(request));
  }
  template <typename Doc, typename Req>
  Doc Must(node::PluginOp op, const Req& request);
  sdk::PodRunStatus Inspect(const sdk::PodRunHandle& h);
  sdk::ContainerStatus StatusOf(const sdk::PodRunHandle& h, const std::string& container);
  std::vector<std::string> ListIds(const std::map<std::string, std::string>& selector);

  // The container's log as logs returns it (no follow).
  std::string Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail = -1);
  // Follows the container's log until it holds `text` (true) or 20 s passed (false).
  bool AwaitLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& text,
                std::string* log = nullptr);
  // Follows the container's log until done(log) (true) or 20 s passed or it exited (false).
  bool AwaitLogMatch(const sdk::PodRunHandle& h, const std::string& container,
                     const std::function<bool(const std::string&)>& done, std::string* log = nullptr);
  // The number after "<key>=" in the container's log (waited for), or -1.
  pid_t PidFromLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& key);

  // The run's state file, parsed (null when absent).
  nlohmann::json StateFile(const std::string& run_id) const;
  // The main process pid of a container, from the state file.
  pid_t PidOf(const sdk::PodRunHandle& h, const std::string& container) const;

  // The ContainerExited events of run `id` once there are at least `n` (or 20 s passed).
  std::vector<sdk::ContainerExited> AwaitEvents(const std::string& id, size_t n);

  TestDir dir_;
  std::string marker_;  // unique to the test
  std::shared_ptr<node::PluginLibrary> library_;
  std::unique_ptr<node::PluginInstance> instance_;

 private:
  struct EventLog {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<sdk::ContainerExited> events;  // guarded by mu
  };
  std::shared_ptr<EventLog> events_ = std::make_shared<EventLog>();
  std::vector<sdk::PodRunHandle> started_;
};

template <typename Doc, typename Req>
Doc ProcessPluginTest::Must(node::PluginOp op, const Req& request) {
  node::PluginReply reply = Call(op, request);
  Doc doc;
  EXPECT_EQ(reply.code, CAPSTAN_OK) << node::PluginOpName(op) << ": " << sdk::CodeName(reply.code) << ": "
                                    << reply.error;
  if (reply.code != CAPSTAN_OK) return doc;
  std::string error;
  EXPECT_TRUE(sdk::Decode(reply.json.c_str(), &doc, &error)) << error << "\n" << reply.json;
  return doc;
}

}  // namespace capstan::plugins::process
