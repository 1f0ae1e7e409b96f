#include "controller/haproxy/applier.h"
#include "controller/haproxy/drain_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "controller/haproxy/haproxy_test_util.h"
#include "controller/haproxy/config_check.h"
#include "controller/haproxy/runtime_plan.h"
#include "controller/haproxy/tls_test_util.h"

namespace capstan::controller::haproxy {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using Clock = std::chrono::steady_clock;

TEST(RuntimePlanTest, ServerChangesAreRuntimeOpsEverythingElseReloads) {
  HaproxyModel a;
  Backend b;
  b.name = "default_web_80";
  b.servers = {{1, "127.0.0.1", 20001, ServerState::kReady}, {2, "127.0.0.1", 20002, ServerState::kReady},
               {3, "127.0.0.1", 20003, ServerState::kReady}};
  a.backends = {b};
  HaproxyModel d = a;
  d.backends[0].servers = {{1, "127.0.0.1", 20001, ServerState::kDrain}, {2, "127.0.0.1", 20009, ServerState::kReady},
                           {4, "127.0.0.1", 20004, ServerState::kReady}};
  RuntimePlan p = PlanRuntime(a, d);
  ASSERT_FALSE(p.reload) << p.reason;
  EXPECT_EQ(p.ops, (std::vector<ServerOp>{{ServerOp::kDrain, b.name, 1, "", 0},
                                          {ServerOp::kLeave, b.name, 2, "", 0},
                                          {ServerOp::kEnter, b.name, 2, "127.0.0.1", 20009},
                                          {ServerOp::kLeave, b.name, 3, "", 0},
                                          {ServerOp::kEnter, b.name, 4, "127.0.0.1", 20004}}));
  EXPECT_TRUE(PlanRuntime(a, a).ops.empty());
  d = a;
  d.backends[0].slots = 16;
  EXPECT_TRUE(PlanRuntime(a, d).reload);
  EXPECT_EQ(PlanRuntime(a, d).reason, "backend default_web_80: slots 8 -> 16");
  d = a;
  d.backends[0].settings.balance = "leastconn";
  EXPECT_TRUE(PlanRuntime(a, d).reload);
  d = a;
  d.listeners.push_back({"x", "", "127.0.0.1", 1, false, b.name, {}});
  EXPECT_TRUE(PlanRuntime(a, d).reload);
}

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTools()) GTEST_SKIP() << "haproxy or busybox is not installed";
    dir_ = MakeTempDir("capstan-haproxy-apply");
    for (const char* n : {"a", "b"}) {
      ports_[n] = FreePort();
      httpd_.push_back(StartHttpd(dir_, n, ports_[n]));
      ASSERT_TRUE(httpd_.back());
    }
    listen_ = FreePort();
    client_ = std::make_unique<HaproxyRuntimeClient>(dir_ + "/master.sock", 5s, dir_ + "/stats.sock");
    ApplierOptions o;
    o.dir = dir_;
    o.drain_timeout = 2s;
    o.reload_debounce = 100ms;
    o.log_path = dir_ + "/haproxy.log";
    applier_ = std::make_unique<HaproxyApplier>(o, client_.get());
    ASSERT_TRUE(applier_->WriteInitial(Model({"a"})).ok());
    supervisor::ChildSpec spec;
    spec.name = "haproxy";
    spec.argv = {kHaproxy, "-W", "-S", applier_->master_socket() + ",mode,600", "-f", applier_->config_path()};
    spec.log_path = dir_ + "/haproxy.log";
    auto started = supervisor::ChildSupervisor::Start(spec);
    ASSERT_TRUE(started.ok());
    haproxy_ = std::move(started).value();
    ASSERT_TRUE(WaitUntil([&] { return Get(listen_) == "a\n"; }, 10s));
  }
  void TearDown() override {
    if (haproxy_) haproxy_->Stop();
    httpd_.clear();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // One backend with the named backends' ports (a port of 1 for "dead": nobody listens).
  HaproxyModel Model(const std::vector<std::string>& names) {
    HaproxyModel m;
    Backend b;
    b.name = "default_web_80";
    b.source = "Service default/web";
    b.http = true;
    b.settings.check.http = true;
    b.settings.check.interval_ms = 100;
    b.settings.check.rise = 1;
    int slot = 1;
    for (const std::string& n : names) {
      b.servers.push_back({slot++, "127.0.0.1", n == "dead" ? dead_port_ : ports_[n], ServerState::kReady});
    }
    m.backends.push_back(b);
    m.listeners.push_back({"default_web_80_service", b.source, "127.0.0.1", listen_, true, b.name, {}});
    return m;
  }
  pid_t Worker() {
    for (int i = 0; i < 50; ++i) {
      auto p = client_->ShowProc();
      if (p.ok() && p->workers.size() == 1) return p->workers[0];
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "show proc: " << client_->ShowProc().status().ToString();
    return -1;
  }
  std::multiset<std::string> Responses(int n) {
    std::multiset<std::string> out;
    for (int i = 0; i < n; ++i) out.insert(Get(listen_));
    return out;
  }

  std::string dir_;
  std::map<std::string, int> ports_;
  int listen_ = 0;
  int dead_port_ = FreePort();
  std::vector<std::unique_ptr<supervisor::ChildSupervisor>> httpd_;
  std::unique_ptr<supervisor::ChildSupervisor> haproxy_;
  std::unique_ptr<HaproxyRuntimeClient> client_;
  std::unique_ptr<HaproxyApplier> applier_;
};

TEST_F(ApplierTest, EndpointChangesNeverReloadAndAReplicaNotListeningGetsNoTraffic) {
  const pid_t worker = Worker();
  // A new endpoint that does not listen yet: DOWN from the start, so no request fails.
  ApplyResult r = applier_->Apply(Model({"a", "dead"}), Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.reloaded);
  EXPECT_EQ(r.runtime_updates, 1);
  EXPECT_EQ(Responses(20).count(""), 0u);
  // A listening one gets traffic once its check passes.
  r = applier_->Apply(Model({"a", "dead", "b"}), Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_TRUE(WaitUntil([&] { return Responses(4).count("b\n") > 0; }, 5s));
  // "a" leaves: drained, then maint once idle.
  HaproxyModel without_a = Model({"b"});
  without_a.backends[0].servers[0].slot = 3;  // b keeps its slot
  r = applier_->Apply(without_a, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.runtime_updates, 2);  // slots 1 and 2 leave
  EXPECT_EQ(Responses(6), (std::multiset<std::string>{"b\n", "b\n", "b\n", "b\n", "b\n", "b\n"}));
  ASSERT_TRUE(WaitUntil([&] { return applier_->Tick(Clock::now()).count() == 0; }, 5s));
  auto stats = client_->ShowStat();
  ASSERT_TRUE(stats.ok());
  for (const ServerStat& s : stats.value()) {
    if (s.server == "s1" || s.server == "s2") {
      EXPECT_EQ(s.status, "MAINT") << s.server;
    }
  }
  EXPECT_EQ(Worker(), worker);
  // The file holds the current endpoints, so a restart or reload keeps them.
  EXPECT_NE(ReadFile(applier_->config_path()).find("  server s3 127.0.0.1:" + std::to_string(ports_["b"]) + "\n"),
            std::string::npos);
  EXPECT_EQ(ReadFile(applier_->config_path()).find("  server s1 "), std::string::npos);
}

// Server changes reach HAProxy before the file: a HAProxy that restarted (from whatever file it
// found) is reloaded from the current file at the next Apply, once, after the debounce.
TEST_F(ApplierTest, AfterARestartTheNextApplyReloadsFromTheCurrentFile) {
  ApplyResult r = applier_->Apply(Model({"a", "b"}), Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.reloaded);
  const pid_t worker = Worker();
  applier_->OnRestart();
  const auto t0 = Clock::now();
  r = applier_->Apply(Model({"a", "b"}), t0);
  EXPECT_TRUE(r.deferred);
  r = applier_->Apply(Model({"a", "b"}), t0 + 150ms);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.reloaded);
  EXPECT_NE(r.reload_reason.find("restarted"), std::string::npos) << r.reload_reason;
  EXPECT_NE(Worker(), worker);
  r = applier_->Apply(Model({"a", "b"}), Clock::now());  // once
  EXPECT_FALSE(r.reloaded);
  ASSERT_TRUE(WaitUntil([&] { return Responses(6).count("b\n") > 0; }, 5s));
}

// A server whose Pod passed the very check HAProxy runs (ServerSlot::probed) is UP as soon as it
// enters, without waiting for HAProxy's first check (here a whole minute away); one not probed
// waits for it.
TEST_F(ApplierTest, AProbedServerIsUpAtOnceAnUnprobedOneWaitsForItsCheck) {
  auto model = [&](bool b_probed) {
    HaproxyModel m = Model({"a", "b"});
    m.backends[0].settings.check.interval_ms = 60000;
    m.backends[0].servers[1].probed = b_probed;
    return m;
  };
  // The check interval is part of the backend's settings: a reload (once its debounce passed),
  // after which "a" is UP again.
  ApplyResult r;
  ASSERT_TRUE(WaitUntil([&] {
    r = applier_->Apply(model(false), Clock::now());
    return !r.deferred;
  }, 5s));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_TRUE(r.reloaded);
  ASSERT_TRUE(WaitUntil([&] { return applier_->Tick(Clock::now()).count() == 0 && Get(listen_) == "a\n"; }, 10s));
  auto status_of = [&](const std::string& server) {
    auto stats = client_->ShowStat();
    if (!stats.ok()) return std::string("?");
    for (const ServerStat& st : stats.value()) {
      if (st.backend == "default_web_80" && st.server == server) return st.status;
    }
    return std::string("none");
  };
  // b left out, then entered unprobed: DOWN, no traffic within the minute.
  HaproxyModel only_a = model(false);
  only_a.backends[0].servers.pop_back();
  ASSERT_TRUE(applier_->Apply(only_a, Clock::now()).status.ok());
  ASSERT_TRUE(WaitUntil([&] { return applier_->Tick(Clock::now()).count() == 0; }, 5s));
  ASSERT_TRUE(applier_->Apply(model(false), Clock::now()).status.ok());
  EXPECT_NE(status_of("s2").rfind("UP", 0), 0u) << status_of("s2");
  EXPECT_EQ(Responses(6).count("b\n"), 0u);
  // The same, probed: UP at once and served.
  ASSERT_TRUE(applier_->Apply(only_a, Clock::now()).status.ok());
  ASSERT_TRUE(WaitUntil([&] { return applier_->Tick(Clock::now()).count() == 0; }, 5s));
  r = applier_->Apply(model(true), Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.reloaded);
  EXPECT_EQ(status_of("s2").rfind("UP", 0), 0u) << status_of("s2");
  EXPECT_GT(Responses(6).count("b\n"), 0u);
}

// A Service whose selector switched: its only UP server leaves while the new one is not checked
// yet. The leaving one keeps serving (drained only once another server is UP, or when the drain
// timeout ends the wait), so the switch fails no request.
TEST_F(ApplierTest, TheLastUpServerLeavingServesUntilAnotherIsUp) {
  auto status = [&](const std::string& server) {
    auto stats = client_->ShowStat();
    for (const ServerStat& s : stats.ok() ? *stats : std::vector<ServerStat>{}) {
      if (s.backend == "default_web_80" && s.server == server) return s.status;
    }
    return std::string("?");
  };
  const pid_t worker = Worker();  // the master CLI answers
  // The replacement never answers its check: "a" serves on until the drain timeout (2 s).
  HaproxyModel to_dead = Model({});
  to_dead.backends[0].servers.push_back({2, "127.0.0.1", dead_port_, ServerState::kReady});
  const auto t0 = Clock::now();
  ApplyResult r = applier_->Apply(to_dead, t0);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.reloaded) << r.reload_reason;
  EXPECT_GT(r.retry_after.count(), 0);
  std::this_thread::sleep_for(300ms);  // several checks of s2 failed
  EXPECT_GT(applier_->Tick(t0 + 300ms).count(), 0);
  EXPECT_EQ(status("s1"), "UP");
  // Held UP, it is still leaving: the drain tracker must not release its Pod yet.
  EXPECT_EQ(applier_->leaving().count({"default_web_80", 1}), 1u);
  EXPECT_EQ(Responses(10).count("a\n"), 10u);
  applier_->Tick(t0 + 2100ms);  // the bound: drained (and, idle, in maint) although nothing replaces it
  EXPECT_TRUE(status("s1") == "DRAIN" || status("s1") == "MAINT") << status("s1");
  EXPECT_EQ(Get(listen_), "");

  // Back to "a" at slot 1 (the test's starting point), then to "b" at slot 3: "a" drains as soon
  // as "b" is UP, and no request fails meanwhile.
  r = applier_->Apply(Model({"a"}), Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_TRUE(WaitUntil([&] { return Get(listen_) == "a\n"; }, 5s));
  HaproxyModel to_b = Model({});
  to_b.backends[0].servers.push_back({3, "127.0.0.1", ports_["b"], ServerState::kReady});
  r = applier_->Apply(to_b, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  std::multiset<std::string> seen;
  ASSERT_TRUE(WaitUntil([&] {
    applier_->Tick(Clock::now());
    for (const std::string& body : Responses(5)) seen.insert(body);
    return status("s1") == "MAINT" || status("s1") == "DRAIN";
  }, 5s)) << status("s1") << " " << status("s3");
  EXPECT_EQ(seen.count(""), 0u) << "a request failed during the switch";
  EXPECT_EQ(Responses(6), (std::multiset<std::string>{"b\n", "b\n", "b\n", "b\n", "b\n", "b\n"}));
  EXPECT_EQ(Worker(), worker);
}

// A gone endpoint whose backend has no server meant to serve any more (a selector that matches
// nothing now) is not held: it drains at once, as Kubernetes stops routing to it.
TEST_F(ApplierTest, AGoneEndpointWithNoReplacementIsNotHeld) {
  ASSERT_EQ(Get(listen_), "a\n");
  ApplyResult r = applier_->Apply(Model({}), Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.reloaded);
  auto stats = client_->ShowStat();
  ASSERT_TRUE(stats.ok());
  for (const ServerStat& st : *stats) {
    if (st.backend == "default_web_80" && st.server == "s1") {
      EXPECT_TRUE(st.status == "DRAIN" || st.status == "MAINT") << st.status;
    }
  }
}

// An endpoint-only change rewrites the file without running `haproxy -c` (counted by a wrapper).
TEST_F(ApplierTest, EndpointOnlyChangesSkipTheConfigCheck) {
  const std::string wrapper = dir_ + "/haproxy-counting";
  std::ofstream(wrapper) << "#!/bin/sh\necho x >> " << dir_ << "/checks\nexec " << kHaproxy << " \"$@\"\n";
  std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
  ApplierOptions o;
  o.dir = dir_;
  o.haproxy_bin = wrapper;
  o.reload_debounce = 0ms;
  HaproxyApplier applier(o, client_.get());
  ApplyResult r = applier.Apply(Model({"a"}), Clock::now());  // nothing applied yet: a reload
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(ReadFile(dir_ + "/checks"), "x\n");
  r = applier.Apply(Model({"b"}), Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.reloaded);
  EXPECT_EQ(ReadFile(dir_ + "/checks"), "x\n");
  EXPECT_NE(ReadFile(applier.config_path()).find("127.0.0.1:" + std::to_string(ports_["b"])), std::string::npos);
  ASSERT_TRUE(WaitUntil([&] { return Get(listen_) == "b\n"; }, 5s));
}

TEST_F(ApplierTest, StructuralChangesReloadOnceAndARefusedConfigKeepsTheLastGood) {
  const pid_t worker = Worker();
  HaproxyModel m = Model({"a"});
  const int second = FreePort();
  m.listeners.push_back({"default_web_80_other", "Service default/web", "127.0.0.1", second, true, "default_web_80", {}});
  ApplyResult r = applier_->Apply(m, Clock::now());
  EXPECT_GT(r.retry_after.count(), 0);  // debounced
  EXPECT_TRUE(r.deferred);
  EXPECT_FALSE(r.reloaded);
  std::this_thread::sleep_for(110ms);
  r = applier_->Apply(m, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.reloaded);
  EXPECT_FALSE(r.deferred);
  EXPECT_EQ(r.reload_reason, "listeners changed");
  EXPECT_NE(Worker(), worker);
  EXPECT_EQ(Get(second), "a\n");

  const std::string good = ReadFile(applier_->config_path());
  const pid_t reloaded = Worker();
  HaproxyModel bad = m;
  bad.global.defaults_snippet = "no-such-keyword 1";
  r = applier_->Apply(bad, Clock::now());
  std::this_thread::sleep_for(110ms);
  r = applier_->Apply(bad, Clock::now());
  EXPECT_EQ(r.status.code(), Code::kInvalid) << r.status.ToString();
  EXPECT_NE(r.status.message().find("unknown keyword 'no-such-keyword'"), std::string::npos) << r.status.message();
  EXPECT_EQ(r.blamed, std::set<std::string>{"ConfigMap defaults-snippet"});
  EXPECT_EQ(ReadFile(applier_->config_path()), good);
  EXPECT_EQ(Worker(), reloaded);
  EXPECT_EQ(Get(second), "a\n");
  EXPECT_EQ(applier_->applied(), m);

  // An endpoint-only change after the refusal ends the wish to reload: the next structural change
  // is debounced again rather than reloading at once.
  HaproxyModel moved = m;
  moved.backends[0].servers[0].port = ports_["b"];
  r = applier_->Apply(moved, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.reloaded);
  HaproxyModel third = moved;
  third.listeners.push_back({"default_web_80_third", "Service default/web", "127.0.0.1", FreePort(), true,
                             "default_web_80", {}});
  r = applier_->Apply(third, Clock::now());
  EXPECT_FALSE(r.reloaded);
  EXPECT_GT(r.retry_after.count(), 0);
}

// Certificate files go under names by content: a refused certificate never replaces one the running
// config reads (a restart from the last good haproxy.cfg still loads), HAProxy's complaint about
// it is blamed on its Secret, and files no running config reads are removed after a reload.
TEST_F(ApplierTest, CertificatesAreNeverRewrittenAndAnUnloadableOneIsBlamedOnItsSecret) {
  const auto pair = SelfSigned("shop.example.com");
  const auto renewed_pair = SelfSigned("shop.example.com");
  if (!pair || !renewed_pair) GTEST_SKIP() << "the openssl tool cannot make a certificate";
  ApplierOptions o;
  o.dir = dir_;
  o.reload_debounce = 0ms;
  o.log_path = dir_ + "/haproxy.log";
  o.render.ingress_address = "127.0.0.1";
  o.render.ingress_http_port = FreePort();
  o.render.ingress_https_port = FreePort();
  HaproxyApplier applier(o, client_.get());
  HaproxyModel m = Model({"a"});
  m.ingress.default_backend = "default_web_80";
  m.ingress.default_source = "Ingress default/shop";
  m.ingress.certificates.push_back(
      {"default_shop-tls.pem", pair->first + pair->second, {"shop.example.com"}, "Secret default/shop-tls"});
  auto files = [&] {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/certs")) out[e.path().string()] = ReadFile(e.path());
    return out;
  };
  ApplyResult r = applier.Apply(m, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_TRUE(r.reloaded);
  ASSERT_TRUE(WaitUntil([&] { return Get(o.render.ingress_http_port) == "a\n"; }, 5s));
  const auto good_files = files();
  EXPECT_EQ(good_files.size(), 2u);  // the certificate and the crt-list
  const std::string good = ReadFile(applier.config_path());

  HaproxyModel bad = m;
  bad.ingress.certificates[0].pem = "garbage\n";
  r = applier.Apply(bad, Clock::now());
  EXPECT_EQ(r.status.code(), Code::kInvalid) << r.status.ToString();
  EXPECT_EQ(r.blamed, std::set<std::string>{"Secret default/shop-tls"}) << r.status.message();
  EXPECT_EQ(ReadFile(applier.config_path()), good);
  for (const auto& [path, content] : good_files) EXPECT_EQ(ReadFile(path), content) << path;
  auto check = CheckHaproxyConfig(kHaproxy, applier.config_path());  // what a restart would load
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->valid) << check->output;

  HaproxyModel renewed = m;
  renewed.ingress.certificates[0].pem = renewed_pair->first + renewed_pair->second;
  r = applier.Apply(renewed, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.reloaded);
  const auto now_files = files();
  EXPECT_EQ(now_files.size(), 2u);  // the old pair and the refused one are gone
  for (const auto& [path, content] : now_files) {
    EXPECT_EQ(good_files.count(path), 0u) << path;
    // Each is read: the crt-list by the config, the certificate by the crt-list.
    bool read = ReadFile(applier.config_path()).find(path) != std::string::npos;
    for (const auto& [other, text] : now_files) read = read || text.find(path) != std::string::npos;
    EXPECT_TRUE(read) << path;
  }
}

// A reload HAProxy refuses because another process holds a port: the old config keeps serving,
// the listener's object is blamed (from the master's log), and the same change without it goes
// through at once.
TEST_F(ApplierTest, AFailedReloadBlamesTheListenerWhosePortIsTaken) {
  const pid_t worker = Worker();
  HaproxyModel m = Model({"a"});
  m.listeners.push_back({"default_taken_80_service", "Service default/taken", "127.0.0.1", ports_["b"], true,
                         "default_web_80", {}});
  ApplyResult r = applier_->Apply(m, Clock::now());
  std::this_thread::sleep_for(110ms);
  r = applier_->Apply(m, Clock::now());
  EXPECT_EQ(r.status.code(), Code::kInvalid) << r.status.ToString();
  EXPECT_NE(r.status.message().find("cannot bind socket"), std::string::npos) << r.status.message();
  EXPECT_EQ(r.blamed, std::set<std::string>{"Service default/taken"});
  EXPECT_TRUE(r.reload_failed);
  EXPECT_EQ(Worker(), worker);
  EXPECT_EQ(ReadFile(applier_->config_path()).find("default_taken"), std::string::npos);
  EXPECT_EQ(Get(listen_), "a\n");
  // Without the blamed listener (another new one instead) the reload is not debounced again.
  m.listeners.back() = {"default_other_80_service", "Service default/other", "127.0.0.1", FreePort(), true,
                        "default_web_80", {}};
  r = applier_->Apply(m, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.reloaded);
}

// The "new Service under keep-alive load": one reload, and a keep-alive client that keeps
// sending through it sees no failed request. (cpp-httplib checks an idle connection before reusing
// it, so this passes without option idle-close-on-response too; the option is for clients that
// do not, which this test does not stand in for.)
TEST_F(ApplierTest, AReloadUnderKeepAliveLoadFailsNoRequest) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    httplib::Client c("127.0.0.1", listen_);
    c.set_keep_alive(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(2);
    const auto end = std::chrono::steady_clock::now() + 10s;  // bounded however the test goes
    while (!stop && std::chrono::steady_clock::now() < end) {
      auto r = c.Get("/");
      (r && r->status == 200 ? ok : failed)++;
      std::this_thread::sleep_for(5ms);
    }
  });
  WaitUntil([&] { return ok.load() >= 20; }, 5s);
  const pid_t worker = Worker();
  HaproxyModel m = Model({"a"});
  m.listeners.push_back({"default_web_80_other", "Service default/web", "127.0.0.1", FreePort(), true,
                         "default_web_80", {}});
  ApplyResult r = applier_->Apply(m, Clock::now());
  std::this_thread::sleep_for(110ms);
  r = applier_->Apply(m, Clock::now());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.reloaded);
  const int at_reload = ok.load();
  WaitUntil([&] { return ok.load() >= at_reload + 50; }, 5s);
  stop = true;
  load.join();
  EXPECT_NE(Worker(), worker);
  EXPECT_GE(ok.load(), at_reload + 50);
  EXPECT_EQ(failed.load(), 0) << ok.load() << " succeeded";
}

}  // namespace
}  // namespace capstan::controller::haproxy

