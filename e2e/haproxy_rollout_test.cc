// Traffic through the managed HAProxy while things change, end to end: `capstan server --driver
// process --lb haproxy` runs replicas of busybox httpd behind a Service, and client threads of
// the test send bounded load to the Service port on 127.0.0.1.
//   - a rolling update of every replica under load fails no request (the termination order:
//     each old replica is drained in HAProxy before it gets SIGTERM), and every answer names a
//     replica of the Deployment; also when new replicas are Ready before HAProxy's checks pass
//     (the last old server is held until a new one is UP);
//   - the negative control: a replica killed from outside, without a drain, while HAProxy has a
//     request in flight to it, fails requests: the harness sees failures when there are some;
//   - a new Service under keep-alive load costs exactly one reload and no failed request;
//   - a new replica that does not listen yet (no readinessProbe, so its Pod is Ready at once)
//     gets no traffic until HAProxy's own check passes;
//   - a listener port another process holds when HAProxy starts is blamed on its Service, and the
//     other Services are served.
// The requests go to a CGI script that answers after 100-300 ms, so requests are in flight at
// any moment and a replica stopped too early shows. Processes carry a unique environment
// variable and are killed at the end whatever happened.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/haproxy/haproxy_test_util.h"
#include "controller/haproxy/runtime_client.h"
#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using controller::haproxy::HaproxyRuntimeClient;
using controller::haproxy::testing::FreePort;

// Bounded load on 127.0.0.1:port: `threads` clients, each at most `max_requests` requests and
// for at most `max_time`, until Stop().
class Load {
 public:
  struct Result {
    int ok = 0, failed = 0;
    std::map<std::string, int> bodies;  // answer (first line) -> count
    std::vector<std::string> errors;    // the first few failures
  };

  Load(int port, std::string path, int threads, bool keep_alive, int max_requests = 2000,
       std::chrono::seconds max_time = 120s)
      : deadline_(std::chrono::steady_clock::now() + max_time) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, port, path, keep_alive, max_requests] {
        httplib::Client c("127.0.0.1", port);
        c.set_keep_alive(keep_alive);
        c.set_connection_timeout(5);
        c.set_read_timeout(10);
        for (int i = 0; i < max_requests && !stop_ && std::chrono::steady_clock::now() < deadline_; ++i) {
          auto r = c.Get(path.c_str());
          std::lock_guard<std::mutex> lock(mu_);
          if (r && r->status == 200) {
            ++result_.ok;
            ++result_.bodies[r->body.substr(0, r->body.find('\n'))];
            continue;
          }
          ++result_.failed;
          if (result_.errors.size() < 5) {
            result_.errors.push_back(r ? "HTTP " + std::to_string(r->status) + ": " + r->body
                                       : "error: " + httplib::to_string(r.error()));
          }
        }
      });
    }
  }
  ~Load() { Stop(); }

  Result Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }
  int Done() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_.ok + result_.failed;
  }

 private:
  const std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  Result result_;
  std::vector<std::thread> threads_;
};

// One server row of `show stat` by column names: pxname, svname, status, scur, econ, addr, ...
std::vector<std::map<std::string, std::string>> ShowStatRows(const HaproxyRuntimeClient& cli) {
  std::vector<std::map<std::string, std::string>> rows;
  auto text = cli.Worker("show stat");
  if (!text.ok()) return rows;
  std::istringstream in(*text);
  std::string line;
  std::vector<std::string> header;
  auto split = [](const std::string& s) {
    std::vector<std::string> cells;
    std::istringstream fields(s);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    return cells;
  };
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) {
      header = split(line.substr(2));
      continue;
    }
    const std::vector<std::string> cells = split(line);
    if (header.empty() || cells.size() < 2 || cells[1] == "FRONTEND" || cells[1] == "BACKEND") continue;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

class HaproxyRolloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/sbin/haproxy", X_OK) != 0 || ::access("/bin/busybox", X_OK) != 0) {
      GTEST_SKIP() << "haproxy or busybox is not installed";
    }
    std::random_device rd;
    marker_ = std::to_string(rd()) + std::to_string(rd());
  }
  void TearDown() override {
    if (server_.pid() > 0) {
      server_.Capstan({"delete", "deployment", "--all"});
      WaitFor([&] { return server_.Capstan({"get", "pods", "-o", "name"}).out.empty(); }, 20s);
      server_.Stop();
    }
    for (pid_t p : MarkedProcesses("CAPSTAN_E2E_MARK=" + marker_)) ::kill(p, SIGKILL);
  }

  bool StartServer(const std::string& port_range) {
    return server_.Start({"--driver", "process", "--driver-config",
                          json{{"stateDir", server_.home() + "/driver-state"}}.dump(), "--node-name", "e2e-rollout",
                          "--port-range", port_range, "--lb", "haproxy", "--lb-http-port", "0", "--lb-https-port",
                          "0"});
  }

  // A Deployment of busybox httpd: /index.html and /cgi-bin/slow (after `delay` seconds) answer
  // the Pod's name. `version` goes into the template (a change rolls every replica). Without
  // `probe` the Pod is Ready as soon as it runs. While the file LateFlag() exists, a replica
  // starting listens only 4 s after its process started.
  std::string Deployment(const std::string& name, int replicas, const std::string& version, bool probe = true,
                         const std::string& delay = "0.1") const {
    const std::string script =
        "W=" + server_.home() + "/www/$POD_NAME; mkdir -p $W/cgi-bin && echo $POD_NAME > $W/index.html && "
        "{ echo '#!/bin/sh'; echo 'sleep " + delay + "'; echo 'echo Content-Type: text/plain'; echo echo; "
        "echo \"echo $POD_NAME\"; } > $W/cgi-bin/slow && chmod +x $W/cgi-bin/slow && "
        "if [ -e " + LateFlag() + " ]; then sleep 4; fi; "
        "exec /bin/busybox httpd -f -p 127.0.0.1:$PORT -h $W";
    json container = {{"name", "httpd"},
                      {"image", "none"},
                      {"command", {"/bin/sh", "-c", script}},
                      {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})},
                      {"env",
                       json::array({{{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
                                    {{"name", "VERSION"}, {"value", version}},
                                    {{"name", "CAPSTAN_E2E_MARK"}, {"value", marker_}}})}};
    if (probe) {
      container["readinessProbe"] = {{"httpGet", {{"path", "/index.html"}, {"port", "http"}}}, {"periodSeconds", 1}};
    }
    json pod_spec = {{"terminationGracePeriodSeconds", 10}, {"containers", json::array({container})}};
    json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", {{"app", name}}}}},
                {"template", {{"metadata", {{"labels", {{"app", name}}}}}, {"spec", pod_spec}}}}}};
    return d.dump();
  }
  std::string Service(const std::string& name, const std::string& app, int port) const {
    json s = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"selector", {{"app", app}}},
                {"ports", json::array({{{"name", "http"}, {"port", port}, {"targetPort", "http"}}})}}}};
    return s.dump();
  }
  json Pods() const {
    json list = json::parse(server_.Capstan({"get", "pods", "-o", "json"}).out, nullptr, false);
    return list.is_object() ? list.value("items", json::array()) : json::array();
  }
  // Names of the Pods that run, are Ready and not terminating.
  std::set<std::string> ReadyPods() const {
    std::set<std::string> out;
    for (const json& p : Pods()) {
      if (p["metadata"].contains("deletionTimestamp")) continue;
      for (const json& c : p["status"].value("conditions", json::array())) {
        if (c.value("type", "") == "Ready" && c.value("status", "") == "True") out.insert(p["metadata"].value("name", ""));
      }
    }
    return out;
  }
  // Distinct answers of /index.html through the Service in up to `tries` new connections.
  std::set<std::string> Reach(int port, size_t want, int tries = 60) const {
    std::set<std::string> seen;
    for (int i = 0; i < tries && seen.size() < want; ++i) {
      const std::string body = controller::haproxy::testing::Get(port, "/index.html");
      if (!body.empty()) seen.insert(body.substr(0, body.find('\n')));
    }
    return seen;
  }
  // Starts the server, a Service on a free port and `replicas` replicas; true once HAProxy
  // reaches every one of them.
  bool Serve(const std::string& port_range, int replicas, bool probe = true, const std::string& delay = "0.1") {
    if (!StartServer(port_range)) return false;
    port_ = FreePort();
    if (server_.Capstan({"apply", "-f", "-"}, Service("web", "web", port_)).exit_code != 0) return false;
    if (server_.Capstan({"apply", "-f", "-"}, Deployment("web", replicas, "v1", probe, delay)).exit_code != 0) return false;
    return WaitFor([&] { return Reach(port_, replicas).size() == static_cast<size_t>(replicas); }, 60s);
  }
  std::string LateFlag() const { return server_.home() + "/late"; }
  // Rolls every replica of a 3-replica Deployment (`probe`: with an httpGet readinessProbe)
  // under the load of 4 clients: every request must succeed and come from one of its replicas.
  void Roll(const std::string& port_range, bool probe);
  HaproxyRuntimeClient Cli() const { return HaproxyRuntimeClient(server_.data_dir() + "/haproxy/master.sock"); }

  ServerProcess server_;
  std::string marker_;
  int port_ = 0;
};

