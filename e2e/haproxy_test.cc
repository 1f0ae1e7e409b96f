// The managed HAProxy end to end: `capstan server --driver process --lb haproxy` runs three
// busybox httpd replicas behind a Service; every replica is reached through the Service port on
// 127.0.0.1; a scale to 5 reaches the new ones without a reload (the worker pid stays); HAProxy
// killed from outside is restarted with the current config. Skips while the API serves no
// Services (the kinds come from a sibling change).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "controller/haproxy/haproxy_test_util.h"
#include "controller/haproxy/runtime_client.h"
#include "controller/haproxy/settings.h"
#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

using controller::haproxy::testing::FreePort;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return controller::haproxy::testing::WaitUntil(done, timeout);
}

// Distinct bodies seen in up to `tries` GETs of 127.0.0.1:port (stops early at `want`).
std::set<std::string> Reach(int port, size_t want, int tries = 60) {
  std::set<std::string> seen;
  for (int i = 0; i < tries && seen.size() < want; ++i) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1);
    c.set_read_timeout(2);
    auto r = c.Get("/index.html");
    if (r && r->status == 200) seen.insert(r->body);
  }
  return seen;
}

class HaproxyE2eTest : public ::testing::Test {
 protected:
  void TearDown() override {
    server_.Capstan({"delete", "deployment", "web"});
    WaitFor([&] { return server_.Capstan({"get", "pods", "-o", "name"}).out.empty(); }, 20s);
    server_.Stop();
  }
  std::string Deployment(int replicas) const {
    const std::string www = server_.home() + "/www";
    const std::string script = "mkdir -p " + www + "/$POD_NAME && echo $POD_NAME > " + www +
                               "/$POD_NAME/index.html && exec /bin/busybox httpd -f -p 127.0.0.1:$PORT -h " + www +
                               "/$POD_NAME";
    json container = {{"name", "httpd"},
                      {"image", "none"},
                      {"command", {"/bin/busybox", "sh", "-c", script}},
                      {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})},
                      {"readinessProbe",
                       {{"httpGet", {{"path", "/index.html"}, {"port", "http"}}}, {"periodSeconds", 1}}}};
    container["env"] = json::array(
        {{{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}});
    json pod_spec = {{"terminationGracePeriodSeconds", 2}, {"containers", json::array({container})}};
    json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", "web"}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", {{"app", "web"}}}}},
                {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", pod_spec}}}}}};
    return d.dump();
  }
  std::string Service(int port) const {
    json s = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "web"}}},
              {"spec",
               {{"selector", {{"app", "web"}}},
                {"ports", json::array({{{"name", "http"}, {"port", port}, {"targetPort", "http"}}})}}}};
    return s.dump();
  }

  ServerProcess server_;
};

TEST_F(HaproxyE2eTest, ReplicasBehindAServiceScaleWithoutReloadAndSurviveAKill) {
  if (::access("/usr/sbin/haproxy", X_OK) != 0 || ::access("/bin/busybox", X_OK) != 0) {
    GTEST_SKIP() << "haproxy or busybox is not installed";
  }
  ASSERT_TRUE(server_.Start({"--driver", "process", "--driver-config",
                             json{{"stateDir", server_.home() + "/driver-state"}}.dump(), "--node-name", "e2e-lb",
                             "--port-range", "24000-24999", "--lb", "haproxy", "--lb-http-port", "0",
                             "--lb-https-port", "0"}))
      << server_.log();
  const int port = FreePort();
  auto r = server_.Capstan({"apply", "-f", "-"}, Service(port));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = server_.Capstan({"apply", "-f", "-"}, Deployment(3));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] { return Reach(port, 3).size() == 3; }, 60s)) << server_.log();

  controller::haproxy::HaproxyRuntimeClient cli(server_.data_dir() + "/haproxy/master.sock");
  auto proc = cli.ShowProc();
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  ASSERT_EQ(proc->workers.size(), 1u);
  const pid_t worker = proc->workers[0];
  // The server's default thread count reached HAProxy (half the CPUs, at least one: settings.h).
  auto info = cli.Worker("show info");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  const int threads = controller::haproxy::DefaultHaproxyThreads(controller::haproxy::UsableCpus());
  EXPECT_NE(info->find("\nNbthread: " + std::to_string(threads) + "\n"), std::string::npos) << *info;

  r = server_.Capstan({"scale", "deployment", "web", "--replicas", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] { return Reach(port, 5).size() == 5; }, 60s)) << server_.log();
  proc = cli.ShowProc();
  ASSERT_TRUE(proc.ok());
  EXPECT_EQ(proc->workers, std::vector<pid_t>{worker}) << "the scale reloaded HAProxy";

  // Killed from outside: the server restarts it with the current config (all five replicas).
  ASSERT_EQ(::kill(proc->master_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    auto p = cli.ShowProc();
    return p.ok() && p->master_pid != proc->master_pid && p->workers.size() == 1;
  }, 30s)) << server_.log();
  EXPECT_TRUE(WaitFor([&] { return Reach(port, 5).size() == 5; }, 30s)) << server_.log();
}

