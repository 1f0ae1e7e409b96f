// WorkQueue (and the FakeClock it is tested with): dedup, FIFO, dirty re-queue, delays, rate
// limited re-adds, shutdown and drain, stats, and a multi-threaded stress test. Timers run on a
// FakeClock; real-time waits are only thread handoffs, bounded by generous timeouts.
#include "controller/runtime/work_queue.h"

#include <atomic>
#include <future>
#include <random>
#include <thread>

#include <gtest/gtest.h>

namespace capstan::controller {
namespace {

using namespace std::chrono_literals;

constexpr auto kHandoff = 10s;  // bound for thread handoffs; a healthy run takes microseconds

WorkQueueOptions FakeOptions(FakeClock* clock) {
  WorkQueueOptions options;
  options.name = "test";
  options.clock = clock;
  return options;  // the default limiter: 5 ms backoff under a bucket that tests never empty
}

std::future<std::optional<std::string>> GetAsync(WorkQueue* queue) {
  return std::async(std::launch::async, [queue] { return queue->Get(); });
}

// The result of a GetAsync. If it does not come, fails the test and shuts the queue down so that
// the stuck Get returns and the test ends instead of hanging.
std::optional<std::string> Await(std::future<std::optional<std::string>>& got, WorkQueue* queue) {
  if (got.wait_for(kHandoff) != std::future_status::ready) {
    ADD_FAILURE() << "Get() did not return";
    queue->ShutDown();
  }
  return got.get();
}

// ---- FakeClock and ClockCondition ----

TEST(FakeClockTest, AdvanceMovesTimeAndWakesAWaiterOnlyOnceItsDeadlinePassed) {
  FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  std::mutex mu;
  ClockCondition condition(&clock, &mu);
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_FALSE(condition.WaitUntil(lock, start + 10ms, [] { return false; }));
    returned = true;
  });
  EXPECT_TRUE(clock.BlockUntilWaiters(1, kHandoff));  // EXPECT: the thread must still be joined
  clock.Advance(9ms);
  EXPECT_FALSE(returned.load());  // the deadline has not passed: it cannot have returned
  clock.Advance(1ms);
  waiter.join();  // would hang if the wakeup were lost
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(clock.Now() - start, 10ms);
  EXPECT_EQ(clock.Waiters(), 0);
}

TEST(FakeClockTest, NotifyEndsAnUntimedWaitAndPastDeadlinesDoNotBlock) {
  FakeClock clock;
  std::mutex mu;
  ClockCondition condition(&clock, &mu);
  bool ready = false;
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(condition.WaitUntil(lock, Clock::kNever, [&] { return ready; }));
  });
  EXPECT_TRUE(clock.BlockUntilWaiters(1, kHandoff));
  {
    std::lock_guard<std::mutex> lock(mu);
    ready = true;
  }
  condition.NotifyAll();
  waiter.join();

  std::unique_lock<std::mutex> lock(mu);
  EXPECT_FALSE(condition.WaitUntil(lock, clock.Now(), [] { return false; }));
}

TEST(RealClockTest, TimedWaitReturnsAtTheDeadline) {
  std::mutex mu;
  ClockCondition condition(Clock::Real(), &mu);
  std::unique_lock<std::mutex> lock(mu);
  const Clock::TimePoint deadline = Clock::Real()->Now() + 1ms;
  EXPECT_FALSE(condition.WaitUntil(lock, deadline, [] { return false; }));
  EXPECT_GE(Clock::Real()->Now(), deadline);
}

// ---- Add, Get, Done ----

TEST(WorkQueueTest, KeyAddedManyTimesBeforeGetIsHandedOutOnce) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  for (int i = 0; i < 100; ++i) queue.Add("a");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_EQ(queue.Get(), "a");
  EXPECT_EQ(queue.Len(), 0u);
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 0u);
  WorkQueueStats stats = queue.Stats();
  EXPECT_EQ(stats.adds, 1u);
  EXPECT_EQ(stats.deduplicated, 99u);
  EXPECT_EQ(stats.gets, 1u);
}