std::string Describe(const Load::Result& r) {
  std::string s = "ok " + std::to_string(r.ok) + ", failed " + std::to_string(r.failed) + "; answers:";
  for (const auto& [body, n] : r.bodies) s += " " + body + "=" + std::to_string(n);
  for (const std::string& e : r.errors) s += "\n  " + e;
  return s;
}

TEST_F(HaproxyRolloutTest, ARollingUpdateOfEveryReplicaUnderLoadFailsNoRequest) {
  Roll("25000-25199", /*probe=*/true);
}

// Without a readinessProbe a new Pod is Ready before it listens, and HAProxy's TCP check (every
// 2 s, rise 2) turns its server UP seconds later: the Deployment replaces the last old replica
// before any new one is UP in HAProxy, and only holding the old server (drain_tracker.h) keeps
// the backend serving.
TEST_F(HaproxyRolloutTest, ARollingUpdateFasterThanHaproxysChecksFailsNoRequest) {
  Roll("25800-25999", /*probe=*/false);
}

void HaproxyRolloutTest::Roll(const std::string& port_range, bool probe) {
  ASSERT_TRUE(Serve(port_range, 3, probe)) << server_.log();
  const std::set<std::string> old_pods = ReadyPods();
  ASSERT_EQ(old_pods.size(), 3u);
  // Routed: HAProxy marked each replica, so its node agent waits for the drain.
  ASSERT_TRUE(WaitFor([&] {
    for (const json& p : Pods()) {
      bool marked = false;
      for (const json& c : p["status"].value("conditions", json::array())) {
        marked = marked || (c.value("type", "") == "haproxy.capstan.io/Drained" && c.value("status", "") == "False" &&
                            c.value("reason", "") == "Routed");
      }
      if (!marked) return false;
    }
    return true;
  }, 10s)) << Pods().dump();

  Load load(port_, "/cgi-bin/slow", 4, /*keep_alive=*/false);
  ASSERT_TRUE(WaitFor([&] { return load.Done() >= 20; }, 10s));
  auto r = server_.Capstan({"apply", "-f", "-"}, Deployment("web", 3, "v2", probe));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> every_pod = old_pods;  // every replica seen during the rollout
  std::set<std::string> new_pods;
  const bool rolled = WaitFor([&] {
    const json pods = Pods();
    for (const json& p : pods) every_pod.insert(p["metadata"].value("name", ""));
    new_pods = ReadyPods();
    if (pods.size() != 3 || new_pods.size() != 3) return false;
    for (const std::string& n : new_pods) {
      if (old_pods.count(n)) return false;
    }
    return true;
  }, 90s);
  std::this_thread::sleep_for(1s);  // the new replicas serve under load too
  const Load::Result result = load.Stop();
  ASSERT_TRUE(rolled) << Pods().dump() << "\n" << server_.log();
  EXPECT_EQ(result.failed, 0) << Describe(result);
  EXPECT_GE(result.ok, 40) << Describe(result);
  bool saw_old = false, saw_new = false;
  for (const auto& [body, n] : result.bodies) {
    EXPECT_TRUE(every_pod.count(body)) << "an answer from no replica of the Deployment: " << body;
    saw_old = saw_old || old_pods.count(body);
    saw_new = saw_new || new_pods.count(body);
  }
  EXPECT_TRUE(saw_old && saw_new) << Describe(result);
}

