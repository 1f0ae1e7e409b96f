#include "plugins/process/process_test_util.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "plugins/process/proc.h"
#include "plugins/process/test_processes.h"

namespace capstan::plugins::process {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kLogWait = std::chrono::seconds(20);

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void ProcessPluginTest::SetUp() {
  ASSERT_FALSE(dir_.path().empty()) << "no temporary directory";
  static std::atomic<int> counter{0};
  marker_ = "m" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  auto lib = node::PluginLibrary::Load(CAPSTAN_PROCESS_PLUGIN);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  library_ = *lib;
  Recreate();
}

void ProcessPluginTest::TearDown() {
  if (instance_ != nullptr) {
    for (const sdk::PodRunHandle& h : started_) {
      Call(node::PluginOp::kStop, sdk::StopRequest{h, 0});
      Call(node::PluginOp::kRemove, sdk::HandleRequest{h});
    }
  }
  instance_.reset();
  // Every process this test started is gone (SIGKILL lands asynchronously: wait for it).
  for (pid_t pid : AwaitNoProcessWithEnv(std::string(kMarkerVar) + "=" + marker_)) {
    ADD_FAILURE() << "process " << pid << " of this test is still running";
    ::kill(pid, SIGKILL);
  }
}

json ProcessPluginTest::Config(const json& extra) const {
  json c = {{"stateDir", dir_ / "state"}};
  for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = *it;
  return c;
}

void ProcessPluginTest::Recreate(const json& config) {
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

sdk::ContainerSpec ProcessPluginTest::Container(const std::string& name, std::vector<std::string> command) const {
  sdk::ContainerSpec c;
  c.name = name;
  c.image = "busybox:1.36";  // not a directory: ignored
  c.command = std::move(command);
  c.env = {{kMarkerVar, marker_}};
  return c;
}

sdk::PodRunSpec ProcessPluginTest::Spec(std::vector<sdk::ContainerSpec> containers,
                                        std::map<std::string, std::string> labels) const {
  static std::atomic<int> pods{0};
  sdk::PodRunSpec spec;
  const int n = ++pods;
  spec.pod = {"uid-" + marker_ + "-" + std::to_string(n), "default", "pod-" + std::to_string(n)};
  spec.labels = std::move(labels);
  spec.labels["test"] = marker_;
  spec.network_mode = "host";
  spec.containers = std::move(containers);
  return spec;
}

sdk::PodRunHandle ProcessPluginTest::Start(const sdk::PodRunSpec& spec) {
  sdk::PodRunHandle h = Must<sdk::PodRunHandle>(node::PluginOp::kStart, spec);
  if (!h.id.empty()) started_.push_back(h);
  return h;
}

node::PluginReply ProcessPluginTest::Call(node::PluginOp op, const std::string& request_json) {
  node::PluginReply reply = instance_->Call(op, request_json);
  if (!reply.ok()) {
    EXPECT_FALSE(reply.error.empty()) << node::PluginOpName(op) << ": an error without a message";
    EXPECT_TRUE(reply.json.empty()) << node::PluginOpName(op) << ": an error with a result";
  }
  return reply;
}

sdk::PodRunStatus ProcessPluginTest::Inspect(const sdk::PodRunHandle& h) {
  return Must<sdk::PodRunStatus>(node::PluginOp::kInspect, sdk::HandleRequest{h});
}

sdk::ContainerStatus ProcessPluginTest::StatusOf(const sdk::PodRunHandle& h, const std::string& container) {
  for (sdk::ContainerStatus& c : Inspect(h).containers) {
    if (c.name == container) return c;
  }
  ADD_FAILURE() << "no status for container " << container;
  return {};
}

std::vector<std::string> ProcessPluginTest::ListIds(const std::map<std::string, std::string>& selector) {
  std::vector<std::string> ids;
  for (const sdk::PodRunHandle& h : Must<sdk::PodRunList>(node::PluginOp::kList, sdk::ListRequest{selector}).items) {
    ids.push_back(h.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string ProcessPluginTest::Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail) {
  std::string out;
  node::PluginReply r = instance_->Logs(
      sdk::Encode(sdk::LogsRequest{h, container, false, tail}), [&](int32_t stream, std::string_view d) {
        EXPECT_NE(stream, CAPSTAN_LOG_STREAM_HEARTBEAT) << "a heartbeat without follow";
        out.append(d);
        return true;
      });
  EXPECT_EQ(r.code, CAPSTAN_OK) << r.error;
  return out;
}

bool ProcessPluginTest::AwaitLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& text,
                                 std::string* log) {
  return AwaitLogMatch(
      h, container, [&](const std::string& out) { return out.find(text) != std::string::npos; }, log);
}

bool ProcessPluginTest::AwaitLogMatch(const sdk::PodRunHandle& h, const std::string& container,
                                      const std::function<bool(const std::string&)>& done, std::string* log) {
  std::string out;
  bool seen = false;
  const auto deadline = Clock::now() + kLogWait;
  // Follow: the sink sees each write as it lands and stops the call once the log is as wanted
  // (or, at a heartbeat, once the deadline passed). A follow also ends when the container exits.
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

pid_t ProcessPluginTest::PidFromLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& key) {
  const std::string prefix = key + "=";
  std::string log;
  auto complete = [&](const std::string& out) {
    const size_t at = out.find(prefix);
    return at != std::string::npos && out.find('\n', at) != std::string::npos;
  };
  if (!AwaitLogMatch(h, container, complete, &log)) return -1;
  const size_t at = log.find(prefix) + prefix.size();
  return static_cast<pid_t>(std::stol(log.substr(at, log.find('\n', at) - at)));
}

json ProcessPluginTest::StateFile(const std::string& run_id) const {
  const std::string text = ReadWhole(dir_ / ("state/runs/" + run_id + ".json"));
  if (text.empty()) return nullptr;
  return json::parse(text, nullptr, false);
}

pid_t ProcessPluginTest::PidOf(const sdk::PodRunHandle& h, const std::string& container) const {
  const json state = StateFile(h.id);
  if (!state.is_object()) return -1;
  for (const json& c : state["containers"]) {
    if (c["name"] == container) return c["pid"].get<pid_t>();
  }
  return -1;
}

std::vector<sdk::ContainerExited> ProcessPluginTest::AwaitEvents(const std::string& id, size_t n) {
  std::unique_lock<std::mutex> lock(events_->mu);
  auto mine = [&] {
    std::vector<sdk::ContainerExited> out;
    for (const sdk::ContainerExited& e : events_->events) {
      if (e.handle_id == id) out.push_back(e);
    }
    return out;
  };
  events_->cv.wait_for(lock, std::chrono::seconds(20), [&] { return mine().size() >= n; });
  return mine();
}

}  // namespace capstan::plugins::process
