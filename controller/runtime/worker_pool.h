// WorkerPool: the reconcile loop of one controller. N threads take keys from a WorkQueue, call
// the Reconciler, and act on its ReconcileResult; an optional resync thread re-adds every key
// periodically.
//
// Per key (the queue guarantees a key is never reconciled by two workers at once):
//   kDone         → Forget(key)
//   kRequeueAfter → Forget(key), AddAfter(key, after)
//   kRetry        → AddRateLimited(key)            (error logged at debug: retries are expected)
//   kTerminal     → Forget(key)                     (error logged at error level)
//   an exception  → logged at error level, then as kRetry
// and then Done(key). The follow-up add comes before Done, so a key re-added with no delay runs
// again right after Done (the queue marked it dirty), never concurrently.
//
// Resync: with a positive period, every `resync_period` (on the queue's clock) the pool calls
// `list_keys` and Adds every key it returns, the level-based safety net for missed events. The
// first resync is one period after Start().
//
// Stop() stops the resync, shuts the queue down and waits until the workers have finished every
// queued key (keys re-added with a delay during the drain are dropped). Stop() waits for running
// reconciles, however long they take; reconcilers watch their own deadlines.
//
// Start the pool after the informers' caches have synced (the caller's job).
//
// Thread-safety: Start and Stop from one owner thread; Stats from any thread. The queue must
// outlive the pool, and the pool is the only consumer of its Get().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "controller/runtime/clock.h"
#include "controller/runtime/reconcile.h"
#include "controller/runtime/work_queue.h"

namespace capstan::controller {

struct WorkerPoolOptions {
  int workers = 1;                                        // at least 1
  std::chrono::milliseconds resync_period{0};             // 0: no resync
  std::function<std::vector<std::string>()> list_keys;    // required for a resync; should not
                                                          // throw (caught and logged if it does)
};

// Counters since construction.
struct WorkerPoolStats {
  uint64_t reconciles = 0;
  uint64_t done = 0;
  uint64_t requeued_after = 0;
  uint64_t retries = 0;       // kRetry results, exceptions included
  uint64_t terminal = 0;
  uint64_t exceptions = 0;
  uint64_t resyncs = 0;
  uint64_t resynced_keys = 0;
};

class WorkerPool {
 public:
  // `queue` must outlive the pool. The pool's name in logs is the queue's name.
  WorkerPool(WorkQueue* queue, Reconciler reconcile, WorkerPoolOptions options);
  // Stops (and drains) if still running.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts the workers and the resync thread. Once only (kInternal the second time);
  // kUnavailable if the threads cannot be created (nothing is left running then).
  Status Start();
  // Stops the resync, shuts the queue down (also when never started), drains it, and joins
  // every thread. Idempotent.
  void Stop();

  WorkerPoolStats Stats() const;

 private:
  void RunWorker();                  // a worker thread's loop
  void Process(const std::string& key);
  ReconcileResult CallReconcile(const std::string& key);  // never throws
  void RunResync(Clock::TimePoint first);  // the resync thread's loop
  void Resync();

  // Constant after construction.
  WorkQueue* const queue_;
  const Reconciler reconcile_;
  const WorkerPoolOptions options_;

  std::mutex mu_;
  ClockCondition resync_wake_;  // wakes the resync thread for its period, or to stop
  // Guarded by mu_.
  bool started_ = false;
  bool stopping_ = false;

  // Owned by the Start/Stop caller.
  std::vector<std::thread> workers_;
  std::thread resync_thread_;

  // Counters: relaxed atomics, read by Stats().
  std::atomic<uint64_t> reconciles_{0}, done_{0}, requeued_after_{0}, retries_{0}, terminal_{0},
      exceptions_{0}, resyncs_{0}, resynced_keys_{0};
};

}  // namespace capstan::controller