TEST_F(HaproxyRolloutTest, NegativeControlAReplicaKilledWithoutADrainFailsRequests) {
  ASSERT_TRUE(Serve("25200-25399", 3, /*probe=*/true, /*delay=*/"0.3")) << server_.log();
  // Host port -> Pod name, to find the replica behind a server HAProxy has a request in flight to.
  std::map<std::string, std::string> by_address;
  for (const json& p : Pods()) {
    for (const json& m : p["status"].value("portMappings", json::array())) {
      by_address["127.0.0.1:" + std::to_string(m.value("hostPort", 0))] = p["metadata"].value("name", "");
    }
  }
  ASSERT_EQ(by_address.size(), 3u) << Pods().dump();
  const HaproxyRuntimeClient cli = Cli();
  Load load(port_, "/cgi-bin/slow", 6, /*keep_alive=*/false);
  std::string victim;
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& row : ShowStatRows(cli)) {
      auto it = row.find("scur");
      auto addr = row.find("addr");
      if (it == row.end() || addr == row.end() || it->second == "0" || !by_address.count(addr->second)) continue;
      victim = by_address[addr->second];
      return true;
    }
    return false;
  }, 20s));
  // SIGKILL to the replica's processes (httpd and the request handlers it forked), from outside.
  const std::set<pid_t> ours = MarkedProcesses("CAPSTAN_E2E_MARK=" + marker_);
  int killed = 0;
  for (pid_t p : MarkedProcesses("POD_NAME=" + victim)) {
    if (ours.count(p) && ::kill(p, SIGKILL) == 0) ++killed;
  }
  ASSERT_GT(killed, 0);
  std::this_thread::sleep_for(2s);
  const Load::Result result = load.Stop();
  EXPECT_GT(result.failed, 0) << "killing " << victim << " with requests in flight failed none: " << Describe(result);
}

TEST_F(HaproxyRolloutTest, ANewServiceUnderKeepAliveLoadIsOneReloadAndFailsNoRequest) {
  ASSERT_TRUE(Serve("25400-25599", 2)) << server_.log();
  const HaproxyRuntimeClient cli = Cli();
  auto before = cli.ShowProc();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  Load load(port_, "/index.html", 3, /*keep_alive=*/true);
  ASSERT_TRUE(WaitFor([&] { return load.Done() >= 50; }, 10s));
  const int other_port = FreePort();
  auto r = server_.Capstan({"apply", "-f", "-"}, Service("other", "web", other_port));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitFor([&] { return Reach(other_port, 1, 1).size() == 1; }, 20s)) << server_.log();
  std::this_thread::sleep_for(1500ms);  // a second reload, if any, would come within this
  const Load::Result result = load.Stop();
  auto after = cli.ShowProc();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->reloads, before->reloads + 1);
  EXPECT_EQ(after->workers.size(), 1u);
  EXPECT_NE(after->workers, before->workers);
  EXPECT_EQ(result.failed, 0) << Describe(result);
  EXPECT_GE(result.ok, 100) << Describe(result);
}

