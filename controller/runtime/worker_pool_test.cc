// WorkerPool: what each ReconcileResult does to the key, exceptions, resync, drain on Stop, and
// that a key is never reconciled by two workers at once. Delays run on a FakeClock; the tests
// wait in real time only for worker threads to catch up (bounded by generous timeouts).
#include "controller/runtime/worker_pool.h"

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

namespace capstan::controller {
namespace {

using namespace std::chrono_literals;

constexpr auto kHandoff = 10s;

// Polls `done` until it holds or kHandoff passes (real time; for thread handoffs only).
template <typename Predicate>
bool Eventually(Predicate done) {
  for (auto deadline = std::chrono::steady_clock::now() + kHandoff; !done();) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

// Records how often each key was reconciled, and fails on overlapping calls for one key.
class Recorder {
 public:
  // Returns the call number of `key` (1 for the first), and marks it in flight until Leave.
  int Enter(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!in_flight_.insert(key).second) overlaps_++;
    return ++calls_[key];
  }
  void Leave(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.erase(key);
  }
  int Calls(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[key];
  }
  int Overlaps() {
    std::lock_guard<std::mutex> lock(mu_);
    return overlaps_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> calls_;
  std::set<std::string> in_flight_;
  int overlaps_ = 0;
};

WorkQueueOptions FakeOptions(FakeClock* clock) {
  WorkQueueOptions options;
  options.name = "test";
  options.clock = clock;
  return options;
}

// Sets `flag` when the test ends, also by a failed ASSERT, so a reconciler blocked on it lets
// the pool's Stop() finish instead of hanging the test. Declare it after the pool.
struct SetOnExit {
  std::atomic<bool>& flag;
  ~SetOnExit() { flag = true; }
};

// The worker has finished with every key: nothing ready, nothing processing. (A key's follow-up
// add happens before its Done, so after this holds the delays are in place.)
bool Idle(WorkQueue* queue) {
  WorkQueueStats stats = queue->Stats();
  return stats.depth == 0 && stats.processing == 0;
}

TEST(WorkerPoolTest, ReconcilesEachKeyOnceHoweverOftenItWasAdded) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  Recorder recorder;
  WorkerPool pool(&queue, [&](const std::string& key) {
    recorder.Enter(key);
    recorder.Leave(key);
    return ReconcileResult::Done();
  }, WorkerPoolOptions{3});
  for (int i = 0; i < 10; ++i) {
    for (const char* key : {"a", "b", "c"}) queue.Add(key);
  }
  ASSERT_TRUE(pool.Start().ok());
  pool.Stop();  // drains
  for (const char* key : {"a", "b", "c"}) EXPECT_EQ(recorder.Calls(key), 1) << key;
  EXPECT_EQ(pool.Stats().done, 3u);
  EXPECT_TRUE(queue.ShuttingDown());
}

TEST(WorkerPoolTest, KeyReaddedWhileReconcilingRunsAgainAfterwardsNeverAlongside) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  Recorder recorder;
  std::atomic<bool> entered{false}, release{false};
  WorkerPool pool(&queue, [&](const std::string& key) {
    int call = recorder.Enter(key);
    if (key == "a" && call == 1) {
      entered = true;
      while (!release) std::this_thread::yield();
    }
    recorder.Leave(key);
    return ReconcileResult::Done();
  }, WorkerPoolOptions{4});
  SetOnExit release_on_exit{release};
  queue.Add("a");
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));

  for (int i = 0; i < 5; ++i) queue.Add("a");  // three idle workers, yet none may take "a"
  queue.Add("b");
  queue.Add("c");
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("b") == 1 && recorder.Calls("c") == 1; }));
  ASSERT_TRUE(Eventually([&] { return queue.Stats().processing == 1; }));
  EXPECT_EQ(queue.Len(), 0u);  // "a" is dirty, not queued
  EXPECT_EQ(recorder.Calls("a"), 1);

  release = true;
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 2; }));
  pool.Stop();
  EXPECT_EQ(recorder.Calls("a"), 2);  // the five adds ran once, after the first reconcile
  EXPECT_EQ(recorder.Overlaps(), 0);
}

