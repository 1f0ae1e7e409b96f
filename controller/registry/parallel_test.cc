#include "controller/registry/parallel.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace capstan::registry {
namespace {

TEST(ParallelForTest, RunsEveryItemOnce) {
  std::vector<std::atomic<int>> seen(100);
  Status status = ParallelFor(seen.size(), 4, [&](size_t i) { ++seen[i]; });
  EXPECT_TRUE(status.ok()) << status.ToString();
  for (const std::atomic<int>& n : seen) EXPECT_EQ(n.load(), 1);
}

// An exception in a worker thread used to reach std::terminate and end the server.
TEST(ParallelForTest, AnExceptionInAWorkerBecomesAnErrorAndEveryThreadIsJoined) {
  std::atomic<int> calls{0};
  Status status = ParallelFor(50, 4, [&](size_t i) {
    ++calls;
    if (i == 7) throw std::runtime_error("bad manifest");
  });
  EXPECT_EQ(status.code(), Code::kInternal);
  EXPECT_NE(status.message().find("bad manifest"), std::string::npos) << status.message();
  EXPECT_GE(calls.load(), 8);
  EXPECT_LE(calls.load(), 50);
}

TEST(ParallelForTest, AnExceptionOnTheCallingThreadAloneIsCaughtToo) {
  Status status = ParallelFor(3, 1, [](size_t) { throw 42; });
  EXPECT_EQ(status.code(), Code::kInternal);
}

}  // namespace
}  // namespace capstan::registry