TEST(WorkQueueTest, ReadyKeysComeOutInFirstAddOrder) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  for (const char* key : {"c", "a", "b", "a", "c"}) queue.Add(key);
  EXPECT_EQ(queue.Get(), "c");
  EXPECT_EQ(queue.Get(), "a");
  EXPECT_EQ(queue.Get(), "b");
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsNotHandedOutUntilDoneThenRunsAgain) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.Add("a");
  ASSERT_EQ(queue.Get(), "a");
  queue.Add("a");  // a change arrives mid-reconcile: marked dirty, not queued
  queue.Add("a");
  queue.Add("b");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_EQ(queue.Get(), "b");  // a second worker gets b, never the a that is processing
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Stats().processing, 2u);

  queue.Done("a");
  EXPECT_EQ(queue.Len(), 1u);  // re-queued once for both adds
  EXPECT_EQ(queue.Get(), "a");
  queue.Done("a");
  queue.Done("b");
  queue.Done("never-got");  // ignored
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Stats().processing, 0u);
}

TEST(WorkQueueTest, GetBlocksUntilAKeyIsAdded) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  auto got = GetAsync(&queue);
  ASSERT_TRUE(clock.BlockUntilWaiters(1, kHandoff));
  queue.Add("a");
  EXPECT_EQ(Await(got, &queue), "a");
}

// ---- Delays ----

TEST(WorkQueueTest, AddAfterIsReadyOnlyOnceTheDelayHasPassed) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.AddAfter("a", 10ms);
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Stats().waiting, 1u);
  clock.Advance(9ms);
  EXPECT_EQ(queue.Len(), 0u);
  clock.Advance(1ms);
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_EQ(queue.Stats().waiting, 0u);
  EXPECT_EQ(queue.Get(), "a");
}

TEST(WorkQueueTest, HugeDelayDoesNotOverflowIntoThePast) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.AddAfter("a", Clock::Duration::max());
  clock.Advance(24h * 365);
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Stats().waiting, 1u);
}

TEST(WorkQueueTest, NonPositiveDelayAddsAtOnce) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.AddAfter("a", 0ms);
  queue.AddAfter("b", -5ms);
  EXPECT_EQ(queue.Len(), 2u);
}

TEST(WorkQueueTest, EarlierPendingDelayWinsWhicheverCameFirst) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.AddAfter("late-first", 50ms);
  queue.AddAfter("late-first", 10ms);
  queue.AddAfter("early-first", 10ms);
  queue.AddAfter("early-first", 50ms);
  EXPECT_EQ(queue.Stats().waiting, 2u);
  clock.Advance(10ms);
  EXPECT_EQ(queue.Len(), 2u);
  EXPECT_EQ(queue.Get(), "late-first");  // same due time: in the order the times were set
  EXPECT_EQ(queue.Get(), "early-first");
  queue.Done("late-first");
  queue.Done("early-first");
  clock.Advance(40ms);  // the superseded 50 ms entries must not fire
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Stats().waiting, 0u);
}

TEST(WorkQueueTest, DelayedKeysBecomeReadyInDueOrderAndDedupWithQueuedOnes) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.AddAfter("c", 30ms);
  queue.AddAfter("a", 10ms);
  queue.AddAfter("b", 20ms);
  queue.Add("b");
  clock.Advance(1h);
  EXPECT_EQ(queue.Len(), 3u);  // b's delay found b already queued
  EXPECT_EQ(queue.Get(), "b");
  EXPECT_EQ(queue.Get(), "a");
  EXPECT_EQ(queue.Get(), "c");
}

TEST(WorkQueueTest, BlockedGetWakesWhenTheDelayBecomesDue) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  auto got = GetAsync(&queue);
  queue.AddAfter("a", 10ms);
  ASSERT_TRUE(clock.BlockUntilWaiters(1, kHandoff));
  clock.Advance(9ms);
  EXPECT_EQ(got.wait_for(0s), std::future_status::timeout);  // not due: cannot have been handed out
  clock.Advance(1ms);
  EXPECT_EQ(Await(got, &queue), "a");
}

