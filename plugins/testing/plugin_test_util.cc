#include "plugins/testing/plugin_test_util.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace capstan::plugins {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Inspect is a cheap call for every driver; a container starts in tens of milliseconds.
constexpr auto kPollInterval = std::chrono::milliseconds(20);

}  // namespace

void PluginHarness::LoadPlugin() {
  static std::atomic<int> counter{0};
  marker_ = "m" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  auto lib = node::PluginLibrary::Load(options_.module);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  library_ = *lib;
  Recreate();
}

void PluginHarness::UnloadPlugin() {
  if (instance_ != nullptr) {
    for (const sdk::PodRunHandle& h : started_) {
      Call(node::PluginOp::kStop, sdk::StopRequest{h, 0});
      Call(node::PluginOp::kRemove, sdk::HandleRequest{h});
    }
  }
  started_.clear();
  instance_.reset();
  library_.reset();
}

json PluginHarness::Config(const json& extra) const {
  json c = BaseConfig();
  for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = *it;
  return c;
}

void PluginHarness::Recreate(const json& config) {
  instance_.reset();
  std::shared_ptr<EventLog> log = events_;
  auto inst = node::PluginInstance::Create(library_, config, [log](std::string_view text) {
    sdk::ContainerExited e;
    std::string error;
    EXPECT_TRUE(sdk::Decode(std::string(text).c_str(), &e, &error)) << error;
    std::lock_guard<std::mutex> lock(log->mu);
    log->events.push_back(std::move(e));
    log->cv.notify_all();
  });
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  instance_ = std::move(*inst);
}

void PluginHarness::ExpectConfigRejected(const json& config, const std::string& field) {
  auto inst = node::PluginInstance::Create(library_, config);
  ASSERT_FALSE(inst.ok()) << config.dump();
  EXPECT_EQ(node::DriverCodeOf(inst.status()), CAPSTAN_ERR_INVALID_CONFIG) << inst.status().ToString();
  EXPECT_NE(inst.status().message().find(field), std::string::npos) << inst.status().ToString();
}

sdk::ContainerSpec PluginHarness::Container(const std::string& name, std::vector<std::string> command) const {
  sdk::ContainerSpec c;
  c.name = name;
  c.image = TestImage();
  c.command = std::move(command);
  c.env = {{options_.marker_env, marker_}};
  return c;
}

sdk::PodRunSpec PluginHarness::Spec(std::vector<sdk::ContainerSpec> containers,
                                    std::map<std::string, std::string> labels) const {
  static std::atomic<int> pods{0};
  const int n = ++pods;
  sdk::PodRunSpec spec;
  spec.pod = {"uid-" + marker_ + "-" + std::to_string(n), "default", "pod-" + std::to_string(n)};
  spec.labels = std::move(labels);
  spec.labels[options_.marker_label] = marker_;
  spec.network_mode = "host";
  spec.containers = std::move(containers);
  return spec;
}

sdk::PodRunHandle PluginHarness::Start(const sdk::PodRunSpec& spec) {
  sdk::PodRunHandle h = Must<sdk::PodRunHandle>(node::PluginOp::kStart, spec);
  if (!h.id.empty()) started_.push_back(h);
  return h;
}

node::PluginReply PluginHarness::Call(node::PluginOp op, const std::string& request_json) {
  node::PluginReply reply = instance_->Call(op, request_json);
  if (!reply.ok()) {
    EXPECT_FALSE(reply.error.empty()) << node::PluginOpName(op) << ": an error without a message";
    EXPECT_TRUE(reply.json.empty()) << node::PluginOpName(op) << ": an error with a result";
  }
  return reply;
}

sdk::PodRunStatus PluginHarness::Inspect(const sdk::PodRunHandle& h) {
  return Must<sdk::PodRunStatus>(node::PluginOp::kInspect, sdk::HandleRequest{h});
}

sdk::ContainerStatus PluginHarness::StatusOf(const sdk::PodRunHandle& h, const std::string& container) {
  for (sdk::ContainerStatus& c : Inspect(h).containers) {
    if (c.name == container) return c;
  }
  ADD_FAILURE() << "no status for container " << container;
  return {};
}

std::vector<std::string> PluginHarness::ListIds(const std::map<std::string, std::string>& selector) {
  std::vector<std::string> ids;
  for (const sdk::PodRunHandle& h : Must<sdk::PodRunList>(node::PluginOp::kList, sdk::ListRequest{selector}).items) {
    ids.push_back(h.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool PluginHarness::AwaitRunning(const sdk::PodRunHandle& h, const std::string* container) {
  const auto deadline = Clock::now() + options_.patience;
  while (Clock::now() < deadline) {
    bool any = false, all = true;
    for (const sdk::ContainerStatus& c : Inspect(h).containers) {
      if (container != nullptr && c.name != *container) continue;
      any = true;
      if (c.state == sdk::ContainerState::kTerminated) return false;
      all = all && c.state == sdk::ContainerState::kRunning;
    }
    if (!any) return false;
    if (all) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  return false;
}

LogOutput PluginHarness::Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail, bool follow,
                              const std::function<bool(const LogOutput&)>& stop) {
  LogOutput out;
  node::PluginReply reply = instance_->Logs(sdk::Encode(sdk::LogsRequest{h, container, follow, tail}),
                                            [&](int32_t stream, std::string_view data) {
                                              if (stream == CAPSTAN_LOG_STREAM_STDOUT) out.out.append(data);
                                              if (stream == CAPSTAN_LOG_STREAM_STDERR) out.err.append(data);
                                              if (stream == CAPSTAN_LOG_STREAM_HEARTBEAT) {
                                                EXPECT_TRUE(follow) << "a heartbeat without follow";
                                                ++out.heartbeats;
                                              }
                                              out.all.append(data);
                                              return stop == nullptr || !stop(out);
                                            });
  EXPECT_EQ(reply.code, CAPSTAN_OK) << reply.error;
  return out;
}

bool PluginHarness::AwaitLogMatch(const sdk::PodRunHandle& h, const std::string& container,
                                  const std::function<bool(const std::string&)>& done, std::string* log) {
  bool seen = false;
  const auto deadline = Clock::now() + options_.patience;
  // The sink sees each write as it lands and stops the follow once the log is as wanted (or, at a
  // heartbeat, once the deadline passed). A follow also ends when the container exits.
  const LogOutput followed = Logs(h, container, -1, true, [&](const LogOutput& so_far) {
    seen = done(so_far.all);
    return seen || Clock::now() >= deadline;
  });
  seen = seen || done(followed.all);
  if (log != nullptr) *log = followed.all;
  return seen;
}

bool PluginHarness::AwaitLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& text,
                             std::string* log) {
  return AwaitLogMatch(
      h, container, [&](const std::string& all) { return all.find(text) != std::string::npos; }, log);
}

std::vector<sdk::ContainerExited> PluginHarness::AwaitEvents(const std::string& id, size_t n) {
  std::unique_lock<std::mutex> lock(events_->mu);
  auto mine = [&] {
    std::vector<sdk::ContainerExited> out;
    for (const sdk::ContainerExited& e : events_->events) {
      if (e.handle_id == id) out.push_back(e);
    }
    return out;
  };
  events_->cv.wait_for(lock, options_.patience, [&] { return mine().size() >= n; });
  return mine();
}

}  // namespace capstan::plugins
