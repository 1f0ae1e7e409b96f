// Traffic splitting, Ingress and TLS through the managed HAProxy, end to end: one `capstan server
// --driver process --lb haproxy` (Ingress ports: free high ports on 127.0.0.1) runs three busybox
// httpd Deployments, blue, green and red, each answering its colour, and every test sends bounded
// traffic to 127.0.0.1:
//   - blue-green: a Service's selector switched from blue to green under continuous load moves
//     every response to green without a failed request; `capstan describe service` shows the
//     HAProxy servers;
//   - canary by weight (20 % over 1,000 requests) and by header (always / never);
//   - Ingress host and path rules (Prefix by path element, Exact) and defaultBackend; `capstan
//     get ingress` prints what kubectl prints;
//   - TLS from kubernetes.io/tls Secrets chosen by SNI (verified by curl against each
//     self-signed certificate), HTTP redirected to HTTPS with 308;
//   - /metrics after a reload; describe with `--lb none`.
// The Pods' processes carry a marker in their environment and are killed at the end.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/haproxy/haproxy_test_util.h"
#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using controller::haproxy::testing::FreePort;
using nlohmann::json;
using namespace std::chrono_literals;

const char* const kColours[] = {"blue", "green", "red"};

// GET http://127.0.0.1:port/path with a Host header: the body of a 200, else "status N" or
// "error" (no response).
std::string Fetch(int port, const std::string& host, const std::string& path, const httplib::Headers& extra = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  httplib::Headers headers = extra;
  if (!host.empty()) headers.emplace("Host", host);
  auto r = c.Get(path.c_str(), headers);
  if (!r) return "error";
  if (r->status != 200) return "status " + std::to_string(r->status);
  std::string body = r->body;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  return body;
}

// Counts of each answer over `n` requests on one keep-alive connection.
std::map<std::string, int> Tally(int port, const std::string& host, const std::string& path, int n,
                                 const httplib::Headers& extra = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_keep_alive(true);
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  httplib::Headers headers = extra;
  headers.emplace("Host", host);
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    auto r = c.Get(path.c_str(), headers);
    std::string body = !r ? "error" : r->status != 200 ? "status " + std::to_string(r->status) : r->body;
    while (!body.empty() && body.back() == '\n') body.pop_back();
    ++seen[body];
  }
  return seen;
}

std::string Describe(const std::map<std::string, int>& tally) {
  std::string out;
  for (const auto& [k, v] : tally) out += k + "=" + std::to_string(v) + " ";
  return out;
}

class HaproxyIngressTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access("/usr/sbin/haproxy", X_OK) != 0 || ::access("/bin/busybox", X_OK) != 0) {
      skip_ = "haproxy or busybox is not installed";
      return;
    }
    std::random_device rd;
    marker_ = std::to_string(rd()) + std::to_string(rd());
    server_ = new ServerProcess();
    http_port_ = FreePort();
    https_port_ = FreePort();
    // ctest runs each test as its own process, two at a time: each server takes its Pods' ports
    // from its own window of 26000-26499 (the allocator's bind check alone could hand two servers
    // starting at once the same port).
    const int window = 26000 + 25 * static_cast<int>(::getpid() % 20);
    const std::string pod_ports = std::to_string(window) + "-" + std::to_string(window + 24);
    if (!server_->Start({"--driver", "process", "--driver-config",
                         json{{"stateDir", server_->home() + "/driver-state"}}.dump(), "--node-name", "e2e-ingress",
                         "--port-range", pod_ports, "--lb", "haproxy", "--lb-public-address", "127.0.0.1",
                         "--lb-http-port", std::to_string(http_port_), "--lb-https-port",
                         std::to_string(https_port_)})) {
      failure_ = "the server did not start: " + server_->log();
      return;
    }
    for (const char* colour : kColours) {
      service_ports_[colour] = FreePort();
      auto r = server_->Capstan({"apply", "-f", "-"}, Deployment(colour));
      if (r.exit_code != 0) failure_ += r.err;
      r = server_->Capstan({"apply", "-f", "-"}, Service(colour, {{"app", "demo"}, {"colour", colour}},
                                                             service_ports_[colour]));
      if (r.exit_code != 0) failure_ += r.err;
    }
    for (const char* colour : kColours) {
      if (!WaitFor([&] { return Fetch(service_ports_[colour], "", "/index.html") == colour; }, 90s)) {
        failure_ += std::string("Service ") + colour + " never answered; ";
      }
    }
    if (!failure_.empty()) failure_ += server_->log();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      server_->Stop();
      delete server_;
      server_ = nullptr;
    }
    if (!marker_.empty()) {
      for (pid_t p : MarkedProcesses("CAPSTAN_E2E_MARK=" + marker_)) ::kill(p, SIGKILL);
    }
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(failure_.empty()) << failure_;
  }

  static std::string Deployment(const std::string& colour) {
    // Files for the path tests: /api/x (Prefix /api), /apix (not under /api), /exact (Exact),
    // /exactly (not /exact).
    const std::string www = server_->home() + "/www-$POD_NAME";
    const std::string script = "mkdir -p " + www + "/api && for f in index.html api/x apix exact exactly; do echo " +
                               colour + " > " + www + "/$f; done && exec /bin/busybox httpd -f -p 127.0.0.1:$PORT -h " +
                               www;
    json container = {{"name", "httpd"},
                      {"image", "none"},
                      {"command", {"/bin/busybox", "sh", "-c", script}},
                      {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})},
                      {"readinessProbe", {{"httpGet", {{"path", "/index.html"}, {"port", "http"}}}, {"periodSeconds", 1}}},
                      {"env",
                       json::array({{{"name", "CAPSTAN_E2E_MARK"}, {"value", marker_}},
                                    {{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}})}};
    json labels = {{"app", "demo"}, {"colour", colour}};
    json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", colour}}},
              {"spec",
               {{"replicas", 1},
                {"selector", {{"matchLabels", labels}}},
                {"template",
                 {{"metadata", {{"labels", labels}}},
                  {"spec", {{"terminationGracePeriodSeconds", 2}, {"containers", json::array({container})}}}}}}}};
    return d.dump();
  }

  static std::string Service(const std::string& name, const json& selector, int port) {
    json s = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"selector", selector},
                {"ports", json::array({{{"name", "http"}, {"port", port}, {"targetPort", "http"}}})}}}};
    return s.dump();
  }

  static json IngressPath(const std::string& path, const std::string& type, const std::string& service) {
    return {{"path", path},
            {"pathType", type},
            {"backend", {{"service", {{"name", service}, {"port", {{"number", service_ports_[service]}}}}}}}};
  }

  static json Ingress(const std::string& name, const json& spec, const json& annotations = json::object()) {
    json spec_with_class = spec;
    spec_with_class["ingressClassName"] = "haproxy";
    return {{"apiVersion", "networking.k8s.io/v1"},
            {"kind", "Ingress"},
            {"metadata", {{"name", name}, {"annotations", annotations}}},
            {"spec", spec_with_class}};
  }

  static void Apply(const json& object) {
    auto r = server_->Capstan({"apply", "-f", "-"}, object.dump());
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  }

  // `capstan ARGS` prints what kubectl 1.33 prints against the same server (but for ages, which
  // may tick between the two).
  static void ExpectAsKubectlPrints(const std::vector<std::string>& args) {
    const std::string kubectl = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
    if (::access(kubectl.c_str(), X_OK) != 0) return;
    auto mine = server_->Capstan(args);
    auto theirs = server_->Kubectl(kubectl, args);
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
    ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
    const std::regex age("[0-9]+s\n");
    EXPECT_EQ(std::regex_replace(mine.out, age, "AGE\n"), std::regex_replace(theirs.out, age, "AGE\n"));
  }

  static ServerProcess* server_;
  static int http_port_, https_port_;
  static std::map<std::string, int> service_ports_;
  static std::string marker_, skip_, failure_;
};