// The production clock: a Get asleep until a far delay must wake for a nearer one added later.
TEST(WorkQueueTest, RealClockGetWakesForAnEarlierDelayAddedWhileItSleeps) {
  WorkQueueOptions options;
  options.name = "real";
  WorkQueue queue(std::move(options));
  queue.AddAfter("far", 1h);
  auto got = GetAsync(&queue);
  // Let the getter fall asleep until "far" (a real clock offers no waiter count). Should it be
  // slower than this, the test passes without exercising the wakeup, but it never flakes.
  std::this_thread::sleep_for(50ms);
  queue.AddAfter("near", 1ms);
  EXPECT_EQ(Await(got, &queue), "near");
}

// ---- Rate limiting ----

TEST(WorkQueueTest, AddRateLimitedBacksOffExponentiallyUntilForget) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  for (Clock::Duration delay : {5ms, 10ms, 20ms, 40ms}) {
    queue.AddRateLimited("a");
    clock.Advance(delay - 1ms);
    EXPECT_EQ(queue.Len(), 0u);
    clock.Advance(1ms);
    ASSERT_EQ(queue.Len(), 1u);
    ASSERT_EQ(queue.Get(), "a");
    queue.Done("a");
  }
  EXPECT_EQ(queue.NumRequeues("a"), 4);
  EXPECT_EQ(queue.Stats().retries, 4u);
  queue.Forget("a");
  EXPECT_EQ(queue.NumRequeues("a"), 0);
  queue.AddRateLimited("a");
  clock.Advance(5ms);
  EXPECT_EQ(queue.Len(), 1u);
}

TEST(WorkQueueTest, UsesTheLimiterItIsGiven) {
  FakeClock clock;
  WorkQueueOptions options = FakeOptions(&clock);
  options.limiter = std::make_unique<ItemExponentialRateLimiter>(1s, 4s);
  WorkQueue queue(std::move(options));
  queue.AddRateLimited("a");
  clock.Advance(999ms);
  EXPECT_EQ(queue.Len(), 0u);
  clock.Advance(1ms);
  EXPECT_EQ(queue.Len(), 1u);
}

// ---- Shutdown ----

TEST(WorkQueueTest, ShutDownRefusesAddsButHandsOutWhatIsQueued) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.Add("a");
  queue.Add("b");
  ASSERT_EQ(queue.Get(), "a");
  queue.Add("a");  // dirty before the shutdown: still runs again
  queue.ShutDown();
  EXPECT_TRUE(queue.ShuttingDown());
  queue.Add("c");
  queue.AddAfter("d", 1ms);
  queue.AddRateLimited("e");
  EXPECT_EQ(queue.Get(), "b");
  queue.Done("b");
  queue.Done("a");
  EXPECT_EQ(queue.Get(), "a");
  queue.Done("a");
  EXPECT_EQ(queue.Get(), std::nullopt);
  EXPECT_EQ(queue.Get(), std::nullopt);  // and stays so
  clock.Advance(1h);
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Stats().retries, 0u);
}

TEST(WorkQueueTest, ShutDownKeepsDueDelaysAndDropsTheRest) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.AddAfter("due", 10ms);
  queue.AddAfter("later", 20ms);
  clock.Advance(10ms);  // nobody looked at the queue since: "due" is still in the heap
  queue.ShutDown();
  EXPECT_EQ(queue.Get(), "due");
  queue.Done("due");
  clock.Advance(1h);
  EXPECT_EQ(queue.Get(), std::nullopt);
  EXPECT_EQ(queue.Stats().waiting, 0u);
}

TEST(WorkQueueTest, ShutDownWakesEveryBlockedGet) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  auto first = GetAsync(&queue);
  auto second = GetAsync(&queue);
  ASSERT_TRUE(clock.BlockUntilWaiters(2, kHandoff));
  queue.ShutDown();
  EXPECT_EQ(Await(first, &queue), std::nullopt);
  EXPECT_EQ(Await(second, &queue), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainWaitsForQueuedAndInFlightKeys) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.Add("a");
  queue.Add("b");
  ASSERT_EQ(queue.Get(), "a");
  std::atomic<bool> drained{false};
  std::thread closer([&] {
    queue.ShutDownWithDrain();
    drained = true;
  });
  for (auto deadline = std::chrono::steady_clock::now() + kHandoff;
       !queue.ShuttingDown() && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(queue.ShuttingDown());
  EXPECT_EQ(queue.Get(), "b");
  queue.Done("b");
  EXPECT_FALSE(drained.load());  // "a" is still processing: the drain cannot have completed
  queue.Done("a");
  closer.join();
  EXPECT_TRUE(drained.load());
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainOfAnIdleQueueReturnsAtOnce) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.ShutDownWithDrain();
  EXPECT_EQ(queue.Get(), std::nullopt);
}

