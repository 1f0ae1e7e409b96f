// PluginHarness: the part of a driver plugin's ABI test fixture that is the same for every driver.
// It loads the built capstan-driver-NAME.so through the node agent's own loader
// (node/plugin_loader.h), keeps one instance of it, and offers typed calls that check the ABI's
// rules on every reply, the pods a test runs, their logs and the ContainerExited events. Every run
// a test starts is stopped and removed when it ends.
//
// A driver's fixture derives from its GoogleTest fixture and from PluginHarness, calls LoadPlugin
// in SetUp and UnloadPlugin in TearDown, supplies its configuration and test image, and adds what
// only its engine has (process_test_util.h, docker_test_util.h, containerd_plugin_test_util.h).
//
// Thread-safety: a harness is used by its test's threads as the ABI allows (calls concurrent,
// destroy alone); the event log is thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "node/plugin_loader.h"

namespace capstan::plugins {

struct PluginHarnessOptions {
  std::string module;                 // the path of the capstan-driver-NAME.so under test
  std::string marker_env;             // the variable Container() sets to the test's marker
  std::string marker_label = "test";  // the label Spec() sets to the test's marker
  std::string shell = "sh";           // what Shell() runs its script with
  std::chrono::seconds patience{20};  // how long the Await* helpers wait
};

// What a logs call delivered: stdout and stderr apart, everything in the order it came, and the
// number of heartbeats.
struct LogOutput {
  std::string out, err, all;
  int heartbeats = 0;
};

class PluginHarness {
 public:
  PluginHarness(const PluginHarness&) = delete;
  PluginHarness& operator=(const PluginHarness&) = delete;

 protected:
  explicit PluginHarness(PluginHarnessOptions options) : options_(std::move(options)) {}
  virtual ~PluginHarness() = default;

  // The driver's configuration for this test (Config() adds the test's own fields over it).
  virtual nlohmann::json BaseConfig() const = 0;
  // The image of Container().
  virtual std::string TestImage() const = 0;

  // Picks the test's marker, loads the module and creates an instance with Config(); fails the
  // test when either fails. For the fixture's SetUp, after the engine is known to be there.
  void LoadPlugin();
  // Stops and removes every run Start started, destroys the instance and releases the module. For
  // the fixture's TearDown, before it checks that nothing of the test is left.
  void UnloadPlugin();

  // BaseConfig() with the fields of `extra` set over it.
  nlohmann::json Config(const nlohmann::json& extra = nlohmann::json::object()) const;
  // Destroys the instance (its runs keep running) and creates another.
  void Recreate(const nlohmann::json& config);
  void Recreate() { Recreate(Config()); }
  // That creating an instance with `config` fails with INVALID_CONFIG and a message naming `field`.
  void ExpectConfigRejected(const nlohmann::json& config, const std::string& field);

  // A container of TestImage() running `command`, with the marker in its environment.
  sdk::ContainerSpec Container(const std::string& name, std::vector<std::string> command) const;
  sdk::ContainerSpec Shell(const std::string& name, const std::string& script) const {
    return Container(name, {options_.shell, "-c", script});
  }
  // A spec of `containers` for a new pod of this test, host network, labelled with the marker
  // plus `labels`.
  sdk::PodRunSpec Spec(std::vector<sdk::ContainerSpec> containers,
                       std::map<std::string, std::string> labels = {}) const;
  // Starts `spec` (fails the test unless OK); the run is removed at UnloadPlugin.
  sdk::PodRunHandle Start(const sdk::PodRunSpec& spec);

  // One call, checking that an error has a message and no result.
  node::PluginReply Call(node::PluginOp op, const std::string& request_json);
  template <typename Req>
  node::PluginReply Call(node::PluginOp op, const Req& request) {
    return Call(op, sdk::Encode(request));
  }
  // A call that must succeed, its result decoded (a default Doc, and a failed test, otherwise).
  template <typename Doc, typename Req>
  Doc Must(node::PluginOp op, const Req& request);
  sdk::PodRunStatus Inspect(const sdk::PodRunHandle& h);
  sdk::ContainerStatus StatusOf(const sdk::PodRunHandle& h, const std::string& container);
  // The ids of the runs list returns for `selector`, sorted.
  std::vector<std::string> ListIds(const std::map<std::string, std::string>& selector);
  // Inspects until every container of the run (or the one named) runs (true), or one terminated or
  // the patience ran out (false).
  bool AwaitRunning(const sdk::PodRunHandle& h) { return AwaitRunning(h, nullptr); }
  bool AwaitRunning(const sdk::PodRunHandle& h, const std::string& container) { return AwaitRunning(h, &container); }

  // The container's log through logs: all of it (or the last `tail` lines); with `follow`, until
  // the container exits or stop(what came so far) says so. Fails the test unless the call is OK,
  // or on a heartbeat without follow.
  LogOutput Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail = -1, bool follow = false,
                 const std::function<bool(const LogOutput&)>& stop = nullptr);
  // Follows the container's log until done(both streams so far) (true), or the patience ran out or
  // the container exited (false). The log followed is left in `*log`.
  bool AwaitLogMatch(const sdk::PodRunHandle& h, const std::string& container,
                     const std::function<bool(const std::string&)>& done, std::string* log = nullptr);
  // AwaitLogMatch until the log holds `text`.
  bool AwaitLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& text,
                std::string* log = nullptr);

  // The ContainerExited events of run `id` once there are at least `n` (or the patience ran out).
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

  bool AwaitRunning(const sdk::PodRunHandle& h, const std::string* container);

  const PluginHarnessOptions options_;
  // Shared with each instance's event handler, so that an event delivered late never finds it gone.
  std::shared_ptr<EventLog> events_ = std::make_shared<EventLog>();
  std::vector<sdk::PodRunHandle> started_;
};

template <typename Doc, typename Req>
Doc PluginHarness::Must(node::PluginOp op, const Req& request) {
  node::PluginReply reply = Call(op, request);
  Doc doc;
  EXPECT_EQ(reply.code, CAPSTAN_OK) << node::PluginOpName(op) << ": " << sdk::CodeName(reply.code) << ": "
                                    << reply.error;
  if (reply.code != CAPSTAN_OK) return doc;
  std::string error;
  EXPECT_TRUE(sdk::Decode(reply.json.c_str(), &doc, &error)) << error << "\n" << reply.json;
  return doc;
}

}  // namespace capstan::plugins
