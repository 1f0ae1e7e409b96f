#include "controller/supervisor/run_command.h"

#include <gtest/gtest.h>

namespace capstan::supervisor {
namespace {

using namespace std::chrono_literals;

TEST(RunCommandTest, CapturesOutputAndExitCode) {
  auto r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->output, "out\nerr\n");
  r = RunCommand({"true"});  // found in PATH
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
}

TEST(RunCommandTest, MissingProgramIsNotFound) {
  auto r = RunCommand({"/nonexistent/tool", "-c"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_EQ(RunCommand({}).status().code(), Code::kInvalid);
}

TEST(RunCommandTest, KillsACommandThatOutlivesItsTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = RunCommand({"/bin/sleep", "30"}, 200ms);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace capstan::supervisor
