#include "plugins/docker/docker_test_util.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#ifndef CAPSTAN_DOCKER_PLUGIN
#error "CAPSTAN_DOCKER_PLUGIN: the path of capstan-driver-docker.so"
#endif

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kAwait = std::chrono::seconds(20);

// One engine for the test binary (each test runs in a process of its own under ctest).
const auto* const kDockerd = ::testing::AddGlobalTestEnvironment(new testing::DockerdEnvironment({}));

}  // namespace

void DockerPluginTest::SetUp() {
  REQUIRE_DOCKERD();
  static std::atomic<int> counter{0};
  marker_ = "m" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  auto lib = node::PluginLibrary::Load(CAPSTAN_DOCKER_PLUGIN);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  library_ = *lib;
  Recreate();
}

void DockerPluginTest::TearDown() {
  if (instance_ != nullptr) {
    for (const sdk::PodRunHandle& h : started_) Call(node::PluginOp::kRemove, sdk::HandleRequest{h});
  }
  instance_.reset();
  if (testing::DockerdEnvironment::fixture() == nullptr) return;
  // Nothing of this test is left in the engine.
  const std::vector<std::string> left = EngineContainers();
  EXPECT_TRUE(left.empty()) << left.size() << " container(s) of this test are left in the engine";
  for (const std::string& id : left) engine().Docker({"rm", "-f", id});
}

json DockerPluginTest::Config(const json& extra) const {
  json c = {{"endpoint", engine().endpoint()}, {"bridgeNetwork", engine().network()}};
  for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = *it;
  return c;
}

void DockerPluginTest::Recreate(const json& config) {
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

sdk::ContainerSpec DockerPluginTest::Container(const std::string& name, std::vector<std::string> command) const {
  sdk::ContainerSpec c;
  c.name = name;
  c.image = engine().image();
  c.command = std::move(command);
  c.env = {{"CAPSTAN_DOCKER_TEST", marker_}};
  return c;
}

sdk::PodRunSpec DockerPluginTest::Spec(std::vector<sdk::ContainerSpec> containers, const std::string& mode,
                                       std::map<std::string, std::string> labels) const {
  static std::atomic<int> pods{0};
  const int n = ++pods;
  sdk::PodRunSpec spec;
  spec.pod = {"uid-" + marker_ + "-" + std::to_string(n), "default", "pod-" + std::to_string(n)};
  spec.labels = std::move(labels);
  spec.labels[kTestLabel] = marker_;
  spec.labels["capstan.io/pod-uid"] = spec.pod.uid;
  spec.network_mode = mode;
  spec.containers = std::move(containers);
  return spec;
}

sdk::PodRunHandle DockerPluginTest::Start(const sdk::PodRunSpec& spec) {
  sdk::PodRunHandle h = Must<sdk::PodRunHandle>(node::PluginOp::kStart, spec);
  if (!h.id.empty()) started_.push_back(h);
  return h;
}

node::PluginReply DockerPluginTest::Call(node::PluginOp op, const std::string& request_json) {
  node::PluginReply reply = instance_->Call(op, request_json);
  if (!reply.ok()) {
    EXPECT_FALSE(reply.error.empty()) << node::PluginOpName(op) << ": an error without a message";
    EXPECT_TRUE(reply.json.empty()) << node::PluginOpName(op) << ": an error with a result";
  }
  return reply;
}

sdk::PodRunStatus DockerPluginTest::Inspect(const sdk::PodRunHandle& h) {
  return Must<sdk::PodRunStatus>(node::PluginOp::kInspect, sdk::HandleRequest{h});
}

sdk::ContainerStatus DockerPluginTest::StatusOf(const sdk::PodRunHandle& h, const std::string& container) {
  for (const sdk::ContainerStatus& s : Inspect(h).containers) {
    if (s.name == container) return s;
  }
  ADD_FAILURE() << "no status for container " << container;
  return {};
}

bool DockerPluginTest::AwaitRunning(const sdk::PodRunHandle& h, const std::string& container) {
  const auto deadline = Clock::now() + kAwait;
  while (Clock::now() < deadline) {
    const sdk::ContainerStatus s = StatusOf(h, container);
    if (s.state == sdk::ContainerState::kRunning) return true;
    if (s.state == sdk::ContainerState::kTerminated) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

DockerPluginTest::Output DockerPluginTest::Logs(const sdk::PodRunHandle& h, const std::string& container, int64_t tail,
                                                bool follow, const std::function<bool(const Output&)>& stop) {
  Output out;
  node::PluginReply reply = instance_->Logs(sdk::Encode(sdk::LogsRequest{h, container, follow, tail}),
                                            [&](int32_t stream, std::string_view data) {
                                              if (stream == CAPSTAN_LOG_STREAM_STDOUT) out.out.append(data);
                                              if (stream == CAPSTAN_LOG_STREAM_STDERR) out.err.append(data);
                                              if (stream == CAPSTAN_LOG_STREAM_HEARTBEAT) ++out.heartbeats;
                                              return stop == nullptr || !stop(out);
                                            });
  EXPECT_EQ(reply.code, CAPSTAN_OK) << reply.error;
  return out;
}

bool DockerPluginTest::AwaitLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& text) {
  const auto deadline = Clock::now() + kAwait;
  Logs(h, container, -1, true, [&](const Output& o) {
    return o.out.find(text) != std::string::npos || o.err.find(text) != std::string::npos || Clock::now() > deadline;
  });
  const Output o = Logs(h, container);
  return o.out.find(text) != std::string::npos || o.err.find(text) != std::string::npos;
}

std::vector<sdk::ContainerExited> DockerPluginTest::AwaitEvents(const std::string& id, size_t n) {
  std::unique_lock<std::mutex> lock(events_->mu);
  auto mine = [&] {
    std::vector<sdk::ContainerExited> out;
    for (const sdk::ContainerExited& e : events_->events) {
      if (e.handle_id == id) out.push_back(e);
    }
    return out;
  };
  events_->cv.wait_for(lock, kAwait, [&] { return mine().size() >= n; });
  return mine();
}

json DockerPluginTest::DockerInspect(const std::string& id) const {
  const json all = json::parse(engine().MustDocker({"inspect", id}), nullptr, false);
  return all.is_array() && !all.empty() ? all[0] : json();
}

std::vector<std::string> DockerPluginTest::EngineContainers() const {
  std::string out;
  engine().Docker({"ps", "-aq", "--no-trunc", "--filter", std::string("label=") + kTestLabel + "=" + marker_}, &out);
  std::vector<std::string> ids;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

}  // namespace capstan::plugins::docker