// ---- Stats ----

TEST(WorkQueueTest, StatsCountAddsAndTheLongestWait) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  queue.Add("a");
  clock.Advance(7ms);
  queue.Add("b");
  queue.Add("b");
  queue.AddAfter("c", 1h);
  ASSERT_EQ(queue.Get(), "a");  // waited 7 ms
  clock.Advance(2ms);
  ASSERT_EQ(queue.Get(), "b");  // waited 2 ms
  queue.Done("a");
  WorkQueueStats stats = queue.Stats();
  EXPECT_EQ(stats.adds, 2u);
  EXPECT_EQ(stats.deduplicated, 1u);
  EXPECT_EQ(stats.delayed_adds, 1u);
  EXPECT_EQ(stats.gets, 2u);
  EXPECT_EQ(stats.depth, 0u);
  EXPECT_EQ(stats.waiting, 1u);
  EXPECT_EQ(stats.processing, 1u);
  EXPECT_EQ(stats.longest_wait, 7ms);
}

// ---- Concurrency ----

// Adders hammer a small key space while workers process: no key is ever processed by two workers
// at once, and every add is followed by a processing that saw it (none is lost).
TEST(WorkQueueTest, StressNoKeyLostNoneProcessedConcurrentlyWithItself) {
  constexpr int kKeys = 64;
  constexpr int kAdders = 4;
  constexpr int kAddsPerAdder = 5000;
  constexpr int kWorkers = 4;
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));

  // version[k] counts the adds of key k; each add bumps it before calling Add. A worker that
  // takes k records the version it sees; the queue must deliver k after its last add, so at the
  // end every key's seen version equals its final version.
  std::vector<std::atomic<int64_t>> version(kKeys), seen(kKeys);
  std::vector<std::atomic<int>> in_flight(kKeys);
  std::atomic<int> overlaps{0};
  std::atomic<int64_t> processed{0};

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (std::optional<std::string> key = queue.Get()) {
        const int k = std::stoi(*key);
        if (in_flight[k].fetch_add(1) != 0) ++overlaps;
        seen[k].store(std::max(seen[k].load(), version[k].load()));
        std::this_thread::yield();  // widen the window for an overlap
        in_flight[k].fetch_sub(1);
        ++processed;
        queue.Done(*key);
      }
    });
  }
  // Start adding once every worker waits, and yield between adds, so that adds land on queued,
  // processing and idle keys alike rather than all before the first Get.
  EXPECT_TRUE(clock.BlockUntilWaiters(kWorkers, kHandoff));
  std::vector<std::thread> adders;
  for (int a = 0; a < kAdders; ++a) {
    adders.emplace_back([&, a] {
      std::mt19937 random(a);
      std::uniform_int_distribution<int> pick(0, kKeys - 1);
      for (int i = 0; i < kAddsPerAdder; ++i) {
        const int k = pick(random);
        version[k].fetch_add(1);
        if (i % 7 == 0) {
          queue.AddAfter(std::to_string(k), 0ms);
        } else {
          queue.Add(std::to_string(k));
        }
        std::this_thread::yield();
      }
    });
  }
  for (std::thread& adder : adders) adder.join();
  queue.ShutDownWithDrain();
  for (std::thread& worker : workers) worker.join();

  EXPECT_EQ(overlaps.load(), 0);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(seen[k].load(), version[k].load()) << "key " << k << " lost its last add";
  }
  WorkQueueStats stats = queue.Stats();
  EXPECT_EQ(stats.adds + stats.deduplicated, uint64_t{kAdders * kAddsPerAdder});
  EXPECT_EQ(stats.gets, static_cast<uint64_t>(processed.load()));
  EXPECT_EQ(stats.depth + stats.processing, 0u);
}

}  // namespace
}  // namespace capstan::controller