// A bad --lb-threads is refused before the server starts anything, naming the flag and the value.
TEST_F(HaproxyE2eTest, ABadThreadCountIsRefusedAtStart) {
  for (const std::string bad : {"0", "65", "two"}) {
    e2e::RunResult r = e2e::Run({e2e::CapstanBin(), "server", "--data-dir", server_.home() + "/unused", "--lb",
                                 "haproxy", "--lb-threads", bad},
                                "", {{"HOME", server_.home()}}, 20s);
    EXPECT_FALSE(r.timed_out) << bad;
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_NE(r.err.find("--lb-threads"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(server_.home() + "/unused")) << "refused after creating its data dir";
  }
}

// A defaults ConfigMap whose snippet `haproxy -c` refuses: the last good config keeps serving,
// the ConfigMap gets an Event naming HAProxy's complaint, and other Services still update (the
// ConfigMap is left out, not the whole config).
TEST_F(HaproxyE2eTest, ARefusedDefaultsConfigMapIsReportedAndOthersStillUpdate) {
  if (::access("/usr/sbin/haproxy", X_OK) != 0) GTEST_SKIP() << "haproxy is not installed";
  ASSERT_TRUE(server_.Start({"--driver", "none", "--lb", "haproxy", "--lb-http-port", "0", "--lb-https-port", "0"}))
      << server_.log();
  const std::string config = server_.data_dir() + "/haproxy/haproxy.cfg";
  ASSERT_EQ(server_.Capstan({"apply", "-f", "-"}, Service(FreePort())).exit_code, 0);
  auto condition = [&](const std::string& name) {
    auto r = server_.Capstan({"get", "service", name, "-o", "json"});
    json svc = json::parse(r.out, nullptr, false);
    if (!svc.is_object() || !svc.contains("status")) return std::string();
    for (const json& c : svc["status"].value("conditions", json::array())) {
      if (c.value("type", "") == "capstan.io/HAProxyConfigured") return c.value("status", "");
    }
    return std::string();
  };
  ASSERT_TRUE(WaitFor([&] { return condition("web") == "True"; }, 20s)) << server_.log();
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "capstan-haproxy-defaults"}, {"namespace", "kube-system"}}},
             {"data", {{"defaults-snippet", "no-such-keyword 1"}}}};
  ASSERT_EQ(server_.Capstan({"apply", "-f", "-"}, cm.dump()).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    auto r = server_.Capstan({"get", "events", "-n", "kube-system", "-o", "json"});
    return r.out.find("HAProxyConfigRejected") != std::string::npos && r.out.find("no-such-keyword") != std::string::npos;
  }, 20s)) << server_.log();
  EXPECT_EQ(ReadFile(config).find("no-such-keyword"), std::string::npos);
  json other = json::parse(Service(FreePort()));
  other["metadata"]["name"] = "other";
  ASSERT_EQ(server_.Capstan({"apply", "-f", "-"}, other.dump()).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(config).find("backend default_other_") != std::string::npos; }, 20s))
      << ReadFile(config);
  EXPECT_TRUE(WaitFor([&] { return condition("other") == "True"; }, 20s));
  EXPECT_EQ(ReadFile(config).find("no-such-keyword"), std::string::npos);
}

}  // namespace
}  // namespace capstan::e2e