namespace capstan::controller::haproxy {
namespace {

// The termination order against a real HAProxy: a terminating server is drained once another
// one is UP, then put in maint once idle (drain_tracker.h), through the runtime API only.
TEST_F(ApplierTest, ATerminatingServerIsDrainedThenPutInMaintWithoutAReload) {
  ASSERT_TRUE(applier_->Apply(Model({"a", "b"}), Clock::now()).status.ok());
  ASSERT_TRUE(WaitUntil([&] { return Responses(4).count("b\n") > 0; }, 5s));
  const pid_t worker = Worker();
  DrainTracker tracker(5s);
  auto pass = [&] {  // one reconcile: stats, decisions, apply
    HaproxyModel desired = Model({"a", "b"});
    desired.backends[0].servers[0].state = ServerState::kDrain;  // "a" terminates
    auto stats = client_->ShowStat();
    tracker.Adjust(&desired, applier_->applied(), stats.ok() ? &*stats : nullptr, Clock::now());
    ApplyResult r = applier_->Apply(desired, Clock::now());
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_FALSE(r.reloaded);
    return desired.backends[0].servers[0].state;
  };
  EXPECT_EQ(pass(), ServerState::kDrain);  // "b" is UP: no hold
  EXPECT_EQ(Responses(6), (std::multiset<std::string>{"b\n", "b\n", "b\n", "b\n", "b\n", "b\n"}));
  EXPECT_EQ(pass(), ServerState::kDrained);  // in effect and idle
  auto stats = client_->ShowStat();
  ASSERT_TRUE(stats.ok());
  for (const ServerStat& s : stats.value()) {
    if (s.server == "s1") {
      EXPECT_EQ(s.status, "MAINT");
    }
  }
  EXPECT_EQ(Worker(), worker);
  EXPECT_NE(ReadFile(applier_->config_path()).find("  server s1 127.0.0.1:" + std::to_string(ports_["a"]) + " disabled\n"),
            std::string::npos);
}

}  // namespace
}  // namespace capstan::controller::haproxy
