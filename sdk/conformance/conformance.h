// The conformance kit's shared pieces: the command line (which plugin, its configuration, the
// image to put in specs) and the fixture every check starts from (the plugin loaded through the
// node agent's own loader, one instance created, its capabilities read).
//
// Runs started by a check carry the label conformance.capstan.dev/run=<a token unique to this
// process>, so that checks of list never see other runs of a shared engine, and so the fixture
// removes every run a check left behind.
//
// Thread-safety: Options are written once by main() before any test runs. A fixture is used by
// its test's threads as the ABI allows (calls concurrent, destroy alone).
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capstan/driver.h"
#include "capstan/driver_json.hpp"
#include "node/plugin_loader.h"

namespace capstan::conformance {

struct Options {
  std::string plugin;                                    // path of the .so
  nlohmann::json config;                                 // the driver's configuration (null: none)
  std::string image = "busybox:1.36";                    // the image of every container the checks start
  std::vector<std::string> command = {"sleep", "3600"};  // and its command
  int64_t timeout_ms = 60000;                            // the longest a check waits for the driver
};
Options& GetOptions();

// A unique value of the run label for this process.
const std::string& RunToken();
inline constexpr char kRunLabel[] = "conformance.capstan.dev/run";

// Collects the instance's ContainerExited events.
class EventLog {
 public:
  void Add(std::string_view event_json);
  // Waits up to `timeout_ms` until events for every one of `containers` of run `handle_id` came;
  // returns the ones that came.
  std::vector<sdk::ContainerExited> WaitFor(const std::string& handle_id, size_t containers, int64_t timeout_ms);
  // Events that did not decode (each a failure of the contract).
  std::vector<std::string> Malformed();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<sdk::ContainerExited> events_;  // guarded by mu_
  std::vector<std::string> malformed_;        // guarded by mu_
};

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Creates the instance (again: the previous one is destroyed first).
  void Recreate();

  // A spec of `containers` containers for a fresh pod uid, labelled with the run token (or `run`).
  sdk::PodRunSpec Spec(int containers = 1, const std::string& run = RunToken());
  // Starts `spec`; fails the test unless OK. Remembers the handle for TearDown.
  sdk::PodRunHandle Start(const sdk::PodRunSpec& spec);

  // A raw call and a decoded one. Must* fail the test on a non-OK code or a malformed document.
  node::PluginReply Raw(node::PluginOp op, const std::string& request_json);
  template <typename Doc, typename Req>
  Doc Must(node::PluginOp op, const Req& request);
  template <typename Req>
  void MustOk(node::PluginOp op, const Req& request);
  // Expects exactly `code` from `op` with `request`, and a message with it.
  template <typename Req>
  void ExpectCode(int32_t code, node::PluginOp op, const Req& request, const std::string& what);
  void ExpectCodeRaw(int32_t code, node::PluginOp op, const std::string& request_json, const std::string& what);

  std::shared_ptr<node::PluginLibrary> library_;
  std::unique_ptr<node::PluginInstance> instance_;
  std::shared_ptr<EventLog> events_ = std::make_shared<EventLog>();
  sdk::Capabilities caps_;
  std::vector<sdk::PodRunHandle> started_;
};

template <typename Doc, typename Req>
Doc DriverTest::Must(node::PluginOp op, const Req& request) {
  node::PluginReply reply = Raw(op, sdk::Encode(request));
  Doc doc;
  EXPECT_EQ(reply.code, CAPSTAN_OK) << node::PluginOpName(op) << ": " << sdk::CodeName(reply.code) << ": "
                                    << reply.error;
  if (reply.code != CAPSTAN_OK) return doc;
  std::string error;
  EXPECT_TRUE(sdk::Decode(reply.json.c_str(), &doc, &error))
      << node::PluginOpName(op) << " returned a malformed " << Doc::kKind << ": " << error << "\n"
      << reply.json;
  return doc;
}

template <typename Req>
void DriverTest::MustOk(node::PluginOp op, const Req& request) {
  node::PluginReply reply = Raw(op, sdk::Encode(request));
  EXPECT_EQ(reply.code, CAPSTAN_OK) << node::PluginOpName(op) << ": " << sdk::CodeName(reply.code) << ": "
                                    << reply.error;
}

template <typename Req>
void DriverTest::ExpectCode(int32_t code, node::PluginOp op, const Req& request, const std::string& what) {
  ExpectCodeRaw(code, op, sdk::Encode(request), what);
}

}  // namespace capstan::conformance