ServerProcess* HaproxyIngressTest::server_ = nullptr;
int HaproxyIngressTest::http_port_ = 0;
int HaproxyIngressTest::https_port_ = 0;
std::map<std::string, int> HaproxyIngressTest::service_ports_;
std::string HaproxyIngressTest::marker_, HaproxyIngressTest::skip_, HaproxyIngressTest::failure_;

// Blue-green: the Service "web" selects blue; switching its selector to green under continuous
// keep-alive load moves every response to green, and no request fails on the way.
TEST_F(HaproxyIngressTest, BlueGreenSelectorSwitchMovesAllTrafficWithoutAFailedRequest) {
  const int port = FreePort();
  Apply(json::parse(Service("web", {{"app", "demo"}, {"colour", "blue"}}, port)));
  ASSERT_TRUE(WaitFor([&] { return Fetch(port, "", "/index.html") == "blue"; }, 30s)) << server_->log();

  std::atomic<bool> stop{false};
  std::vector<std::string> answers;  // written by the load thread only, read after join
  std::thread load([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_keep_alive(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    const auto end = std::chrono::steady_clock::now() + 60s;
    while (!stop && answers.size() < 20000 && std::chrono::steady_clock::now() < end) {
      auto r = c.Get("/index.html");
      std::string body = !r ? "error " + httplib::to_string(r.error()) : r->status != 200 ? "status " + std::to_string(r->status) : r->body;
      while (!body.empty() && body.back() == '\n') body.pop_back();
      answers.push_back(body);
      std::this_thread::sleep_for(2ms);
    }
  });
  std::this_thread::sleep_for(300ms);  // blue under load first
  Apply(json::parse(Service("web", {{"app", "demo"}, {"colour", "green"}}, port)));
  // Green everywhere: a fresh connection answers green, then the load thread runs on a while.
  const bool switched = WaitFor([&] { return Fetch(port, "", "/index.html") == "green"; }, 30s);
  std::this_thread::sleep_for(switched ? 1500ms : 0ms);
  stop = true;
  load.join();
  ASSERT_TRUE(switched) << server_->log();

  std::map<std::string, int> tally;
  for (const std::string& a : answers) ++tally[a];
  EXPECT_EQ(tally.size(), 2u) << "every answer is blue or green: " << Describe(tally);
  EXPECT_GT(tally["blue"], 0) << Describe(tally);
  EXPECT_GT(tally["green"], 0) << Describe(tally);
  // Blue until green is UP, both for a moment (blue is drained on the controller's next look at
  // HAProxy, within 200 ms), then green only: the run ends with a long stretch of green.
  ASSERT_GE(answers.size(), 100u);
  size_t last_blue = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i] == "blue") last_blue = i;
  }
  EXPECT_GE(answers.size() - last_blue, 100u) << Describe(tally) << "; the last blue answer was #" << last_blue;

  // describe shows the endpoint and HAProxy's server for it: green's address, UP.
  auto slices = server_->Capstan({"get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"});
  json list = json::parse(slices.out, nullptr, false);
  ASSERT_TRUE(list.is_object() && !list["items"].empty()) << slices.out;
  const json& slice = list["items"][0];
  const std::string address = slice["endpoints"][0]["addresses"][0].get<std::string>() + ":" +
                              std::to_string(slice["ports"][0]["port"].get<int>());
  auto d = server_->Capstan({"describe", "service", "web"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("HAProxy Servers:\n"), std::string::npos) << d.out;
  EXPECT_TRUE(std::regex_search(d.out, std::regex(std::to_string(port) + " +s[0-9]+ +" + address + " +UP +[0-9]+ +L7OK( 200)? ")))  // no code while a check is in progress
      << d.out;
}

