// The fixture of the docker driver's ABI tests: capstan-driver-docker.so loaded through the node
// agent's own loader (node/plugin_loader.h), one instance on the test process's private engine
// (testing/dockerd_fixture.h), helpers to call it, and the guarantee the tests owe the engine:
// every container a test made (each carries the test's label) is gone when the test ends.
//
// Thread-safety: a fixture is used by its test's threads as the ABI allows (calls concurrent,
// destroy alone); the event log is thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/plugin_loader.h"
#include "plugins/docker/testing/dockerd_fixture.h"

namespace capstan::plugins::docker {

inline constexpr char kTestLabel[] = "docker-plugin-test";

class DockerPluginTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  const testing::DockerdFixture& engine() const { return *testing::DockerdEnvironment::fixture(); }
  // The driver's configuration: the engine's socket and bridge network, plus `extra`.
  nlohmann::json Config(const nlohmann::json& extra = nlohmann::json::object()) const;
  // Destroys the instance (its containers keep running) and creates another.
  void Recreate(const nlohmann::json& config);
  void Recreate() { Recreate(Config()); }

  // A container of the test image running `command`.
  sdk::ContainerSpec Container(const std::string& name, std::vector<std::string> command) const;
  sdk::ContainerSpec Shell(const std::string& name, const std::string& script) const {
    return Container(name, {"sh", "-c", script});
  }
  // A spec of `containers` in `mode`, labelled {docker-plugin-test: marker} plus `labels`.
  sdk::PodRunSpec Spec(std::vector<sdk::ContainerSpec> containers, const std::string& mode = "host",
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
  // Until the container runs (true) or 20 s passed / it terminated (false).
  bool AwaitRunning(const sdk::PodRunHandle& h, const std::string& container);

  // The container's log (no follow), stdout and stderr apart.
  struct Output {
    std::string out, err;
    int heartbeats = 0;
  };
  Output Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail = -1, bool follow = false,
              const std::function<bool(const Output&)>& stop = nullptr);
  // Until the container's log holds `text` (true) or 20 s passed (false).
  bool AwaitLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& text);

  // The ContainerExited events of run `id` once there are at least `n` (or 20 s passed).
  std::vector<sdk::ContainerExited> AwaitEvents(const std::string& id, size_t n);
  // `docker inspect` of a container, parsed.
  nlohmann::json DockerInspect(const std::string& id) const;
  // Ids of the engine's containers with this test's label.
  std::vector<std::string> EngineContainers() const;

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
Doc DockerPluginTest::Must(node::PluginOp op, const Req& request) {
  node::PluginReply reply = Call(op, request);
  Doc doc;
  EXPECT_EQ(reply.code, CAPSTAN_OK) << node::PluginOpName(op) << ": " << sdk::CodeName(reply.code) << ": "
                                    << reply.error;
  if (reply.code != CAPSTAN_OK) return doc;
  std::string error;
  EXPECT_TRUE(sdk::Decode(reply.json.c_str(), &doc, &error)) << error << "\n" << reply.json;
  return doc;
}

}  // namespace capstan::plugins::docker
