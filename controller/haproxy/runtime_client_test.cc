#include "controller/haproxy/runtime_client.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "controller/haproxy/haproxy_test_util.h"
#include "controller/haproxy/renderer.h"

namespace capstan::controller::haproxy {
namespace {

using namespace std::chrono_literals;
using namespace testing;

TEST(ShowProcTest, ParsesMasterWorkersAndOldWorkers) {
  auto p = ParseShowProc(
      "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
      "18889           master          4 [failed: 1]   0d00h11m13s     2.6.12-1+deb12u4\n"
      "# workers\n"
      "31097           worker          1               0d00h00m08s     2.6.12-1+deb12u4\n"
      "# old workers\n"
      "30643           worker          2               0d00h00m40s     2.6.12-1+deb12u4\n"
      "# programs\n\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->master_pid, 18889);
  EXPECT_EQ(p->reloads, 4);
  EXPECT_EQ(p->failed_reloads, 1);
  EXPECT_EQ(p->workers, std::vector<pid_t>{31097});
  EXPECT_EQ(p->old_workers, std::vector<pid_t>{30643});
  EXPECT_FALSE(ParseShowProc("").ok());
  EXPECT_FALSE(ParseShowProc("Unknown command\n").ok());
}

TEST(ShowStatTest, ParsesServerRowsByHeaderNames) {
  auto s = ParseShowStat(
      "# pxname,svname,scur,status,weight,check_status,addr,check_code,last_chk,lastchg,\n"
      "f,FRONTEND,3,OPEN,,,,,,,\n"
      "b,s1,2,UP,1,L7OK,127.0.0.1:20001,200,HTTP status check returned code <3C>200<3E>,12,\n"
      "b,s2,0,MAINT,1,,0.0.0.0:0,,,,\n"
      "b,s3,0,UP,1,* L7OK,127.0.0.1:20003,,,1,\n"
      "b,BACKEND,2,UP,1,,,,,,\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[2].check_status, "L7OK");  // "* ": a check is running; the last result follows
  EXPECT_EQ((*s)[0].backend, "b");
  EXPECT_EQ((*s)[0].server, "s1");
  EXPECT_EQ((*s)[0].current_sessions, 2);
  EXPECT_EQ((*s)[0].status, "UP");
  EXPECT_EQ((*s)[0].check_status, "L7OK");
  EXPECT_EQ((*s)[0].address, "127.0.0.1:20001");
  EXPECT_EQ((*s)[0].check_code, 200);
  EXPECT_EQ((*s)[0].last_check, "HTTP status check returned code <3C>200<3E>");
  EXPECT_EQ((*s)[0].last_change_seconds, 12);
  EXPECT_EQ((*s)[1].status, "MAINT");
  EXPECT_EQ((*s)[1].check_code, 0);
  EXPECT_EQ((*s)[1].last_change_seconds, -1);
  EXPECT_FALSE(ParseShowStat("b,s1,2\n").ok());
}

TEST(ServerAnswersTest, AcknowledgementsPassAndAnythingElseIsNamed) {
  // The concatenated answers of "state maint; addr; state ready": empty answers, an addr ack.
  EXPECT_TRUE(CheckServerAnswers("c", "\nIP changed from '0.0.0.0' to '127.0.0.1', port changed from '+0' to '80' by "
                                      "'stats socket command'\n\n\n").ok());
  EXPECT_TRUE(CheckServerAnswers("c", "no need to change the addr, port changed from '1' to '2'\n\n").ok());
  EXPECT_TRUE(CheckServerAnswers("c", "").ok());
  Status st = CheckServerAnswers("set server b/s9 state ready", "\nNo such server.\n\n\n");
  EXPECT_EQ(st.code(), Code::kInvalid);
  EXPECT_NE(st.message().find("No such server."), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("b/s9"), std::string::npos) << st.message();
}

// A real HAProxy: one HTTP backend of 8 slots, s1 filled; the runtime API fills s2 without a
// reload, a reload gets a new worker, a reload of a config that cannot bind keeps the old one.
class RuntimeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTools()) GTEST_SKIP() << "haproxy or busybox is not installed";
    dir_ = MakeTempDir("capstan-haproxy-rt");
    port_a_ = FreePort();
    port_b_ = FreePort();
    listen_ = FreePort();
    a_ = StartHttpd(dir_, "a", port_a_);
    b_ = StartHttpd(dir_, "b", port_b_);
    ASSERT_TRUE(a_ && b_);
    WriteConfig(Model());
    supervisor::ChildSpec spec;
    spec.name = "haproxy";
    spec.argv = {kHaproxy, "-W", "-S", dir_ + "/master.sock,mode,600", "-f", dir_ + "/haproxy.cfg"};
    spec.log_path = dir_ + "/haproxy.log";
    auto started = supervisor::ChildSupervisor::Start(spec);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    haproxy_ = std::move(started).value();
    client_ = std::make_unique<HaproxyRuntimeClient>(dir_ + "/master.sock");
    ASSERT_TRUE(WaitUntil([&] { auto p = client_->ShowProc(); return p.ok() && p->workers.size() == 1; }, 10s))
        << ReadLog();
  }
  void TearDown() override {
    if (haproxy_) haproxy_->Stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  HaproxyModel Model() const {
    HaproxyModel m;
    Backend b;
    b.name = "default_web_80";
    b.http = true;
    b.settings.check.http = true;
    b.settings.check.interval_ms = 200;
    b.settings.check.rise = 1;
    b.servers = {{1, "127.0.0.1", port_a_, ServerState::kReady}};
    m.backends.push_back(b);
    m.listeners.push_back({"default_web_80_service", "", "127.0.0.1", listen_, true, b.name, {}});
    return m;
  }
  void WriteConfig(const HaproxyModel& m) {
    RenderOptions o;
    o.stats_socket = dir_ + "/stats.sock";
    std::ofstream(dir_ + "/haproxy.cfg") << RenderHaproxyConfig(m, o).text;
  }
  std::string ReadLog() const {
    std::ifstream in(dir_ + "/haproxy.log");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  ServerStat Stat(const std::string& server) const {
    auto s = client_->ShowStat();
    if (s.ok()) {
      for (const ServerStat& st : *s) {
        if (st.server == server) return st;
      }
    }
    return {};
  }
  std::set<std::string> Responders(int n) const {
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) seen.insert(Get(listen_));
    return seen;
  }

  std::string dir_;
  int port_a_ = 0, port_b_ = 0, listen_ = 0;
  std::unique_ptr<supervisor::ChildSupervisor> a_, b_, haproxy_;
  std::unique_ptr<HaproxyRuntimeClient> client_;
};

TEST_F(RuntimeClientTest, ServersMoveThroughTheRuntimeApiWithoutAReload) {
  const pid_t worker = client_->ShowProc()->workers.at(0);
  ASSERT_TRUE(WaitUntil([&] { return Stat("s1").status == "UP"; }, 5s)) << Stat("s1").status;
  EXPECT_EQ(Stat("s2").status, "MAINT");
  EXPECT_EQ(Responders(4), std::set<std::string>{"a\n"});
  // One backend's servers only (describe service); an unknown backend has none.
  auto one = client_->ShowServerStats("default_web_80");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_EQ(one->size(), 8u);  // the slots
  EXPECT_EQ((*one)[0].server, "s1");
  EXPECT_EQ((*one)[0].check_code, 200);
  EXPECT_GE((*one)[0].last_change_seconds, 0);
  auto none = client_->ShowServerStats("default_nosuch_80");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());

