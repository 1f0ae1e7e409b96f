#include "plugins/containerd/containerd_plugin_test_util.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace capstan::plugins::containerd {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kPatience = std::chrono::seconds(30);

}  // namespace

void ContainerdPluginTest::SetUp() {
  ContainerdTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  static std::atomic<int> counter{0};
  marker_ = "m" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  auto lib = node::PluginLibrary::Load(CAPSTAN_CONTAINERD_PLUGIN);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  library_ = *lib;
  Recreate();
}

void ContainerdPluginTest::TearDown() {
  if (instance_ != nullptr) {
    for (const sdk::PodRunHandle& h : started_) {
      Call(node::PluginOp::kStop, sdk::StopRequest{h, 0});
      Call(node::PluginOp::kRemove, sdk::HandleRequest{h});
    }
  }
  instance_.reset();
  library_.reset();
  ContainerdTest::TearDown();
}

json ContainerdPluginTest::Config(const json& extra) const {
  json c = {{"endpoint", env().endpoint()}, {"logDir", env().dir() + "/logs"}, {"pollIntervalMs", 100}};
  for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = *it;
  return c;
}

void ContainerdPluginTest::Recreate(const json& config) {
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

sdk::ContainerSpec ContainerdPluginTest::Container(const std::string& name, std::vector<std::string> command) const {
  sdk::ContainerSpec c;
  c.name = name;
  c.image = env().test_image();
  c.command = std::move(command);
  c.env = {{"CAPSTAN_CONTAINERD_TEST", marker_}};
  return c;
}

sdk::PodRunSpec ContainerdPluginTest::Spec(std::vector<sdk::ContainerSpec> containers) const {
  static std::atomic<int> pods{0};
  sdk::PodRunSpec spec;
  const int n = ++pods;
  spec.pod = {"uid-" + marker_ + "-" + std::to_string(n), "default", "pod-" + std::to_string(n)};
  spec.labels = {{"test", marker_}};
  spec.network_mode = "host";
  spec.containers = std::move(containers);
  return spec;
}

sdk::PodRunHandle ContainerdPluginTest::Start(const sdk::PodRunSpec& spec) {
  sdk::PodRunHandle h = Must<sdk::PodRunHandle>(node::PluginOp::kStart, spec);
  if (!h.id.empty()) started_.push_back(h);
  return h;
}

node::PluginReply ContainerdPluginTest::Call(node::PluginOp op, const std::string& request_json) {
  node::PluginReply reply = instance_->Call(op, request_json);
  if (!reply.ok()) {
    EXPECT_FALSE(reply.error.empty()) << node::PluginOpName(op) << ": an error without a message";
    EXPECT_TRUE(reply.json.empty()) << node::PluginOpName(op) << ": an error with a result";
  }
  return reply;
}

sdk::PodRunStatus ContainerdPluginTest::Inspect(const sdk::PodRunHandle& h) {
  return Must<sdk::PodRunStatus>(node::PluginOp::kInspect, sdk::HandleRequest{h});
}

sdk::ContainerStatus ContainerdPluginTest::StatusOf(const sdk::PodRunHandle& h, const std::string& container) {
  for (sdk::ContainerStatus& c : Inspect(h).containers) {
    if (c.name == container) return c;
  }
  ADD_FAILURE() << "no status for container " << container;
  return {};
}

bool ContainerdPluginTest::AwaitRunning(const sdk::PodRunHandle& h) {
  const auto deadline = Clock::now() + kPatience;
  while (Clock::now() < deadline) {
    const sdk::PodRunStatus s = Inspect(h);
    if (s.containers.empty()) return false;
    bool all = true;
    for (const sdk::ContainerStatus& c : s.containers) {
      if (c.state == sdk::ContainerState::kTerminated) return false;
      all = all && c.state == sdk::ContainerState::kRunning;
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::vector<std::string> ContainerdPluginTest::ListIds(const std::map<std::string, std::string>& selector) {
  std::vector<std::string> ids;
  for (const sdk::PodRunHandle& h : Must<sdk::PodRunList>(node::PluginOp::kList, sdk::ListRequest{selector}).items) {
    ids.push_back(h.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string ContainerdPluginTest::Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail,
                                       std::string* err) {
  std::string out, errors;
  node::PluginReply r = instance_->Logs(
      sdk::Encode(sdk::LogsRequest{h, container, false, tail}), [&](int32_t stream, std::string_view d) {
        EXPECT_NE(stream, CAPSTAN_LOG_STREAM_HEARTBEAT) << "a heartbeat without follow";
        (stream == CAPSTAN_LOG_STREAM_STDERR ? errors : out).append(d);
        return true;
      });
  EXPECT_EQ(r.code, CAPSTAN_OK) << r.error;
  if (err != nullptr) *err = errors;
  return out;
}

bool ContainerdPluginTest::AwaitLog(const sdk::PodRunHandle& h, const std::string& container,
                                    const std::function<bool(const std::string&)>& done, std::string* log) {
  std::string out;
  bool seen = false;
  const auto deadline = Clock::now() + kPatience;
  node::PluginReply r =
      instance_->Logs(sdk::Encode(sdk::LogsRequest{h, container, true, -1}), [&](int32_t, std::string_view d) {
        out.append(d);
        seen = done(out);
        return !seen && Clock::now() < deadline;
      });
  EXPECT_EQ(r.code, CAPSTAN_OK) << r.error;
  seen = seen || done(out);
  if (log != nullptr) *log = out;
  return seen;
}

int ContainerdPluginTest::PidOf(const std::string& container_id) {
  sdk::Result<cri::ContainerStatusResponse> s = cri().ContainerStatus(container_id, true);
  if (!s.ok()) return -1;
  auto it = s.value().info().find("info");
  if (it == s.value().info().end()) return -1;
  const json info = json::parse(it->second, nullptr, false);
  return info.is_object() && info.contains("pid") && info["pid"].is_number_integer() ? info["pid"].get<int>() : -1;
}

std::vector<sdk::ContainerExited> ContainerdPluginTest::AwaitEvents(const std::string& id, size_t n) {
  std::unique_lock<std::mutex> lock(events_->mu);
  auto mine = [&] {
    std::vector<sdk::ContainerExited> out;
    for (const sdk::ContainerExited& e : events_->events) {
      if (e.handle_id == id) out.push_back(e);
    }
    return out;
  };
  events_->cv.wait_for(lock, kPatience, [&] { return mine().size() >= n; });
  return mine();
}

}  // namespace capstan::plugins::containerd
