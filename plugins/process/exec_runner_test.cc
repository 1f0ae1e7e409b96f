#include "plugins/process/exec_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>

#include "plugins/process/proc.h"
#include "plugins/process/test_processes.h"

namespace capstan::plugins::process {
namespace {

using Clock = std::chrono::steady_clock;

SpawnSpec Sh(const std::string& script) {
  return {"/bin/sh", {"sh", "-c", script}, {"PATH=/bin:/usr/bin", UnitTestMarker()}, "/", -1, -1};
}

TEST(ProcessExecRunner, CapturesBothStreamsAndTheExitCode) {
  sdk::Result<ExecOutcome> r =
      RunAndCapture(Sh("echo out; echo err >&2; pwd; exit 3"), std::chrono::milliseconds(10000), 1024);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r.value().timed_out);
  EXPECT_EQ(r.value().out, "out\n/\n");
  EXPECT_EQ(r.value().err, "err\n");
  EXPECT_EQ(DescribeWaitStatus(r.value().wait_status).exit_code, 3);
}

TEST(ProcessExecRunner, OutputIsBounded) {
  // 3 MiB on stdout: the first 1 MiB is kept, the rest read and dropped (the command never blocks).
  sdk::Result<ExecOutcome> r =
      RunAndCapture(Sh("head -c 3145728 /dev/zero; echo done >&2"), std::chrono::milliseconds(30000), kExecOutputLimit);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().out.size(), kExecOutputLimit);
  EXPECT_TRUE(r.value().out_truncated);
  EXPECT_FALSE(r.value().err_truncated);
  EXPECT_EQ(r.value().err, "done\n");
  EXPECT_EQ(DescribeWaitStatus(r.value().wait_status).exit_code, 0);
}

TEST(ProcessExecRunner, TimeoutKillsTheGroup) {
  const auto begin = Clock::now();
  // The shell starts a background sleep and prints its pid; both must die at the timeout.
  sdk::Result<ExecOutcome> r =
      RunAndCapture(Sh("sleep 30 & echo $!; wait"), std::chrono::milliseconds(300), kExecOutputLimit);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r.value().timed_out);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(10));
  ASSERT_FALSE(r.value().out.empty()) << "the pid of the background sleep was not read before the timeout";
  EXPECT_TRUE(AwaitDead(static_cast<pid_t>(std::stol(r.value().out)))) << "the background sleep survived";
}

TEST(ProcessExecRunner, ABackgroundProcessHoldingThePipeDoesNotHoldTheCall) {
  const auto begin = Clock::now();
  sdk::Result<ExecOutcome> r = RunAndCapture(Sh("sleep 30 & echo $!"), std::chrono::milliseconds(0), 1024);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(10)) << "waited for the background sleep";
  ASSERT_FALSE(r.value().out.empty());
  const pid_t background = static_cast<pid_t>(std::stol(r.value().out));
  // Left running by design (exec does not kill what a command leaves behind); the test cleans up.
  ASSERT_EQ(::kill(background, SIGKILL), 0);
  EXPECT_TRUE(AwaitDead(background));
}

TEST(ProcessExecRunner, SpawnFailureIsAnError) {
  int e = 0;
  sdk::Result<ExecOutcome> r = RunAndCapture({"/nonexistent/x", {"x"}, {UnitTestMarker()}, "/", -1, -1},
                                             std::chrono::milliseconds(1000), 1024, &e);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(e, ENOENT);
}

}  // namespace
}  // namespace capstan::plugins::process