  // The entry sequence: address, drain (leaving MAINT for ready would make it UP at once),
  // health down, ready: DOWN until its first check passes, then UP by HAProxy's own doing.
  ASSERT_TRUE(client_->SetServerAddr("default_web_80", "s2", "127.0.0.1", port_b_).ok());
  ASSERT_TRUE(client_->SetServerState("default_web_80", "s2", AdminState::kDrain).ok());
  ASSERT_TRUE(client_->SetServerHealth("default_web_80", "s2", Health::kDown).ok());
  ASSERT_TRUE(client_->SetServerState("default_web_80", "s2", AdminState::kReady).ok());
  ASSERT_TRUE(WaitUntil([&] { return Stat("s2").status == "UP"; }, 5s)) << Stat("s2").status;
  EXPECT_EQ(Stat("s2").address, "127.0.0.1:" + std::to_string(port_b_));
  EXPECT_EQ(Responders(6), (std::set<std::string>{"a\n", "b\n"}));

  ASSERT_TRUE(client_->SetServerState("default_web_80", "s2", AdminState::kDrain).ok());
  EXPECT_EQ(Stat("s2").status, "DRAIN");
  EXPECT_EQ(Responders(4), std::set<std::string>{"a\n"});
  ASSERT_TRUE(client_->SetServerState("default_web_80", "s2", AdminState::kMaint).ok());
  EXPECT_EQ(Stat("s2").status, "MAINT");
  ASSERT_TRUE(client_->SetWeight("default_web_80", "s1", 50).ok());
  EXPECT_EQ(Stat("s1").weight, 50);

