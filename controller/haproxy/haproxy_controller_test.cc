// The controller with a real HAProxy and real backends (busybox httpd), over a fake API that
// serves the collections it watches (the Service and EndpointSlice kinds are not registered in
// the API server yet): 3 replicas reached, 5 after a scale without a reload, HAProxy killed from
// outside restarted with the current config, an invalid Service reported and left out.
#include "controller/haproxy/haproxy_controller.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <condition_variable>
#include <deque>
#include <set>

#include "client/informer_factory.h"
#include "controller/haproxy/haproxy_test_util.h"

namespace capstan::controller::haproxy {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using nlohmann::json;

// One open watch of the fake API.
struct Watch {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<json> events;
  bool cancelled = false;
};

class WatchStream : public client::WatchEvents {
 public:
  explicit WatchStream(std::shared_ptr<Watch> w) : w_(std::move(w)) {}
  ~WatchStream() override { Cancel(); }
  Result<std::optional<json>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(w_->mu);
    w_->cv.wait_for(lock, timeout, [&] { return w_->cancelled || !w_->events.empty(); });
    if (w_->cancelled || w_->events.empty()) return std::optional<json>();
    std::optional<json> e(std::move(w_->events.front()));
    w_->events.pop_front();
    return e;
  }
  bool Ended() const override {
    std::lock_guard<std::mutex> lock(w_->mu);
    return w_->cancelled;
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(w_->mu);
    w_->cancelled = true;
    w_->cv.notify_all();
  }

 private:
  std::shared_ptr<Watch> w_;
};

// Collections by path; lists and watches; records creates (Events) and patches (status).
class CollectionsApi : public client::ApiClient {
 public:
  void Put(const std::string& collection, json object) {
    std::lock_guard<std::mutex> lock(mu_);
    object["metadata"]["resourceVersion"] = std::to_string(++rv_);
    const std::string key = object["metadata"].value("namespace", "") + "/" + object["metadata"].value("name", "");
    const bool existed = objects_[collection].count(key) > 0;
    objects_[collection][key] = object;
    for (auto& w : watches_[collection]) {
      std::lock_guard<std::mutex> wl(w->mu);
      w->events.push_back({{"type", existed ? "MODIFIED" : "ADDED"}, {"object", object}});
      w->cv.notify_all();
    }
  }
  std::vector<json> Created() {
    std::lock_guard<std::mutex> lock(mu_);
    return created_;
  }
  std::vector<std::pair<std::string, json>> Patched() {
    std::lock_guard<std::mutex> lock(mu_);
    return patched_;
  }

  Result<json> Get(const std::string&, const client::Query&) override { return Status::NotFound("not here"); }
  Result<json> List(const std::string& path, const client::Query&) override {
    std::lock_guard<std::mutex> lock(mu_);
    json items = json::array();
    for (const auto& [key, obj] : objects_[path]) items.push_back(obj);
    return json{{"items", items}, {"metadata", {{"resourceVersion", std::to_string(rv_)}}}};
  }
  Result<json> Create(const std::string&, const json& body, const client::Query&) override {
    std::lock_guard<std::mutex> lock(mu_);
    created_.push_back(body);
    return body;
  }
  Result<json> Update(const std::string&, const json& body, const client::Query&) override { return body; }
  Result<json> Patch(const std::string& path, client::PatchType, const json& patch, const client::Query&) override {
    std::lock_guard<std::mutex> lock(mu_);
    patched_.push_back({path, patch});
    return patch;
  }
  Result<json> Delete(const std::string&, const json&, const client::Query&) override { return json::object(); }
  Result<std::unique_ptr<client::WatchEvents>> Watch(const std::string& path, const client::Query&) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto w = std::make_shared<struct Watch>();
    watches_[path].push_back(w);
    return std::unique_ptr<client::WatchEvents>(new WatchStream(w));
  }

 private:
  std::mutex mu_;
  int rv_ = 1;
  std::map<std::string, std::map<std::string, json>> objects_;
  std::map<std::string, std::vector<std::shared_ptr<struct Watch>>> watches_;
  std::vector<json> created_;
  std::vector<std::pair<std::string, json>> patched_;
};

constexpr char kServices[] = "/api/v1/services";
constexpr char kSlices[] = "/apis/discovery.k8s.io/v1/endpointslices";

json Service(const std::string& name, int port, json annotations) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"annotations", annotations}}},
          {"spec", {{"selector", {{"app", name}}}, {"ports", {{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}}}}}};
}

json Slice(const std::string& service, int port) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", service + "-" + std::to_string(port)},
            {"namespace", "default"},
            {"labels", {{"kubernetes.io/service-name", service}}}}},
          {"addressType", "IPv4"},
          {"endpoints", {{{"addresses", {"127.0.0.1"}}, {"conditions", {{"ready", true}}}}}},
          {"ports", {{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}}}};
}