// Canary by weight: a second Ingress for the same host and path with canary-weight 20 gets about
// a fifth of 1,000 requests (binomial: sd 12.6; the bounds are 4.7 sd wide); by header, "always"
// forces the canary and "never" the main backend.
TEST_F(HaproxyIngressTest, CanaryByWeightAndByHeader) {
  const std::string host = "canary.test";
  Apply(Ingress("main", {{"rules", {{{"host", host}, {"http", {{"paths", {IngressPath("/", "Prefix", "blue")}}}}}}}}));
  Apply(Ingress("main-canary",
                {{"rules", {{{"host", host}, {"http", {{"paths", {IngressPath("/", "Prefix", "green")}}}}}}}},
                {{"haproxy.capstan.io/canary", "true"},
                 {"haproxy.capstan.io/canary-weight", "20"},
                 {"haproxy.capstan.io/canary-by-header", "X-Canary"}}));
  ASSERT_TRUE(WaitFor([&] { return Fetch(http_port_, host, "/index.html", {{"X-Canary", "always"}}) == "green"; }, 30s))
      << server_->log();

  std::map<std::string, int> tally = Tally(http_port_, host, "/index.html", 1000);
  EXPECT_EQ(tally["blue"] + tally["green"], 1000) << Describe(tally);
  EXPECT_GE(tally["green"], 140) << Describe(tally);
  EXPECT_LE(tally["green"], 260) << Describe(tally);

  tally = Tally(http_port_, host, "/index.html", 50, {{"X-Canary", "always"}});
  EXPECT_EQ(tally["green"], 50) << Describe(tally);
  tally = Tally(http_port_, host, "/index.html", 50, {{"X-Canary", "never"}});
  EXPECT_EQ(tally["blue"], 50) << Describe(tally);
}

// Host and path rules: Prefix matches whole path elements, Exact only the path itself, rules
// without a match of their host fall to the defaultBackend; `capstan get ingress` prints what
// kubectl 1.33 prints.
TEST_F(HaproxyIngressTest, HostAndPathRulesAndDefaultBackend) {
  json rules = {{{"host", "a.test"},
                 {"http",
                  {{"paths",
                    {IngressPath("/", "Prefix", "blue"), IngressPath("/api", "Prefix", "green"),
                     IngressPath("/exact", "Exact", "red")}}}}},
                {{"host", "b.test"}, {"http", {{"paths", {IngressPath("/", "Prefix", "green")}}}}}};
  json spec = {{"rules", rules},
               {"defaultBackend", {{"service", {{"name", "red"}, {"port", {{"number", service_ports_["red"]}}}}}}}};
  Apply(Ingress("routes", spec));
  ASSERT_TRUE(WaitFor([&] { return Fetch(http_port_, "a.test", "/api/x") == "green"; }, 30s)) << server_->log();

  EXPECT_EQ(Fetch(http_port_, "a.test", "/index.html"), "blue");
  EXPECT_EQ(Fetch(http_port_, "a.test", "/api/x"), "green");
  EXPECT_EQ(Fetch(http_port_, "a.test", "/apix"), "blue") << "Prefix /api must not match /apix";
  EXPECT_EQ(Fetch(http_port_, "a.test", "/exact"), "red");
  EXPECT_EQ(Fetch(http_port_, "a.test", "/exact?q=1"), "red") << "the query is not part of the path";
  EXPECT_EQ(Fetch(http_port_, "a.test", "/exactly"), "blue") << "Exact /exact must not match /exactly";
  EXPECT_EQ(Fetch(http_port_, "A.TEST", "/api/x"), "green") << "host names match case-insensitively";
  EXPECT_EQ(Fetch(http_port_, "a.test:" + std::to_string(http_port_), "/api/x"), "green") << "the port is not the host";
  EXPECT_EQ(Fetch(http_port_, "b.test", "/api/x"), "green");
  EXPECT_EQ(Fetch(http_port_, "b.test", "/index.html"), "green");
  EXPECT_EQ(Fetch(http_port_, "c.test", "/index.html"), "red") << "no rule for the host: the defaultBackend";

  // Served: the Ingress's status has HAProxy's address, as ingress controllers publish it.
  RunResult mine;
  EXPECT_TRUE(WaitFor([&] {
    mine = server_->Capstan({"get", "ingress", "routes"});
    return std::regex_search(
        mine.out, std::regex("^NAME +CLASS +HOSTS +ADDRESS +PORTS +AGE\nroutes +haproxy +a\\.test,b\\.test +127\\.0\\.0\\.1 +80 +[0-9]+s\n$"));
  }, 10s)) << mine.out << mine.err;
  ExpectAsKubectlPrints({"get", "ingress", "routes"});
}

