// WorkQueue: the keys a controller has yet to reconcile, with client-go workqueue semantics.
//
// Event handlers compute a key ("namespace/name") and Add it; N workers loop on Get(), reconcile
// the key, and call Done(key). The queue is fair and stingy:
//   * Deduplicating: a key added any number of times before a worker takes it is handed out once.
//   * Never concurrent with itself: from Get() to Done() a key is "processing"; adding it then
//     marks it dirty instead of queueing it, and Done() queues it again (at the back). So a key is
//     never held by two workers, and a change that arrives mid-reconcile is never lost.
//   * FIFO among ready keys (a key keeps its place when re-added while queued).
//   * Delayed adds: AddAfter(key, d) makes the key ready at Now() + d; if the key already waits for
//     a delay, the earlier time wins. AddRateLimited(key) is AddAfter with the rate limiter's
//     When(key); Forget(key) ends the key's backoff streak (call it after a success).
//   * Shutdown: ShutDown() refuses new adds and drops pending delays (a delayed add that is already
//     due counts as queued); Get() keeps handing out what is queued and returns nullopt once the
//     queue is empty. ShutDownWithDrain() also waits until every queued key has been taken and
//     every taken key is Done.
//
// Delayed keys live in a heap and become ready lazily, inside Get() and Len(), when the clock has
// passed their time; a waiting Get() sleeps until the earliest delay is due (ClockCondition), so
// there is no timer thread, and with a FakeClock a due key is ready the moment Advance() returns.
//
// Thread-safety: all methods are thread-safe. The rate limiter is called outside the queue's mutex.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "controller/runtime/clock.h"
#include "controller/runtime/rate_limiter.h"

namespace capstan::controller {

struct WorkQueueOptions {
  std::string name;                      // for logs and stats
  Clock* clock = nullptr;                // nullptr: Clock::Real(). Must outlive the queue.
  std::unique_ptr<RateLimiter> limiter;  // nullptr: DefaultControllerRateLimiter(clock)
};

// Counters since construction, and the current sizes. A snapshot, for benchmarks and logs.
struct WorkQueueStats {
  uint64_t adds = 0;          // keys that became pending: Add calls not absorbed, plus due delays
  uint64_t deduplicated = 0;  // Add calls absorbed because the key was already pending
  uint64_t delayed_adds = 0;  // AddAfter calls with a positive delay (including rate-limited ones)
  uint64_t retries = 0;       // AddRateLimited calls
  uint64_t gets = 0;          // keys handed to workers
  size_t depth = 0;           // ready keys now
  size_t waiting = 0;         // keys waiting for a delay now
  size_t processing = 0;      // keys handed out and not yet Done now
  // The longest a key has sat ready before a worker took it (from its Add, its delay coming due,
  // or the Done that re-queued it). Grows when workers cannot keep up.
  Clock::Duration longest_wait{};
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  // Shuts down. No thread may still be inside a method (join the workers first).
  ~WorkQueue();

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  const std::string& name() const { return name_; }
  Clock* clock() const { return clock_; }

  // Marks `key` as needing processing. Ignored after ShutDown.
  void Add(const std::string& key);
  // Adds `key` once `delay` has passed (at once if delay <= 0). If the key already waits for a
  // delay, it becomes ready at the earlier of the two times. Ignored after ShutDown.
  void AddAfter(const std::string& key, Clock::Duration delay);
  // AddAfter(key, limiter.When(key)): records a failure and backs off.
  void AddRateLimited(const std::string& key);
  // Ends the key's failure streak in the limiter. Does not cancel a pending delay.
  void Forget(const std::string& key);
  // Failures recorded for `key` since its last Forget.
  int64_t NumRequeues(const std::string& key);

  // Blocks until a key is ready and returns it, now "processing" until Done(key); nullopt once
  // shut down and nothing is queued. Every returned key must be passed to Done exactly once.
  std::optional<std::string> Get();
  // Ends the processing of `key`; if it was added meanwhile, queues it again. Ignored for a key
  // that is not processing.
  void Done(const std::string& key);

  // Ready keys (not the ones waiting for a delay, nor the processing ones).
  size_t Len();

  // Ignores later adds, drops pending delays, and lets Get() return nullopt once the queue is
  // empty. Idempotent. Does not wait.
  void ShutDown();
  // ShutDown, then blocks until every queued key was taken and every taken key is Done. Needs
  // running workers (or Get/Done calls from elsewhere) unless nothing is queued or processing.
  void ShutDownWithDrain();
  bool ShuttingDown() const;

  WorkQueueStats Stats();

 private:
  struct Ready {
    std::string key;
    Clock::TimePoint since;  // when it became ready, for WorkQueueStats::longest_wait
  };
  // A pending delay. The heap keeps entries that were superseded by an earlier time for the same
  // key; they are recognised (time != waiting_[key]) and skipped when they reach the top.
  struct Timer {
    Clock::TimePoint at;
    uint64_t seq;  // insertion order: FIFO among keys due at the same time
    std::string key;
    bool operator>(const Timer& other) const {
      return at != other.at ? at > other.at : seq > other.seq;
    }
  };

  // All *Locked methods require mu_.
  void AddLocked(const std::string& key, Clock::TimePoint now);
  // Moves every delayed key due at `now` to the ready queue.
  void PromoteDueLocked(Clock::TimePoint now);
  Clock::TimePoint NextTimerLocked() const;  // Clock::kNever without pending delays
  bool DrainedLocked() const { return queue_.empty() && processing_.empty(); }

  // Constant after construction.
  const std::string name_;
  Clock* const clock_;
  const std::unique_ptr<RateLimiter> limiter_;  // thread-safe; never called with mu_ held

  mutable std::mutex mu_;
  // Wakes Get() waiters: one per newly ready key, all on shutdown or an earlier first delay.
  // Invariant: a waiting Get() sleeps no later than the earliest pending delay.
  ClockCondition ready_;
  // Wakes ShutDownWithDrain() once shut down and drained.
  std::condition_variable drained_;

  // Guarded by mu_. Invariants:
  //  * dirty_ holds every key that needs processing: all keys in queue_, plus processing keys
  //    added again since their Get.
  //  * queue_ holds each key at most once, and never a key in processing_.
  //  * processing_ holds the keys between Get and Done.
  //  * waiting_ maps each key with a pending delay to its ready time; timers_ has an entry for it
  //    (and maybe stale ones). A key may wait and be dirty at once; its delay then dedups.
  std::deque<Ready> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::unordered_map<std::string, Clock::TimePoint> waiting_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t timer_seq_ = 0;
  bool shutting_down_ = false;
  WorkQueueStats stats_;  // counters only; sizes are filled in by Stats()
};

}  // namespace capstan::controller
