#include "plugins/process/reaper.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "plugins/process/proc.h"
#include "plugins/process/spawn.h"
#include "plugins/process/test_processes.h"

namespace capstan::plugins::process {
namespace {

using Clock = std::chrono::steady_clock;

// Records the keys the Reaper reports; the callback answers done after `calls_before_done` calls.
struct Calls {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> count;  // guarded by mu
  int calls_before_done = 1;

  bool On(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    const int n = ++count[key];
    cv.notify_all();
    return n >= calls_before_done;
  }
  bool AwaitCount(const std::string& key, int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return count[key] >= n; });
  }
  int Count(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    return count[key];
  }
};

struct Child {
  pid_t pid = -1;
  uint64_t ticks = 0;
};

Child Sleep() {
  Child c;
  c.pid = Spawn({"/bin/sleep", {"sleep", "30"}, {"PATH=/bin", UnitTestMarker()}, "/", -1, -1}).pid;
  if (c.pid > 0) c.ticks = ReadProcStat(c.pid)->start_ticks;
  return c;
}

void KillAndReap(const Child& c) {
  ::kill(c.pid, SIGKILL);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (ProbeProcess(c.pid, c.ticks).liveness == Liveness::kRunning && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ForgetProcess(c.pid, c.ticks);
}

TEST(ProcessReaper, ReportsAnExitOnce) {
  Calls calls;
  Reaper reaper([&](const std::string& key) { return calls.On(key); });
  const Child a = Sleep(), b = Sleep();
  ASSERT_GT(a.pid, 0);
  ASSERT_GT(b.pid, 0);
  reaper.Watch("a", a.pid);
  reaper.Watch("b", b.pid);
  ::kill(a.pid, SIGKILL);
  ASSERT_TRUE(calls.AwaitCount("a", 1)) << "no report of a's exit";
  EXPECT_EQ(calls.Count("b"), 0) << "b is still running";
  // The exit is reported once (the callback said done), even though the zombie is not reaped yet.
  KillAndReap(a);
  reaper.Unwatch("b");
  KillAndReap(b);
  reaper.Shutdown();
  EXPECT_EQ(calls.Count("a"), 1);
  EXPECT_EQ(calls.Count("b"), 0) << "an unwatched process was reported";
}

TEST(ProcessReaper, NotDoneYetIsProbedAgain) {
  // The callback says "not done" twice: the Reaper keeps probing, on the tick it uses where the
  // kernel has no pidfds (this exercises that path).
  Calls calls;
  calls.calls_before_done = 3;
  Reaper reaper([&](const std::string& key) { return calls.On(key); });
  const Child a = Sleep();
  ASSERT_GT(a.pid, 0);
  reaper.Watch("a", a.pid);
  ::kill(a.pid, SIGKILL);
  EXPECT_TRUE(calls.AwaitCount("a", 3));
  KillAndReap(a);
  reaper.Shutdown();
  EXPECT_EQ(calls.Count("a"), 3) << "probed again after done";
}

}  // namespace
}  // namespace capstan::plugins::process