// n busybox httpd replicas "r1".."rn" on free ports (*ports); fewer when one does not start.
std::vector<std::unique_ptr<supervisor::ChildSupervisor>> StartReplicas(const std::string& dir, int n,
                                                                        std::vector<int>* ports) {
  std::vector<std::unique_ptr<supervisor::ChildSupervisor>> replicas;
  for (int i = 1; i <= n; ++i) {
    ports->push_back(FreePort());
    auto r = StartHttpd(dir, "r" + std::to_string(i), ports->back());
    if (!r) break;
    replicas.push_back(std::move(r));
  }
  return replicas;
}

// Health checks fast enough that a replica turns UP within a test's patience.
const json kFastChecks = {{"haproxy.capstan.io/check-interval", "100ms"}, {"haproxy.capstan.io/check-rise", "1"}};

// The controller set up over `informers`, the informers synced, the controller started.
::testing::AssertionResult SetUpAndStart(HaproxyController& controller, client::ApiClient* api,
                                         client::SharedInformerFactory& informers) {
  ControllerContext ctx{api, &informers, Clock::Real()};
  if (Status st = controller.Setup(ctx); !st.ok()) return ::testing::AssertionFailure() << "Setup: " << st.ToString();
  informers.StartAll();
  if (!informers.WaitForSyncAll(10s)) return ::testing::AssertionFailure() << "informers did not sync";
  if (Status st = controller.Start(); !st.ok()) return ::testing::AssertionFailure() << "Start: " << st.ToString();
  return ::testing::AssertionSuccess();
}

// Options for a controller serving Services only (no Ingress listeners), files under `dir`.
HaproxyControllerOptions ServicesOnly(const std::string& dir) {
  HaproxyControllerOptions o;
  o.data_dir = dir;
  o.http_port = 0;
  o.https_port = 0;
  o.reload_debounce = 50ms;
  return o;
}

TEST(HaproxyControllerTest, ServesReplicasScalesWithoutReloadAndSurvivesAKill) {
  if (!HaveTools()) GTEST_SKIP() << "haproxy or busybox is not installed";
  const std::string dir = MakeTempDir("capstan-haproxy-ctl");
  std::vector<int> ports;
  const auto replicas = StartReplicas(dir, 5, &ports);
  ASSERT_EQ(replicas.size(), 5u);
  const int service_port = FreePort();
  CollectionsApi api;
  api.Put(kServices, Service("web", service_port, kFastChecks));
  for (int i = 0; i < 3; ++i) api.Put(kSlices, Slice("web", ports[i]));

  client::SharedInformerFactory informers(&api);
  HaproxyController controller(ServicesOnly(dir));
  ASSERT_TRUE(SetUpAndStart(controller, &api, informers));

  auto reached = [&](size_t want) {
    std::set<std::string> seen;
    for (int i = 0; i < 40 && seen.size() < want; ++i) {
      const std::string body = Get(service_port);
      if (!body.empty()) seen.insert(body);
    }
    return seen.size();
  };
  ASSERT_TRUE(WaitUntil([&] { return reached(3) == 3; }, 15s)) << ReadFile(dir + "/haproxy/haproxy.log");
  auto proc = controller.runtime().ShowProc();
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  const pid_t worker = proc->workers.at(0);

  // Scale to 5: the new replicas get traffic, the worker stays (no reload).
  api.Put(kSlices, Slice("web", ports[3]));
  api.Put(kSlices, Slice("web", ports[4]));
  ASSERT_TRUE(WaitUntil([&] { return reached(5) == 5; }, 15s));
  EXPECT_EQ(controller.runtime().ShowProc()->workers, std::vector<pid_t>{worker});
  HaproxyStats stats = controller.Stats();
  EXPECT_EQ(stats.reloads_ok, 0u);
  EXPECT_GE(stats.runtime_updates, 2u);

  // HAProxy killed from outside: restarted, serving the current config (all five).
  const std::string config = ReadFile(dir + "/haproxy/haproxy.cfg");
  for (int p : ports) EXPECT_NE(config.find("127.0.0.1:" + std::to_string(p)), std::string::npos) << p;
  ASSERT_EQ(::kill(stats.master_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return controller.Stats().haproxy_restarts == 1; }, 10s));
  ASSERT_TRUE(WaitUntil([&] { return reached(5) == 5; }, 15s)) << ReadFile(dir + "/haproxy/haproxy.log");

  // An invalid Service is left out and reported; the others keep serving.
  api.Put(kServices, Service("bad", FreePort(), {{"haproxy.capstan.io/balance", "fastest"}}));
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& e : api.Created()) {
      if (e.value("reason", "") == "HAProxyInvalid") return true;
    }
    return false;
  }, 10s));
  bool condition = false;
  for (const auto& [path, patch] : api.Patched()) {
    if (path == "/api/v1/namespaces/default/services/bad/status") {
      const json& c = patch["status"]["conditions"][0];
      condition = c["type"] == kConditionType && c["status"] == "False" && c["reason"] == "HAProxyInvalid";
    }
  }
  EXPECT_TRUE(condition);
  EXPECT_EQ(reached(5), 5u);

  controller.Stop();
  informers.StopAll();
  std::filesystem::remove_all(dir);
}

