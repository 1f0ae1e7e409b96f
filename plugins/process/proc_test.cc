#include "plugins/process/proc.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "plugins/process/spawn.h"
#include "plugins/process/test_processes.h"

namespace capstan::plugins::process {
namespace {

using Clock = std::chrono::steady_clock;

// Every process the unit tests start carries UnitTestMarker() in its environment: none may outlive
// the tests (under CTest each test runs alone, so this checks each test).
class NoProcessLeft : public ::testing::Environment {
 public:
  void TearDown() override {
    for (pid_t pid : AwaitNoProcessWithEnv(UnitTestMarker())) {
      ADD_FAILURE() << "process " << pid << " started by a test is still running";
      ::kill(pid, SIGKILL);
    }
  }
};
[[maybe_unused]] ::testing::Environment* const kNoProcessLeft = ::testing::AddGlobalTestEnvironment(new NoProcessLeft);

TEST(ProcessProcStat, ParsesFieldsAfterTheCommandName) {
  const std::string text =
      "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345678 100 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  std::optional<ProcStat> st = ParseProcStat(text);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->pgrp, 4242);
  EXPECT_EQ(st->session, 4242);
  EXPECT_EQ(st->start_ticks, 987654u);
  EXPECT_FALSE(ParseProcStat("4242 (cmd) S 1 2").has_value());
  EXPECT_FALSE(ParseProcStat("garbage").has_value());
}

TEST(ProcessProcStat, ReadsItself) {
  std::optional<ProcStat> st = ReadProcStat(::getpid());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->ppid, ::getppid());
  EXPECT_GT(st->start_ticks, 0u);
  EXPECT_FALSE(ReadBootId().empty());
}

TEST(ProcessExitStatus, Described) {
  ExitInfo ok = DescribeWaitStatus(0);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.reason, "Completed");
  ExitInfo three = DescribeWaitStatus(3 << 8);
  EXPECT_EQ(three.exit_code, 3);
  EXPECT_EQ(three.reason, "Error");
  ExitInfo killed = DescribeWaitStatus(SIGKILL);
  EXPECT_EQ(killed.exit_code, 137);
  EXPECT_EQ(killed.reason, "Error");
  EXPECT_NE(killed.message.find("SIGKILL"), std::string::npos) << killed.message;
}

pid_t SpawnSleep(const char* seconds) {
  Spawned s = Spawn({"/bin/sleep", {"sleep", seconds}, {"PATH=/bin", UnitTestMarker()}, "/", -1, -1});
  EXPECT_GT(s.pid, 0) << s.error;
  return s.pid;
}

// Waits until `pid` is a zombie (it exited and nobody reaped it yet), up to 10 s.
bool AwaitZombie(pid_t pid) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    std::optional<ProcStat> st = ReadProcStat(pid);
    if (!st || st->state == 'Z') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // no event exists for "became a zombie"
  }
  return false;
}

TEST(ProcessProbe, RunningThenExitedWithItsStatus) {
  const pid_t pid = SpawnSleep("30");
  ASSERT_GT(pid, 0);
  const uint64_t ticks = ReadProcStat(pid)->start_ticks;
  std::optional<ProcStat> st = ReadProcStat(pid);
  EXPECT_EQ(st->pgrp, pid) << "a spawned process leads its own group";
  EXPECT_EQ(st->session, pid) << "and its own session";
  EXPECT_EQ(ProbeProcess(pid, ticks).liveness, Liveness::kRunning);

  // A wrong start time: the pid is not taken for ours; nothing is signalled or reaped.
  EXPECT_EQ(SignalGroup(pid, ticks + 1, SIGKILL), EPERM);
  EXPECT_EQ(ProbeProcess(pid, ticks + 1).liveness, Liveness::kGone);
  EXPECT_EQ(ProbeProcess(pid, ticks).liveness, Liveness::kRunning) << "still alive after the refused signal";

  EXPECT_EQ(SignalGroup(pid, ticks, SIGKILL), 0);
  ASSERT_TRUE(AwaitZombie(pid));
  ProbeResult r = ProbeProcess(pid, ticks);
  EXPECT_EQ(r.liveness, Liveness::kExited);
  EXPECT_TRUE(WIFSIGNALED(r.wait_status) && WTERMSIG(r.wait_status) == SIGKILL);
  // Reaped now; the status is remembered for the other instances that ask.
  EXPECT_EQ(ReadProcStat(pid), std::nullopt);
  EXPECT_EQ(ProbeProcess(pid, ticks).liveness, Liveness::kExited);
  ForgetProcess(pid, ticks);
  EXPECT_EQ(ProbeProcess(pid, ticks).liveness, Liveness::kGone);
  EXPECT_EQ(SignalGroup(pid, ticks, 0), ESRCH) << "the group is empty";
}

TEST(ProcessProbe, NotOurChildIsWatchedByStartTime) {
  // Our parent is alive and not our child: running, never reaped.
  const pid_t parent = ::getppid();
  std::optional<ProcStat> st = ReadProcStat(parent);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(ProbeProcess(parent, st->start_ticks).liveness, Liveness::kRunning);
  EXPECT_EQ(ProbeProcess(parent, st->start_ticks + 7).liveness, Liveness::kGone);
}

TEST(ProcessSpawn, ResetsSignalsAndReportsExecErrors) {
  // A host that ignores SIGTERM must not pass that on: the child dies of it.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGTERM, &ignore, &old), 0);
  const pid_t pid = SpawnSleep("30");
  ASSERT_EQ(::sigaction(SIGTERM, &old, nullptr), 0);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

  Spawned bad = Spawn({"/nonexistent/prog", {"prog"}, {}, "/", -1, -1});
  EXPECT_EQ(bad.pid, -1);
  EXPECT_EQ(bad.error, ENOENT);
  Spawned bad_dir = Spawn({"/bin/true", {"true"}, {}, "/nonexistent-dir", -1, -1});
  EXPECT_EQ(bad_dir.pid, -1);
  EXPECT_NE(bad_dir.error, 0);
}

}  // namespace
}  // namespace capstan::plugins::process