TEST(WorkerPoolTest, RetryBacksOffExponentiallyAndSuccessForgets) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  Recorder recorder;
  WorkerPool pool(&queue, [&](const std::string& key) {
    int call = recorder.Enter(key);
    recorder.Leave(key);
    if (call <= 3) return ReconcileResult::Retry(Status::Conflict("try again"));
    return ReconcileResult::Done();
  }, WorkerPoolOptions{1});
  queue.Add("a");
  ASSERT_TRUE(pool.Start().ok());

  int calls = 1;
  for (Clock::Duration backoff : {5ms, 10ms, 20ms}) {
    ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == calls && Idle(&queue); })) << calls;
    EXPECT_EQ(queue.NumRequeues("a"), calls);
    clock.Advance(backoff - 1ms);
    EXPECT_EQ(queue.Len(), 0u);  // not due yet, so not run yet
    EXPECT_EQ(recorder.Calls("a"), calls);
    clock.Advance(1ms);
    ++calls;
  }
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 4 && Idle(&queue); }));
  EXPECT_EQ(queue.NumRequeues("a"), 0);  // the success forgot the streak
  EXPECT_EQ(queue.Stats().waiting, 0u);
  pool.Stop();
  WorkerPoolStats stats = pool.Stats();
  EXPECT_EQ(stats.reconciles, 4u);
  EXPECT_EQ(stats.retries, 3u);
  EXPECT_EQ(stats.done, 1u);
}

TEST(WorkerPoolTest, RequeueAfterRunsAgainAfterTheDelayAndEndsTheStreak) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  Recorder recorder;
  WorkerPool pool(&queue, [&](const std::string& key) {
    int call = recorder.Enter(key);
    recorder.Leave(key);
    if (call == 1) return ReconcileResult::Retry(Status::Unavailable("later"));
    if (call == 2) return ReconcileResult::RequeueAfter(30s);
    return ReconcileResult::Done();
  }, WorkerPoolOptions{2});
  queue.Add("a");
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 1 && Idle(&queue); }));
  clock.Advance(5ms);
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 2 && Idle(&queue); }));
  EXPECT_EQ(queue.NumRequeues("a"), 0);
  clock.Advance(30s - 1ms);
  EXPECT_EQ(queue.Len(), 0u);
  clock.Advance(1ms);
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 3 && Idle(&queue); }));
  pool.Stop();
  EXPECT_EQ(pool.Stats().requeued_after, 1u);
}

TEST(WorkerPoolTest, TerminalErrorIsNotRetried) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  Recorder recorder;
  WorkerPool pool(&queue, [&](const std::string& key) {
    recorder.Enter(key);
    recorder.Leave(key);
    return ReconcileResult::Terminal(Status::Invalid("spec.replicas: must be >= 0"));
  }, WorkerPoolOptions{1});
  queue.Add("a");
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 1 && Idle(&queue); }));
  clock.Advance(1h);
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Stats().waiting, 0u);
  EXPECT_EQ(queue.NumRequeues("a"), 0);
  pool.Stop();
  EXPECT_EQ(recorder.Calls("a"), 1);
  EXPECT_EQ(pool.Stats().terminal, 1u);
}

TEST(WorkerPoolTest, ExceptionsAreCaughtAndRetriedWithBackoff) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  Recorder recorder;
  WorkerPool pool(&queue, [&](const std::string& key) -> ReconcileResult {
    int call = recorder.Enter(key);
    recorder.Leave(key);
    if (call == 1) throw std::runtime_error("boom");
    if (call == 2) throw 42;  // not even a std::exception
    return ReconcileResult::Done();
  }, WorkerPoolOptions{1});
  queue.Add("a");
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 1 && Idle(&queue); }));
  clock.Advance(5ms);
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 2 && Idle(&queue); }));
  clock.Advance(10ms);
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("a") == 3 && Idle(&queue); }));
  pool.Stop();
  WorkerPoolStats stats = pool.Stats();
  EXPECT_EQ(stats.exceptions, 2u);
  EXPECT_EQ(stats.retries, 2u);
  EXPECT_EQ(stats.done, 1u);
}

TEST(WorkerPoolTest, ResyncAddsEveryListedKeyOncePerPeriod) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  Recorder recorder;
  WorkerPoolOptions options;
  options.workers = 2;
  options.resync_period = 1min;
  options.list_keys = [] { return std::vector<std::string>{"x", "y"}; };
  WorkerPool pool(&queue, [&](const std::string& key) {
    recorder.Enter(key);
    recorder.Leave(key);
    return ReconcileResult::Done();
  }, options);
  ASSERT_TRUE(pool.Start().ok());
  clock.Advance(59s);
  EXPECT_EQ(pool.Stats().resyncs, 0u);  // the period has not passed: it cannot have run
  clock.Advance(1s);
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("x") == 1 && recorder.Calls("y") == 1; }));
  clock.Advance(1min);
  ASSERT_TRUE(Eventually([&] { return recorder.Calls("x") == 2 && recorder.Calls("y") == 2; }));
  pool.Stop();
  EXPECT_EQ(pool.Stats().resyncs, 2u);
  EXPECT_EQ(pool.Stats().resynced_keys, 4u);
}

