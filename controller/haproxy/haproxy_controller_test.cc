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

TEST(HaproxyControllerTest, ServesReplicasScalesWithoutReloadAndSurvivesAKill) {
  if (!HaveTools()) GTEST_SKIP() << "haproxy or busybox is not installed";
  const std::string dir = MakeTempDir("capstan-haproxy-ctl");
  std::vector<std::unique_ptr<supervisor::ChildSupervisor>> replicas;
  std::vector<int> ports;
  for (int i = 1; i <= 5; ++i) {
    ports.push_back(FreePort());
    replicas.push_back(StartHttpd(dir, "r" + std::to_string(i), ports.back()));
    ASSERT_TRUE(replicas.back());
  }
  const int service_port = FreePort();
  CollectionsApi api;
  const json fast = {{"haproxy.capstan.io/check-interval", "100ms"}, {"haproxy.capstan.io/check-rise", "1"}};
  api.Put(kServices, Service("web", service_port, fast));
  for (int i = 0; i < 3; ++i) api.Put(kSlices, Slice("web", ports[i]));

  client::SharedInformerFactory informers(&api);
  HaproxyControllerOptions o;
  o.data_dir = dir;
  o.http_port = 0;
  o.https_port = 0;
  o.reload_debounce = 50ms;
  HaproxyController controller(o);
  ControllerContext ctx{&api, &informers, Clock::Real()};
  ASSERT_TRUE(controller.Setup(ctx).ok());
  informers.StartAll();
  ASSERT_TRUE(informers.WaitForSyncAll(10s));
  ASSERT_TRUE(controller.Start().ok());

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

}  // namespace
}  // namespace capstan::controller::haproxy
