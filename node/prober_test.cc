#include "node/prober.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "node/probe_manager.h"

namespace capstan::node {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// An HTTP server on 127.0.0.1 whose /health answers `code`.
class HealthServer {
 public:
  HealthServer() {
    server_.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
      res.status = code_.load();
      last_header_ = req.get_header_value("X-Probe");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.status = 200;
    });
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a port-0 bind may land
    // on the port of another test's server running in parallel (ctest -j), and probes would then
    // reach either server (one such run never saw this one's 503s).
    server_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~HealthServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  void set_code(int code) { code_ = code; }
  std::string last_header() const { return last_header_; }

 private:
  httplib::Server server_;
  std::atomic<int> code_{200};
  std::string last_header_;
  int port_ = 0;
  std::thread thread_;
};

ProbeTarget Target(int host_port) {
  return ProbeTarget{"127.0.0.1", "app", {PortMapping{"app", "http", "TCP", 8080, host_port}}, nullptr};
}

TEST(ProberTest, HttpGetCountsTwoAndThreeHundredsAsSuccess) {
  HealthServer server;
  json probe = {{"httpGet", {{"path", "/health"}, {"port", "http"}, {"httpHeaders", {{{"name", "X-Probe"}, {"value", "yes"}}}}}}};
  auto ok = RunProbe(probe, Target(server.port()), 1s);
  EXPECT_TRUE(ok.success) << ok.message;
  EXPECT_EQ(server.last_header(), "yes");
  server.set_code(302);
  EXPECT_TRUE(RunProbe(probe, Target(server.port()), 1s).success);
  server.set_code(500);
  auto bad = RunProbe(probe, Target(server.port()), 1s);
  EXPECT_FALSE(bad.success);
  EXPECT_EQ(bad.message, "HTTP probe failed with statuscode: 500");
  json by_number = {{"httpGet", {{"path", "/health"}, {"port", 8080}}}};
  server.set_code(200);
  EXPECT_TRUE(RunProbe(by_number, Target(server.port()), 1s).success) << "containerPort 8080 maps to the host port";
}

TEST(ProberTest, HttpGetTimesOut) {
  HealthServer server;
  json probe = {{"httpGet", {{"path", "/slow"}, {"port", server.port()}}}};
  const auto start = std::chrono::steady_clock::now();
  auto r = RunProbe(probe, ProbeTarget{}, 1s);
  EXPECT_FALSE(r.success);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1400ms);
}

TEST(ProberTest, TcpSocketAndUnknownPortName) {
  HealthServer server;
  EXPECT_TRUE(RunProbe({{"tcpSocket", {{"port", "http"}}}}, Target(server.port()), 1s).success);
  const int port = server.port();
  {
    HealthServer other;  // keeps its own port; ours is closed below
  }
  auto unknown = RunProbe({{"tcpSocket", {{"port", "grpc"}}}}, Target(port), 1s);
  EXPECT_FALSE(unknown.success);
  EXPECT_NE(unknown.message.find("no port named grpc"), std::string::npos) << unknown.message;
}

TEST(ProberTest, TcpSocketToAClosedPortFails) {
  int port = 0;
  {
    HealthServer server;
    port = server.port();
  }
  auto r = RunProbe({{"tcpSocket", {{"port", port}}}}, ProbeTarget{}, 1s);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("dial tcp 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.message;
}

TEST(ProberTest, ExecUsesTheExitCode) {
  ProbeTarget t = Target(1);
  t.exec = [](const std::vector<std::string>& cmd, std::chrono::milliseconds) -> Result<ExecOutput> {
    return ExecOutput{cmd[0] == "true" ? 0 : 1, "", "nope"};
  };
  EXPECT_TRUE(RunProbe({{"exec", {{"command", {"true"}}}}}, t, 1s).success);
  auto bad = RunProbe({{"exec", {{"command", {"false"}}}}}, t, 1s);
  EXPECT_FALSE(bad.success);
  EXPECT_NE(bad.message.find("exited with 1: nope"), std::string::npos) << bad.message;
  EXPECT_FALSE(RunProbe({{"grpc", {{"port", 1}}}}, t, 1s).success);
  EXPECT_FALSE(RunProbe(json::object(), t, 1s).success);
}

// ---- ProbeManager, with real time: periods of one second. ----

PodState Running(const std::string& name) {
  ContainerState c;
  c.name = name;
  c.phase = ContainerPhase::kRunning;
  c.ready = true;
  c.started_at = std::chrono::system_clock::now();
  return PodState{{c}, 0ms};
}

json PodWith(const json& container) {
  return {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "u"}}},
          {"spec", {{"containers", json::array({container})}}}};
}