TEST(WorkerPoolTest, ResyncSurvivesAThrowingLister) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  std::atomic<int> lists{0};
  WorkerPoolOptions options;
  options.resync_period = 1s;
  options.list_keys = [&]() -> std::vector<std::string> {
    if (++lists == 1) throw std::runtime_error("list failed");
    return {"x"};
  };
  std::atomic<int> reconciles{0};
  WorkerPool pool(&queue, [&](const std::string&) {
    ++reconciles;
    return ReconcileResult::Done();
  }, options);
  ASSERT_TRUE(pool.Start().ok());
  clock.Advance(1s);
  ASSERT_TRUE(Eventually([&] { return lists.load() == 1; }));
  clock.Advance(1s);  // may land before the resync thread re-armed; the grid keeps it due
  ASSERT_TRUE(Eventually([&] { return reconciles.load() == 1; }));
  pool.Stop();
}

TEST(WorkerPoolTest, StopFinishesEveryQueuedKeyAndWaitsForRunningOnes) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  std::atomic<int> reconciles{0};
  std::atomic<bool> entered{false}, release{false};
  WorkerPool pool(&queue, [&](const std::string& key) {
    if (key == "slow") {
      entered = true;
      while (!release) std::this_thread::yield();
    }
    ++reconciles;
    return ReconcileResult::RequeueAfter(1ms);  // dropped once shut down
  }, WorkerPoolOptions{2});
  SetOnExit release_on_exit{release};
  queue.Add("slow");
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));
  for (int i = 0; i < 200; ++i) queue.Add("k" + std::to_string(i));

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    pool.Stop();
    stopped = true;
  });
  EXPECT_TRUE(Eventually([&] { return reconciles.load() == 200; }));  // the other worker drains
  EXPECT_FALSE(stopped.load());  // "slow" is still running: Stop cannot have returned
  release = true;
  stopper.join();
  EXPECT_EQ(reconciles.load(), 201);
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkerPoolTest, StartTwiceIsAnError) {
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  WorkerPool pool(&queue, [](const std::string&) { return ReconcileResult::Done(); }, WorkerPoolOptions{1});
  ASSERT_TRUE(pool.Start().ok());
  EXPECT_EQ(pool.Start().code(), Code::kInternal);
}

// Adders race the workers; some reconciles ask to run again at once. No key runs alongside
// itself, and every add is seen by a later reconcile of its key.
TEST(WorkerPoolTest, StressEveryAddIsSeenAndNoKeyOverlapsItself) {
  constexpr int kKeys = 50;
  constexpr int kAdders = 3;
  constexpr int kAddsPerAdder = 4000;
  FakeClock clock;
  WorkQueue queue(FakeOptions(&clock));
  std::vector<std::atomic<int64_t>> version(kKeys), seen(kKeys);
  std::vector<std::atomic<int>> in_flight(kKeys), calls(kKeys);
  std::atomic<int> overlaps{0};
  std::atomic<uint64_t> again{0};
  WorkerPool pool(&queue, [&](const std::string& key) {
    const int k = std::stoi(key);
    if (in_flight[k].fetch_add(1) != 0) ++overlaps;
    seen[k].store(std::max(seen[k].load(), version[k].load()));
    std::this_thread::yield();
    in_flight[k].fetch_sub(1);
    // Every fourth reconcile of a key asks to run again at once: re-added while processing, the
    // key must wait for its Done.
    if (calls[k].fetch_add(1) % 4 == 3) {
      ++again;
      return ReconcileResult::RequeueAfter(0ms);
    }
    return ReconcileResult::Done();
  }, WorkerPoolOptions{4});
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(clock.BlockUntilWaiters(4, kHandoff));  // all workers idle in Get

  std::vector<std::thread> adders;
  for (int a = 0; a < kAdders; ++a) {
    adders.emplace_back([&, a] {
      std::mt19937 random(100 + a);
      std::uniform_int_distribution<int> pick(0, kKeys - 1);
      for (int i = 0; i < kAddsPerAdder; ++i) {
        const int k = pick(random);
        version[k].fetch_add(1);
        queue.Add(std::to_string(k));
        std::this_thread::yield();  // interleave with the workers rather than race ahead
      }
    });
  }
  for (std::thread& adder : adders) adder.join();
  pool.Stop();

  EXPECT_EQ(overlaps.load(), 0);
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(seen[k].load(), version[k].load()) << "key " << k;
  WorkerPoolStats stats = pool.Stats();
  EXPECT_EQ(stats.reconciles, stats.done + stats.requeued_after);
  EXPECT_EQ(stats.requeued_after, again.load());
}

}  // namespace
}  // namespace capstan::controller