TEST_F(HaproxyRolloutTest, ANewReplicaNotListeningYetGetsNoTraffic) {
  // No readinessProbe: a new Pod is Ready as soon as its process runs; it listens 4 s later.
  ASSERT_TRUE(Serve("25600-25799", 2, /*probe=*/false)) << server_.log();
  const std::set<std::string> first = ReadyPods();
  Load load(port_, "/cgi-bin/slow", 3, /*keep_alive=*/false);
  ASSERT_TRUE(WaitFor([&] { return load.Done() >= 10; }, 10s));
  ASSERT_EQ(Shell("touch " + LateFlag()).exit_code, 0);
  auto r = server_.Capstan({"scale", "deployment", "web", "--replicas", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string newcomer;
  ASSERT_TRUE(WaitFor([&] {
    for (const std::string& n : ReadyPods()) {
      if (!first.count(n)) newcomer = n;
    }
    return !newcomer.empty();
  }, 20s));
  // Its server is in HAProxy, DOWN, and no request ever tried it (econ 0) while it does not listen.
  const HaproxyRuntimeClient cli = Cli();
  int down_rows = 0;
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& row : ShowStatRows(cli)) {
      if (row.at("pxname").find("_web_") == std::string::npos || row.at("status") == "MAINT") continue;
      if (row.at("status").rfind("DOWN", 0) == 0) {
        ++down_rows;
        EXPECT_EQ(row.at("econ"), "0") << "HAProxy sent a request to a replica that does not listen";
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_GT(down_rows, 0) << "the new replica's server was never seen DOWN";
  // Once it listens and passes its check it gets traffic.
  EXPECT_TRUE(WaitFor([&] { return Reach(port_, 3).count(newcomer) > 0; }, 20s));
  const Load::Result result = load.Stop();
  EXPECT_EQ(result.failed, 0) << Describe(result);
}

}  // namespace
}  // namespace capstan::e2e

namespace capstan::e2e {
namespace {

// A listener port another process holds when HAProxy first starts: HAProxy cannot start from
// that config; the Service at fault is left out and reported, and the others are served.
TEST_F(HaproxyRolloutTest, APortTakenAtTheFirstStartIsBlamedOnItsServiceAndTheRestServes) {
  const std::vector<std::string> flags = {"--lb", "haproxy", "--lb-http-port", "0", "--lb-https-port", "0"};
  ASSERT_TRUE(server_.Start(flags)) << server_.log();
  const int taken_port = FreePort(), free_port = FreePort();
  ASSERT_EQ(server_.Capstan({"apply", "-f", "-"}, Service("taken", "none", taken_port)).exit_code, 0);
  ASSERT_EQ(server_.Capstan({"apply", "-f", "-"}, Service("web", "none", free_port)).exit_code, 0);
  auto condition = [&](const std::string& name) {
    json svc = json::parse(server_.Capstan({"get", "service", name, "-o", "json"}).out, nullptr, false);
    if (!svc.is_object() || !svc.contains("status")) return json::object();
    for (const json& c : svc["status"].value("conditions", json::array())) {
      if (c.value("type", "") == "capstan.io/HAProxyConfigured") return c;
    }
    return json::object();
  };
  ASSERT_TRUE(WaitFor([&] { return condition("taken").value("status", "") == "True"; }, 20s)) << server_.log();
  server_.Stop();

  // Another process takes the port; the server starts again with both Services in its store.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(taken_port));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_TRUE(server_.Start(flags)) << server_.log();
  EXPECT_TRUE(WaitFor([&] {
    const json c = condition("taken");
    return c.value("status", "") == "False" && c.value("reason", "") == "HAProxyConfigRejected" &&
           c.value("message", "").find("cannot bind") != std::string::npos;
  }, 30s)) << condition("taken").dump() << "\n" << server_.log();
  // The other Service is served: HAProxy answers on its port (503: it has no endpoints).
  EXPECT_TRUE(WaitFor([&] {
    httplib::Client c("127.0.0.1", free_port);
    c.set_connection_timeout(1);
    auto r = c.Get("/");
    return static_cast<bool>(r);
  }, 30s)) << server_.log();
  EXPECT_TRUE(Cli().ShowProc().ok());
  ::close(fd);
}

}  // namespace
}  // namespace capstan::e2e