constexpr char kPods[] = "/api/v1/pods";

// Pod `name` (app=web, on node n1 at 127.0.0.1) serving its container port 8080 on `host_port`.
json WebPod(const std::string& name, int host_port, bool ready) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}, {"labels", {{"app", "web"}}}}},
          {"spec", {{"nodeName", "n1"}, {"containers", {{{"name", "c"}, {"ports", {{{"containerPort", 8080}}}}}}}}},
          {"status",
           {{"phase", "Running"},
            {"hostIP", "127.0.0.1"},
            {"portMappings", {{{"containerPort", 8080}, {"hostPort", host_port}}}},
            {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}

// A Pod turning Ready reaches HAProxy from the Pod event, ahead of the EndpointSlice controller's
// write (pending_endpoints.h): here that write never comes, and the Pod is served all the same.
TEST(HaproxyControllerTest, APodTurningReadyIsServedAheadOfItsEndpointSlice) {
  if (!HaveTools()) GTEST_SKIP() << "haproxy or busybox is not installed";
  const std::string dir = MakeTempDir("capstan-haproxy-pending");
  std::vector<int> ports;
  const auto replicas = StartReplicas(dir, 2, &ports);
  ASSERT_EQ(replicas.size(), 2u);
  const int service_port = FreePort();
  CollectionsApi api;
  json web = Service("web", service_port, kFastChecks);
  web["spec"]["ports"][0]["targetPort"] = 8080;
  api.Put(kServices, web);
  api.Put(kPods, WebPod("r1", ports[0], true));
  api.Put(kPods, WebPod("r2", ports[1], false));
  // The managed slice as the EndpointSlice controller wrote it: r1 ready, r2 not.
  auto entry = [](const std::string& pod, bool ready) {
    return json{{"addresses", {"127.0.0.1"}},
                {"conditions", {{"ready", ready}, {"serving", ready}, {"terminating", false}}},
                {"nodeName", "n1"},
                {"targetRef", {{"kind", "Pod"}, {"namespace", "default"}, {"name", pod}, {"uid", "uid-" + pod}}}};
  };
  for (int i = 0; i < 2; ++i) {
    api.Put(kSlices, {{"apiVersion", "discovery.k8s.io/v1"},
                      {"kind", "EndpointSlice"},
                      {"metadata",
                       {{"name", "web-" + std::to_string(i)},
                        {"namespace", "default"},
                        {"labels", {{"kubernetes.io/service-name", "web"},
                                    {"endpointslice.kubernetes.io/managed-by", "endpointslice-controller.capstan.io"}}}}},
                      {"addressType", "IPv4"},
                      {"endpoints", {entry(i == 0 ? "r1" : "r2", i == 0)}},
                      {"ports", {{{"name", "http"}, {"port", ports[i]}, {"protocol", "TCP"}}}}});
  }
  client::SharedInformerFactory informers(&api);
  HaproxyController controller(ServicesOnly(dir));
  ASSERT_TRUE(SetUpAndStart(controller, &api, informers));
  ASSERT_TRUE(WaitUntil([&] { return Get(service_port) == "r1\n"; }, 15s)) << ReadFile(dir + "/haproxy/haproxy.log");
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Get(service_port), "r1\n") << "r2 is not Ready yet";

  api.Put(kPods, WebPod("r2", ports[1], true));
  ASSERT_TRUE(WaitUntil([&] { return Get(service_port) == "r2\n"; }, 10s)) << ReadFile(dir + "/haproxy/haproxy.log");
  EXPECT_EQ(controller.Stats().reloads_ok, 0u) << "an endpoint change is no reload";

  controller.Stop();
  informers.StopAll();
  std::filesystem::remove_all(dir);
}

constexpr char kIngresses[] = "/apis/networking.k8s.io/v1/ingresses";
constexpr char kSecrets[] = "/api/v1/secrets";

json Ingress(const std::string& name, const std::string& host, int port, const std::string& secret) {
  const json backend = {{"service", {{"name", "web"}, {"port", {{"number", port}}}}}};
  json spec = {{"ingressClassName", "haproxy"},
               {"rules", {{{"host", host},
                           {"http", {{"paths", {{{"path", "/"}, {"pathType", "Prefix"}, {"backend", backend}}}}}}}}}};
  if (!secret.empty()) spec["tls"] = {{{"hosts", {host}}, {"secretName", secret}}};
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "Ingress"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", spec}};
}

// A TLS Secret whose tls.crt is garbage: its Ingress gets an Event, everything else keeps
// updating (HAProxy would refuse the whole configuration over one unreadable certificate). A
// snippet HAProxy refuses stays out across reconciles without being checked or reported again.
TEST(HaproxyControllerTest, AGarbageTlsSecretIsReportedAndStopsNothingElse) {
  if (!HaveTools()) GTEST_SKIP() << "haproxy or busybox is not installed";
  const std::string dir = MakeTempDir("capstan-haproxy-tls");
  std::vector<int> ports;
  const auto replicas = StartReplicas(dir, 2, &ports);
  ASSERT_EQ(replicas.size(), 2u);
  const int service_port = FreePort();
  CollectionsApi api;
  api.Put(kServices, Service("web", service_port, kFastChecks));
  api.Put(kSlices, Slice("web", ports[0]));
  api.Put(kIngresses, Ingress("shop", "shop.example.com", service_port, "shop-tls"));
  api.Put(kSecrets, {{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"type", "kubernetes.io/tls"},
                     {"metadata", {{"name", "shop-tls"}, {"namespace", "default"}}},
                     {"data", {{"tls.crt", "Z2FyYmFnZQo="}, {"tls.key", "Z2FyYmFnZQo="}}}});  // "garbage\n"

  client::SharedInformerFactory informers(&api);
  HaproxyControllerOptions o;
  o.data_dir = dir;
  o.public_address = "127.0.0.1";
  o.http_port = FreePort();
  o.https_port = FreePort();
  o.reload_debounce = 50ms;
  HaproxyController controller(o);
  ASSERT_TRUE(SetUpAndStart(controller, &api, informers));
  ASSERT_TRUE(WaitUntil([&] { return Get(service_port) == "r1\n"; }, 15s)) << ReadFile(dir + "/haproxy/haproxy.log");
  // The Ingress's route serves over HTTP; its TLS entry is left out and reported.
  httplib::Client http("127.0.0.1", o.http_port);
  auto res = http.Get("/", {{"Host", "shop.example.com"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "r1\n");
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& e : api.Created()) {
      if (e.value("reason", "") == "HAProxyInvalid" && e["involvedObject"].value("name", "") == "shop" &&
          e.value("message", "").find("Secret default/shop-tls: tls.crt is not a PEM certificate") != std::string::npos) {
        return true;
      }
    }
    return false;
  }, 10s));
  // A defaults snippet HAProxy refuses: reported once and left out while it stays as it is, so
  // the changes below are not checked against it again.
  api.Put("/api/v1/namespaces/kube-system/configmaps",
          {{"apiVersion", "v1"},
           {"kind", "ConfigMap"},
           {"metadata", {{"name", "capstan-haproxy-defaults"}, {"namespace", "kube-system"}}},
           {"data", {{"defaults-snippet", "no-such-keyword 1"}}}});
  auto rejected_events = [&] {
    size_t n = 0;
    for (const json& e : api.Created()) n += e.value("reason", "") == "HAProxyConfigRejected" ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(WaitUntil([&] { return rejected_events() == 1; }, 10s));
  EXPECT_EQ(controller.Stats().configs_rejected, 1u);
  // Another Service's endpoint moves: applied, as is a new Service (a reload).
  api.Put(kSlices, Slice("web", ports[1]));
  api.Put(kSlices, {{"apiVersion", "discovery.k8s.io/v1"},
                    {"kind", "EndpointSlice"},
                    {"metadata", {{"name", "web-" + std::to_string(ports[0])}, {"namespace", "default"},
                                  {"labels", {{"kubernetes.io/service-name", "gone"}}}}},
                    {"addressType", "IPv4"},
                    {"endpoints", json::array()},
                    {"ports", {{{"name", "http"}, {"port", ports[0]}, {"protocol", "TCP"}}}}});
  const int other_port = FreePort();
  api.Put(kServices, Service("other", other_port, kFastChecks));
  api.Put(kSlices, Slice("other", ports[0]));
  ASSERT_TRUE(WaitUntil([&] { return Get(other_port) == "r1\n"; }, 15s)) << ReadFile(dir + "/haproxy/haproxy.log");
  ASSERT_TRUE(WaitUntil([&] { return Get(service_port) == "r2\n"; }, 15s));
  EXPECT_EQ(controller.Stats().configs_rejected, 1u);  // the snippet was not checked again
  EXPECT_EQ(rejected_events(), 1u);

  controller.Stop();
  informers.StopAll();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace capstan::controller::haproxy
