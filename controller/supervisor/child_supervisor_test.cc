#include "controller/supervisor/child_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace capstan::supervisor {
namespace {

using namespace std::chrono_literals;

std::string TempDir() {
  char tmpl[] = "/tmp/capstan-supervisor-XXXXXX";
  return ::mkdtemp(tmpl);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(ChildSupervisorTest, RunsTheChildWithEnvAndLogAndStopsIt) {
  const std::string dir = TempDir();
  ChildSpec spec;
  spec.name = "sh";
  spec.argv = {"/bin/sh", "-c", "echo \"hello $GREETING from $(pwd)\"; echo oops >&2; exec sleep 30"};
  spec.env = {{"GREETING", "world"}};
  spec.log_path = dir + "/child.log";
  spec.working_dir = dir;
  auto started = ChildSupervisor::Start(spec);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  auto& sup = *started;
  const pid_t pid = sup->pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(Alive(pid));
  for (int i = 0; i < 50 && Slurp(spec.log_path).find("oops") == std::string::npos; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Slurp(spec.log_path), "hello world from " + dir + "\noops\n");
  sup->Stop();
  EXPECT_EQ(sup->pid(), -1);
  EXPECT_FALSE(Alive(pid));  // reaped, so not even a zombie
  EXPECT_TRUE(WIFSIGNALED(sup->Stats().last_exit_status));
  EXPECT_TRUE(sup->Stats().stopped);
}

TEST(ChildSupervisorTest, MissingProgramIsNotFound) {
  ChildSpec spec;
  spec.name = "nothing";
  spec.argv = {"/nonexistent/program"};
  auto started = ChildSupervisor::Start(spec);
  ASSERT_FALSE(started.ok());
  EXPECT_TRUE(started.status().IsNotFound()) << started.status().ToString();
  EXPECT_NE(started.status().message().find("/nonexistent/program"), std::string::npos);
  spec.argv = {};
  EXPECT_EQ(ChildSupervisor::Start(spec).status().code(), Code::kInvalid);
}

TEST(ChildSupervisorTest, FindsProgramsInPath) {
  ChildSpec spec;
  spec.name = "sleep";
  spec.argv = {"sleep", "30"};
  auto started = ChildSupervisor::Start(spec);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_GT((*started)->pid(), 0);
}

TEST(ChildSupervisorTest, RestartsAChildKilledFromOutsideAndCallsBack) {
  std::atomic<int> starts{0}, exits{0};
  ChildSpec spec;
  spec.name = "sleep";
  spec.argv = {"/bin/sleep", "30"};
  spec.initial_backoff = 10ms;
  spec.on_start = [&](pid_t, int restarts) { EXPECT_EQ(restarts, starts.fetch_add(1)); };
  spec.on_exit = [&](pid_t, int status) {
    EXPECT_TRUE(WIFSIGNALED(status));
    exits.fetch_add(1);
  };
  auto started = ChildSupervisor::Start(spec);
  ASSERT_TRUE(started.ok());
  auto& sup = *started;
  const pid_t first = sup->pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  const pid_t second = sup->WaitForChild(first, 5s);
  ASSERT_GT(second, 0);
  EXPECT_NE(second, first);
  EXPECT_TRUE(Alive(second));
  EXPECT_EQ(sup->Stats().restarts, 1);
  for (int i = 0; i < 100 && starts.load() < 2; ++i) std::this_thread::sleep_for(10ms);  // on_start runs after
  EXPECT_EQ(starts.load(), 2);
  EXPECT_EQ(exits.load(), 1);
}

TEST(ChildSupervisorTest, BacksOffExponentiallyForAChildThatKeepsFailing) {
  std::vector<std::chrono::steady_clock::time_point> starts;
  std::mutex mu;
  ChildSpec spec;
  spec.name = "fail";
  spec.argv = {"/bin/sh", "-c", "exit 1"};
  spec.initial_backoff = 50ms;
  spec.max_backoff = 200ms;
  spec.on_start = [&](pid_t, int) {
    std::lock_guard<std::mutex> lock(mu);
    starts.push_back(std::chrono::steady_clock::now());
  };
  std::vector<int> exit_codes;  // of the exits the supervisor restarts after (not Stop()'s)
  spec.on_exit = [&](pid_t, int status) {
    std::lock_guard<std::mutex> lock(mu);
    exit_codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  };
  auto started = ChildSupervisor::Start(spec);
  ASSERT_TRUE(started.ok());
  // Starts at about 0, 50, 150, 350, 550 ms: five within a second, gaps growing then capped.
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (starts.size() >= 5) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  (*started)->Stop();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(starts.size(), 5u);
  auto gap = [&](size_t i) { return starts[i + 1] - starts[i]; };
  EXPECT_GE(gap(0), 45ms);
  EXPECT_GE(gap(1), 95ms);
  EXPECT_GE(gap(2), 195ms);
  EXPECT_GE(gap(3), 195ms);
  EXPECT_LT(gap(3), 1000ms);  // capped at max_backoff (plus scheduling)
  ASSERT_GE(exit_codes.size(), 4u);
  for (int code : exit_codes) EXPECT_EQ(code, 1);
}

TEST(ChildSupervisorTest, KillsAChildThatIgnoresTheStopSignal) {
  ChildSpec spec;
  spec.name = "stubborn";
  spec.argv = {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"};
  const std::string dir = TempDir();
  spec.log_path = dir + "/log";
  spec.stop_timeout = 300ms;
  auto started = ChildSupervisor::Start(spec);
  ASSERT_TRUE(started.ok());
  for (int i = 0; i < 100 && Slurp(spec.log_path).empty(); ++i) std::this_thread::sleep_for(20ms);
  const auto t0 = std::chrono::steady_clock::now();
  (*started)->Stop();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(WTERMSIG((*started)->Stats().last_exit_status), SIGKILL);
}

TEST(ChildSupervisorTest, ChildDoesNotInheritBlockedSignals) {
  // The server blocks SIGTERM in every thread; the child must still die of it.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old);
  ChildSpec spec;
  spec.name = "sleep";
  spec.argv = {"/bin/sleep", "30"};
  spec.stop_timeout = 5s;
  auto started = ChildSupervisor::Start(spec);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(started.ok());
  const auto t0 = std::chrono::steady_clock::now();
  (*started)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
  EXPECT_EQ(WTERMSIG((*started)->Stats().last_exit_status), SIGTERM);
}

}  // namespace
}  // namespace capstan::supervisor