template <typename F>
bool Eventually(F f, std::chrono::milliseconds within = 8000ms) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

TEST(ProbeManagerTest, ReadinessFollowsTheServerAndLivenessAsksForAKill) {
  HealthServer server;
  std::atomic<int> changes{0};
  ProbeManager probes({2, "127.0.0.1", [&](const std::string&) { ++changes; }, nullptr});
  json http = {{"httpGet", {{"path", "/health"}, {"port", "http"}}}, {"periodSeconds", 1}, {"failureThreshold", 2}};
  json pod = PodWith({{"name", "app"}, {"readinessProbe", http}, {"livenessProbe", http}});
  const PodState state = Running("app");
  const std::vector<PortMapping> ports = {PortMapping{"app", "http", "TCP", 8080, server.port()}};
  probes.Sync("default/p", "run-1", pod, ports, state, nullptr);
  EXPECT_FALSE(probes.Get("default/p", "app").ready) << "not ready before a probe succeeded";
  ASSERT_TRUE(Eventually([&] { return probes.Get("default/p", "app").ready; }));
  EXPECT_GE(changes.load(), 1);
  EXPECT_FALSE(probes.Get("default/p", "app").kill);

  server.set_code(503);
  ASSERT_TRUE(Eventually([&] { return !probes.Get("default/p", "app").ready; }));
  ASSERT_TRUE(Eventually([&] { return probes.Get("default/p", "app").kill; }));
  EXPECT_NE(probes.Get("default/p", "app").kill_message.find("Liveness probe failed: HTTP probe failed with statuscode: 503"),
            std::string::npos);

  // A new run starts over: unready, not killed.
  server.set_code(200);
  probes.Sync("default/p", "run-2", pod, ports, Running("app"), nullptr);
  EXPECT_FALSE(probes.Get("default/p", "app").kill);
  EXPECT_FALSE(probes.Get("default/p", "app").ready);
  probes.Remove("default/p");
  EXPECT_EQ(probes.ActiveProbes(), 0u);
  EXPECT_TRUE(probes.Get("default/p", "app").ready) << "untracked containers are not gated";
}

TEST(ProbeManagerTest, StartupProbeGatesTheOthers) {
  std::atomic<bool> started{false};
  std::atomic<int> liveness_runs{0};
  ExecFn exec = [&](const std::string&, const std::vector<std::string>& cmd, std::chrono::milliseconds) -> Result<ExecOutput> {
    if (cmd[0] == "startup") return ExecOutput{started ? 0 : 1, "", ""};
    ++liveness_runs;
    return ExecOutput{0, "", ""};
  };
  ProbeManager probes({2, "127.0.0.1", [](const std::string&) {}, nullptr});
  json pod = PodWith({{"name", "app"},
                      {"startupProbe", {{"exec", {{"command", {"startup"}}}}, {"periodSeconds", 1}, {"failureThreshold", 30}}},
                      {"livenessProbe", {{"exec", {{"command", {"live"}}}}, {"periodSeconds", 1}}}});
  probes.Sync("default/p", "run-1", pod, {}, Running("app"), exec);
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(probes.Get("default/p", "app").started);
  EXPECT_FALSE(probes.Get("default/p", "app").ready);
  EXPECT_EQ(liveness_runs.load(), 0) << "liveness waits for startup";
  started = true;
  ASSERT_TRUE(Eventually([&] { return probes.Get("default/p", "app").started; }));
  EXPECT_TRUE(probes.Get("default/p", "app").ready) << "no readiness probe: ready once started";
  ASSERT_TRUE(Eventually([&] { return liveness_runs.load() > 0; }));
}

}  // namespace
}  // namespace capstan::node
