// The fixture of the containerd driver's ABI tests: a private containerd (ContainerdTest), the
// built capstan-driver-containerd.so loaded through the node agent's own loader, one instance
// configured for that containerd, and helpers to call it. Every run a test starts is stopped and
// removed at the end, and ContainerdTest then checks that nothing of the driver is left.
//
// Thread-safety: a fixture is used by its test's threads as the ABI allows (calls concurrent,
// destroy alone); the event log is thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/plugin_loader.h"
#include "plugins/containerd/testing/containerd_fixture.h"

namespace capstan::plugins::containerd {

class ContainerdPluginTest : public ContainerdTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The driver's configuration for the test's containerd, plus `extra`.
  nlohmann::json Config(const nlohmann::json& extra = nlohmann::json::object()) const;
  // Destroys the instance (runs keep running) and creates another.
  void Recreate(const nlohmann::json& config);
  void Recreate() { Recreate(Config()); }

  // A container of the test image running `command`.
  sdk::ContainerSpec Container(const std::string& name, std::vector<std::string> command) const;
  sdk::ContainerSpec Shell(const std::string& name, const std::string& script) const {
    return Container(name, {"sh", "-c", script});
  }
  // A spec of `containers`, host network, labelled {test: marker}.
  sdk::PodRunSpec Spec(std::vector<sdk::ContainerSpec> containers) const;
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
  // Inspects until every container runs (true) or one terminated or 30 s passed (false).
  bool AwaitRunning(const sdk::PodRunHandle& h);
  std::vector<std::string> ListIds(const std::map<std::string, std::string>& selector);

  // The container's log as logs returns it (no follow): stdout, and stderr in `*err`.
  std::string Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail = -1,
                   std::string* err = nullptr);
  // Follows the container's log until done(log) (true), or 30 s passed or the container exited
  // (false).
  bool AwaitLog(const sdk::PodRunHandle& h, const std::string& container,
                const std::function<bool(const std::string&)>& done, std::string* log = nullptr);
  bool AwaitLogText(const sdk::PodRunHandle& h, const std::string& container, const std::string& text) {
    return AwaitLog(h, container, [&](const std::string& out) { return out.find(text) != std::string::npos; });
  }

  // The host pid of a running container (from containerd's verbose status), or -1.
  int PidOf(const std::string& container_id);

  // The ContainerExited events of run `id` once there are at least `n` (or 30 s passed).
  std::vector<sdk::ContainerExited> AwaitEvents(const std::string& id, size_t n);

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
Doc ContainerdPluginTest::Must(node::PluginOp op, const Req& request) {
  node::PluginReply reply = Call(op, request);
  Doc doc;
  EXPECT_EQ(reply.code, CAPSTAN_OK) << node::PluginOpName(op) << ": " << sdk::CodeName(reply.code) << ": "
                                    << reply.error;
  if (reply.code != CAPSTAN_OK) return doc;
  std::string error;
  EXPECT_TRUE(sdk::Decode(reply.json.c_str(), &doc, &error)) << error << "\n" << reply.json;
  return doc;
}

}  // namespace capstan::plugins::containerd
