// capstan-plugin-conformance: the command line, and the fixture shared by the checks.
//
//   capstan-plugin-conformance DRIVER.so [--config JSON] [--image IMAGE] [--command JSON-ARRAY]
//                              [--timeout-ms N] [GoogleTest flags, e.g. --gtest_filter=...]
//
// Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "sdk/conformance/conformance.h"

namespace capstan::conformance {

using json = nlohmann::json;

Options& GetOptions() {
  static Options options;
  return options;
}

const std::string& RunToken() {
  static const std::string token = [] {
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%d-%08x", static_cast<int>(getpid()), static_cast<unsigned>(rd()));
    return std::string(buf);
  }();
  return token;
}

void EventLog::Add(std::string_view event_json) {
  sdk::ContainerExited event;
  std::string error;
  const bool ok = sdk::Decode(std::string(event_json).c_str(), &event, &error);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) {
      events_.push_back(std::move(event));
    } else {
      malformed_.push_back(error + ": " + std::string(event_json));
    }
  }
  cv_.notify_all();
}

std::vector<sdk::ContainerExited> EventLog::WaitFor(const std::string& handle_id, size_t containers,
                                                    int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  auto mine = [&] {
    std::vector<sdk::ContainerExited> out;
    for (const sdk::ContainerExited& e : events_) {
      if (e.handle_id == handle_id) out.push_back(e);
    }
    return out;
  };
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return mine().size() >= containers; });
  return mine();
}

std::vector<std::string> EventLog::Malformed() {
  std::lock_guard<std::mutex> lock(mu_);
  return malformed_;
}

void DriverTest::SetUp() {
  const Options& o = GetOptions();
  const std::string dir = std::filesystem::path(o.plugin).parent_path().string();
  auto lib = node::OpenPluginFile({dir.empty() ? "." : dir}, o.plugin);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  library_ = *lib;
  Recreate();
}

void DriverTest::Recreate() {
  instance_.reset();
  std::shared_ptr<EventLog> events = events_;
  auto inst =
      node::PluginInstance::Create(library_, GetOptions().config, [events](std::string_view e) { events->Add(e); });
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  instance_ = std::move(*inst);
  auto caps = instance_->CallDoc<sdk::Capabilities>(node::PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
  ASSERT_TRUE(caps.ok()) << caps.status().ToString();
  caps_ = *caps;
}

void DriverTest::TearDown() {
  if (instance_ == nullptr) return;
  // Whatever a check left behind: stopped and removed (errors ignored; the checks assert).
  for (const sdk::PodRunHandle& h : started_) {
    Raw(node::PluginOp::kStop, sdk::Encode(sdk::StopRequest{h, 0}));
    Raw(node::PluginOp::kRemove, sdk::Encode(sdk::HandleRequest{h}));
  }
  for (const std::string& m : events_->Malformed()) ADD_FAILURE() << "malformed event: " << m;
  instance_.reset();
}

sdk::PodRunSpec DriverTest::Spec(int containers, const std::string& run) {
  static std::atomic<int> pods{0};
  const int n = ++pods;
  sdk::PodRunSpec spec;
  spec.pod.uid = "conformance-" + RunToken() + "-" + std::to_string(n);
  spec.pod.namespace_name = "conformance";
  spec.pod.name = "pod-" + std::to_string(n);
  spec.labels = {{kRunLabel, run}};
  spec.network_mode = caps_.network_modes.empty() ? "host" : caps_.network_modes.front();
  for (int i = 0; i < containers; ++i) {
    sdk::ContainerSpec c;
    c.name = "c" + std::to_string(i);
    c.image = GetOptions().image;
    c.command = GetOptions().command;
    c.env = {{"CAPSTAN_CONFORMANCE", "1"}};
    spec.containers.push_back(std::move(c));
  }
  return spec;
}

sdk::PodRunHandle DriverTest::Start(const sdk::PodRunSpec& spec) {
  sdk::PodRunHandle h = Must<sdk::PodRunHandle>(node::PluginOp::kStart, spec);
  if (!h.id.empty()) started_.push_back(h);
  return h;
}

node::PluginReply DriverTest::Raw(node::PluginOp op, const std::string& request_json) {
  node::PluginReply reply = instance_->Call(op, request_json);
  EXPECT_FALSE(reply.json_with_error) << node::PluginOpName(op) << " returned a result document with "
                                      << sdk::CodeName(reply.code);
  EXPECT_FALSE(reply.error_with_ok) << node::PluginOpName(op) << " returned an error message with OK";
  if (!reply.ok()) {
    EXPECT_NE(reply.error, "(no message)")
        << node::PluginOpName(op) << " failed with " << sdk::CodeName(reply.code) << " but gave no message";
  }
  return reply;
}

void DriverTest::ExpectCodeRaw(int32_t code, node::PluginOp op, const std::string& request_json,
                               const std::string& what) {
  node::PluginReply reply = Raw(op, request_json);
  EXPECT_EQ(reply.code, code) << what << ": " << node::PluginOpName(op) << " answered " << sdk::CodeName(reply.code)
                              << " (" << reply.error << "), the contract says " << sdk::CodeName(code);
}

}  // namespace capstan::conformance

namespace {

int Usage(const char* argv0, const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "%s: %s\n", argv0, problem.c_str());
  std::fprintf(stderr,
               "usage: %s DRIVER.so [--config JSON] [--image IMAGE] [--command JSON-ARRAY] [--timeout-ms N]\n"
               "       [GoogleTest flags]\n"
               "Loads the driver plugin through the Capstan driver ABI and checks the contract of every\n"
               "operation. --config is the driver's own configuration (default: null).\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // takes its own flags out of argv
  capstan::conformance::Options& o = capstan::conformance::GetOptions();
  using json = nlohmann::json;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") return Usage(argv[0], "");
    if (arg == "--config" || arg == "--command") {
      const char* v = value();
      if (v == nullptr) return Usage(argv[0], arg + " needs a value");
      json parsed = json::parse(v, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) return Usage(argv[0], arg + ": not valid JSON: " + v);
      if (arg == "--config") {
        o.config = parsed;
      } else {
        if (!parsed.is_array() || parsed.empty()) return Usage(argv[0], "--command: a non-empty JSON array of strings");
        o.command.clear();
        for (const json& e : parsed) {
          if (!e.is_string()) return Usage(argv[0], "--command: a non-empty JSON array of strings");
          o.command.push_back(e.get<std::string>());
        }
      }
    } else if (arg == "--image") {
      const char* v = value();
      if (v == nullptr) return Usage(argv[0], "--image needs a value");
      o.image = v;
    } else if (arg == "--timeout-ms") {
      const char* v = value();
      if (v == nullptr || std::atoll(v) <= 0) return Usage(argv[0], "--timeout-ms needs a positive number");
      o.timeout_ms = std::atoll(v);
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage(argv[0], "unknown flag " + arg);
    } else if (o.plugin.empty()) {
      o.plugin = arg;
    } else {
      return Usage(argv[0], "one driver plugin at a time");
    }
  }
  if (o.plugin.empty()) return Usage(argv[0], "no driver plugin given");
  std::fprintf(stderr, "capstan-plugin-conformance: %s, config %s, run label %s=%s\n", o.plugin.c_str(),
               o.config.dump().c_str(), capstan::conformance::kRunLabel, capstan::conformance::RunToken().c_str());
  return RUN_ALL_TESTS();
}