// TLS: two kubernetes.io/tls Secrets for two hosts; a client naming each host (SNI) to 127.0.0.1
// gets that host's certificate (curl verifies the chain and the name against it, and fails against
// the other one); plain HTTP to a TLS host is redirected to the HTTPS port with 308.
TEST_F(HaproxyIngressTest, TlsBySniAndRedirectToHttps) {
  if (::access("/usr/bin/openssl", X_OK) != 0 || ::access("/usr/bin/curl", X_OK) != 0) {
    GTEST_SKIP() << "openssl or curl is not installed";
  }
  const std::string dir = server_->home() + "/tls";
  std::filesystem::create_directories(dir);
  for (const std::string host : {"secure.test", "secure2.test"}) {
    auto made = e2e::Run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + host,
                     "-addext", "subjectAltName=DNS:" + host, "-keyout", dir + "/" + host + ".key", "-out",
                     dir + "/" + host + ".crt"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", {{"name", host == "secure.test" ? "tls-a" : "tls-b"}}},
                   {"type", "kubernetes.io/tls"},
                   {"stringData",
                    {{"tls.crt", ReadFile(dir + "/" + host + ".crt")}, {"tls.key", ReadFile(dir + "/" + host + ".key")}}}};
    Apply(secret);
  }
  json rules = {{{"host", "secure.test"}, {"http", {{"paths", {IngressPath("/", "Prefix", "blue")}}}}},
                {{"host", "secure2.test"}, {"http", {{"paths", {IngressPath("/", "Prefix", "green")}}}}}};
  json tls = {{{"hosts", {"secure.test"}}, {"secretName", "tls-a"}}, {{"hosts", {"secure2.test"}}, {"secretName", "tls-b"}}};
  Apply(Ingress("secure", {{"rules", rules}, {"tls", tls}}));

  const std::string https = std::to_string(https_port_);
  auto curl = [&](const std::string& host, const std::string& ca) {
    return e2e::Run({"curl", "-sS", "--max-time", "5", "--resolve", host + ":" + https + ":127.0.0.1", "--cacert",
                dir + "/" + ca + ".crt", "https://" + host + ":" + https + "/index.html"});
  };
  ASSERT_TRUE(WaitFor([&] { return curl("secure.test", "secure.test").out == "blue\n"; }, 30s))
      << curl("secure.test", "secure.test").err << server_->log();
  EXPECT_EQ(curl("secure2.test", "secure2.test").out, "green\n") << curl("secure2.test", "secure2.test").err;
  // Each name gets its own certificate: verified against the other one, the handshake fails.
  EXPECT_NE(curl("secure.test", "secure2.test").exit_code, 0);
  EXPECT_NE(curl("secure2.test", "secure.test").exit_code, 0);

  auto redirect = e2e::Run({"curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H",
                       "Host: secure.test", "http://127.0.0.1:" + std::to_string(http_port_) + "/index.html?x=1"});
  EXPECT_EQ(redirect.out, "308 https://secure.test:" + https + "/index.html?x=1") << redirect.err;

  // PORTS "80, 443" with TLS; ADDRESS once served.
  RunResult mine;
  EXPECT_TRUE(WaitFor([&] {
    mine = server_->Capstan({"get", "ingress", "secure"});
    return std::regex_search(mine.out, std::regex("\nsecure +haproxy +secure\\.test,secure2\\.test +127\\.0\\.0\\.1 +80, 443 +[0-9]+s\n"));
  }, 10s)) << mine.out << mine.err;
  ExpectAsKubectlPrints({"get", "ingress", "secure", "-o", "wide"});
}