  Status st = client_->SetServerState("default_web_80", "s99", AdminState::kReady);
  EXPECT_EQ(st.code(), Code::kInvalid) << st.ToString();
  st = client_->SetServerAddr("nope", "s1", "127.0.0.1", 1);
  EXPECT_EQ(st.code(), Code::kInvalid) << st.ToString();
  EXPECT_EQ(client_->ShowProc()->workers, std::vector<pid_t>{worker});  // never reloaded
}

// One connection for several commands: straight to the worker's stats socket when the pid given
// is the one that answers there, through the master otherwise (a stale pid after a reload), with
// the same effect either way.
TEST_F(RuntimeClientTest, ServerCommandsGoStraightToTheWorkerOrThroughTheMaster) {
  const HaproxyRuntimeClient both(dir_ + "/master.sock", 5s, dir_ + "/stats.sock");
  const pid_t worker = client_->ShowProc()->workers.at(0);
  const std::string b = "default_web_80";
  bool direct = false;
  Status st = both.ServerCommands({ServerAddrCommand(b, "s2", "127.0.0.1", port_b_),
                                   ServerStateCommand(b, "s2", AdminState::kReady)},
                                  worker, &direct);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(direct);
  EXPECT_EQ(Stat("s2").address, "127.0.0.1:" + std::to_string(port_b_));
  EXPECT_NE(Stat("s2").status, "MAINT");

  st = both.ServerCommands({ServerStateCommand(b, "s2", AdminState::kMaint)}, worker + 100000, &direct);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(direct);  // not that worker: sent again through the master
  EXPECT_EQ(Stat("s2").status, "MAINT");

  st = both.ServerCommands({ServerStateCommand(b, "s2", AdminState::kDrain)}, 0, &direct);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(direct);
  EXPECT_EQ(Stat("s2").status.rfind("DRAIN", 0), 0u) << Stat("s2").status;  // "DRAIN 1/3" while checks rise

  // `show stat` the same way: the same rows either way.
  auto straight = both.ShowStat(worker, &direct);
  ASSERT_TRUE(straight.ok()) << straight.status().ToString();
  EXPECT_TRUE(direct);
  auto via_master = both.ShowStat(worker + 100000, &direct);
  ASSERT_TRUE(via_master.ok()) << via_master.status().ToString();
  EXPECT_FALSE(direct);
  auto servers = [](const std::vector<ServerStat>& rows) {
    std::vector<std::string> out;
    for (const ServerStat& r : rows) out.push_back(r.backend + "/" + r.server + " " + r.address + " " + r.status.substr(0, 5));
    return out;
  };
  EXPECT_EQ(servers(*straight), servers(*via_master));
  EXPECT_GE(straight->size(), 2u);

  // A bad command among good ones fails the batch, naming it; the others ran.
  st = both.ServerCommands({ServerStateCommand(b, "s99", AdminState::kReady), ServerStateCommand(b, "s2", AdminState::kMaint)},
                           worker, &direct);
  EXPECT_EQ(st.code(), Code::kInvalid) << st.ToString();
  EXPECT_EQ(Stat("s2").status, "MAINT");

  // After a reload the old pid no longer answers on the stats socket (once the old worker has
  // gone: it has no sessions here).
  auto reloaded = client_->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString() << ReadLog();
  ASSERT_TRUE(WaitUntil([&] { auto p = client_->ShowProc(); return p.ok() && p->old_workers.empty(); }, 10s));
  st = both.ServerCommands({ServerStateCommand(b, "s1", AdminState::kDrain)}, worker, &direct);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(direct);
  EXPECT_EQ(Stat("s1").status.rfind("DRAIN", 0), 0u) << Stat("s1").status;
  st = both.ServerCommands({ServerStateCommand(b, "s1", AdminState::kReady)}, *reloaded, &direct);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(direct);
}

TEST_F(RuntimeClientTest, ReloadConfirmsANewWorkerAndReportsAFailedOne) {
  const ProcInfo before = *client_->ShowProc();
  HaproxyModel m = Model();
  m.backends[0].servers.push_back({2, "127.0.0.1", port_b_, ServerState::kReady});
  WriteConfig(m);
  auto reloaded = client_->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString() << ReadLog();
  EXPECT_NE(*reloaded, before.workers.at(0));
  EXPECT_EQ(client_->ShowProc()->master_pid, before.master_pid);
  ASSERT_TRUE(WaitUntil([&] { return Responders(6).size() == 2; }, 5s));

  // A config that passes `haproxy -c` but cannot bind (busybox holds the port): HAProxy keeps
  // the worker it has, and the failure is reported.
  m.listeners.push_back({"taken", "", "127.0.0.1", port_a_, true, m.backends[0].name, {}});
  WriteConfig(m);
  auto failed = client_->Reload();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kInvalid) << failed.status().ToString();
  EXPECT_EQ(client_->ShowProc()->workers, std::vector<pid_t>{*reloaded});
  EXPECT_FALSE(Responders(2).count(""));  // still serving
}

}  // namespace
}  // namespace capstan::controller::haproxy