// /metrics after a reload: the new Service's reload is counted as ok, HAProxy is up with one
// current worker and its servers UP; the API's own request counter is there too. Without a
// token: 401, like every other read.
TEST_F(HaproxyIngressTest, MetricsCountAReload) {
  auto scrape = [&] { return server_->Curl({server_->url() + "/metrics"}).out; };
  auto value = [](const std::string& text, const std::string& series) {
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 2));
  };
  const std::string before = scrape();
  // Run alone (as ctest runs each test), the suite's Services may all be in HAProxy's first
  // config, so there may be no reload yet, and no series: count from 0 then.
  ASSERT_NE(before.find("# TYPE capstan_haproxy_reloads_total counter"), std::string::npos) << before;
  const double reloads = std::max(0.0, value(before, "capstan_haproxy_reloads_total{result=\"ok\"}"));
  const int port = FreePort();
  Apply(json::parse(Service("metrics", {{"app", "demo"}, {"colour", "red"}}, port)));
  ASSERT_TRUE(WaitFor([&] { return Fetch(port, "", "/index.html") == "red"; }, 30s)) << server_->log();
  // Counted once the reconcile that reloaded returns, which may be just after the new worker
  // answered.
  std::string after;
  EXPECT_TRUE(WaitFor([&] {
    after = scrape();
    return value(after, "capstan_haproxy_reloads_total{result=\"ok\"}") >= reloads + 1;
  }, 10s)) << after;
  EXPECT_EQ(value(after, "capstan_haproxy_reloads_total{result=\"failed\"}"), 0) << after;
  EXPECT_EQ(value(after, "capstan_haproxy_up"), 1) << after;
  EXPECT_EQ(value(after, "capstan_haproxy_workers{generation=\"current\"}"), 1) << after;
  EXPECT_GE(value(after, "capstan_haproxy_servers{state=\"UP\"}"), 4) << after;
  EXPECT_GE(value(after, "capstan_haproxy_render_duration_seconds_count"), 1) << after;
  EXPECT_GE(value(after, "apiserver_request_total{verb=\"LIST\",code=\"200\"}"), 1) << after;
  EXPECT_NE(after.find("# TYPE capstan_haproxy_render_duration_seconds histogram\n"), std::string::npos);

  auto anonymous = e2e::Run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                        server_->data_dir() + "/ca.crt", server_->url() + "/metrics"});
  EXPECT_EQ(anonymous.out, "401");
}

// Without a load balancer, describe says so instead of failing.
TEST(HaproxyDescribeTest, DescribeServiceWithoutALoadBalancerSaysSo) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--driver", "none", "--lb", "none"})) << server.log();
  json s = {{"apiVersion", "v1"},
            {"kind", "Service"},
            {"metadata", {{"name", "web"}}},
            {"spec", {{"selector", {{"app", "web"}}}, {"ports", json::array({{{"port", FreePort()}}})}}}};
  ASSERT_EQ(server.Capstan({"apply", "-f", "-"}, s.dump()).exit_code, 0);
  auto d = server.Capstan({"describe", "service", "web"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(std::regex_search(d.out, std::regex("\nHAProxy Servers: +<none> \\(this server runs no load balancer")))
      << d.out;
}

}  // namespace
}  // namespace capstan::e2e
