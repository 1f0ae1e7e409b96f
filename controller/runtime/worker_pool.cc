#include "controller/runtime/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <system_error>
#include <utility>

#include "base/log.h"

namespace capstan::controller {

WorkerPool::WorkerPool(WorkQueue* queue, Reconciler reconcile, WorkerPoolOptions options)
    : queue_(queue),
      reconcile_(std::move(reconcile)),
      options_(std::move(options)),
      resync_wake_(queue->clock(), &mu_) {}

WorkerPool::~WorkerPool() { Stop(); }

Status WorkerPool::Start() {
  Clock::TimePoint first_resync;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return Status::Internal("worker pool " + queue_->name() + " started twice");
    started_ = true;
    // Taken here, not in the thread, so that a FakeClock advanced right after Start() counts.
    first_resync = queue_->clock()->Now() + options_.resync_period;
  }
  try {
    const int workers = options_.workers < 1 ? 1 : options_.workers;
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { RunWorker(); });
    if (options_.resync_period.count() > 0 && options_.list_keys) {
      resync_thread_ = std::thread([this, first_resync] { RunResync(first_resync); });
    }
  } catch (const std::system_error& e) {
    // Out of threads: undo, so the caller sees one clean failure instead of a half-started pool.
    Stop();
    return Status::Unavailable("starting workers of " + queue_->name() + ": " + e.what());
  }
  return Status::Ok();
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  resync_wake_.NotifyAll();
  if (resync_thread_.joinable()) resync_thread_.join();
  const bool ran = !workers_.empty();
  // The workers exit once the queue is shut down and empty, so joining them is the drain.
  queue_->ShutDown();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
  if (!ran) return;
  WorkQueueStats q = queue_->Stats();
  log::Debug("worker pool stopped", {{"controller", queue_->name()}, {"adds", std::to_string(q.adds)},
                                    {"deduplicated", std::to_string(q.deduplicated)}, {"gets", std::to_string(q.gets)},
                                    {"reconciles", std::to_string(reconciles_.load())}});
}

WorkerPoolStats WorkerPool::Stats() const {
  WorkerPoolStats stats;
  stats.reconciles = reconciles_.load(std::memory_order_relaxed);
  stats.done = done_.load(std::memory_order_relaxed);
  stats.requeued_after = requeued_after_.load(std::memory_order_relaxed);
  stats.retries = retries_.load(std::memory_order_relaxed);
  stats.terminal = terminal_.load(std::memory_order_relaxed);
  stats.exceptions = exceptions_.load(std::memory_order_relaxed);
  stats.resyncs = resyncs_.load(std::memory_order_relaxed);
  stats.resynced_keys = resynced_keys_.load(std::memory_order_relaxed);
  return stats;
}

void WorkerPool::RunWorker() {
  {
    // The thread's name in top, perf and /proc: "w:" and the queue's name.
    std::string name = "w:" + queue_->name();
    name.resize(std::min<size_t>(name.size(), 15));
    pthread_setname_np(pthread_self(), name.c_str());
  }
  // The thread's top frame: nothing may escape it. Reconciler exceptions are handled per key in
  // CallReconcile; what reaches here is the runtime itself failing (say, bad_alloc in the queue).
  try {
    while (std::optional<std::string> key = queue_->Get()) Process(*key);
  } catch (const std::exception& e) {
    log::Error("worker stopped by an exception", {{"controller", queue_->name()}, {"error", e.what()}});
  } catch (...) {
    log::Error("worker stopped by an exception", {{"controller", queue_->name()}, {"error", "unknown"}});
  }
}

void WorkerPool::Process(const std::string& key) {
  ReconcileResult result = CallReconcile(key);
  reconciles_.fetch_add(1, std::memory_order_relaxed);
  switch (result.kind) {
    case ReconcileResult::kDone:
      done_.fetch_add(1, std::memory_order_relaxed);
      queue_->Forget(key);
      break;
    case ReconcileResult::kRequeueAfter:
      requeued_after_.fetch_add(1, std::memory_order_relaxed);
      queue_->Forget(key);
      queue_->AddAfter(key, result.after);
      break;
    case ReconcileResult::kRetry:
      retries_.fetch_add(1, std::memory_order_relaxed);
      // Debug, not warn: conflicts and unavailability are routine at scale, and the backoff
      // already bounds how often one key can fail.
      if (log::Enabled(log::Level::kDebug)) {
        log::Debug("reconcile failed, retrying",
                   {{"controller", queue_->name()}, {"key", key}, {"error", result.error.ToString()},
                    {"requeues", std::to_string(queue_->NumRequeues(key))}});
      }
      queue_->AddRateLimited(key);
      break;
    case ReconcileResult::kTerminal:
      terminal_.fetch_add(1, std::memory_order_relaxed);
      log::Error("reconcile failed, not retrying",
                 {{"controller", queue_->name()}, {"key", key}, {"error", result.error.ToString()}});
      queue_->Forget(key);
      break;
  }
  // Last: the follow-up add above is in place before the key may be taken again.
  queue_->Done(key);
}

ReconcileResult WorkerPool::CallReconcile(const std::string& key) {
  std::string what;
  try {
    return reconcile_(key);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  exceptions_.fetch_add(1, std::memory_order_relaxed);
  log::Error("reconcile threw; retrying", {{"controller", queue_->name()}, {"key", key}, {"error", what}});
  return ReconcileResult::Retry(Status::Internal("reconcile threw: " + what));
}

void WorkerPool::RunResync(Clock::TimePoint first) {
  try {
    Clock* clock = queue_->clock();
    Clock::TimePoint next = first;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (resync_wake_.WaitUntil(lock, next, [&] { return stopping_; })) return;
      lock.unlock();
      Resync();
      lock.lock();
      // On the period's grid, so the schedule does not drift by the time a resync takes; but
      // when a whole period was missed (a slow list, a big Advance) start afresh from now
      // rather than firing the missed resyncs back to back.
      next += options_.resync_period;
      const Clock::TimePoint now = clock->Now();
      if (next < now) next = now + options_.resync_period;
    }
  } catch (...) {
    log::Error("resync stopped by an exception", {{"controller", queue_->name()}});
  }
}

void WorkerPool::Resync() {
  std::vector<std::string> keys;
  try {
    keys = options_.list_keys();
  } catch (const std::exception& e) {
    log::Error("resync: listing keys failed", {{"controller", queue_->name()}, {"error", e.what()}});
    return;
  } catch (...) {
    log::Error("resync: listing keys failed", {{"controller", queue_->name()}, {"error", "unknown"}});
    return;
  }
  for (const std::string& key : keys) queue_->Add(key);
  resyncs_.fetch_add(1, std::memory_order_relaxed);
  resynced_keys_.fetch_add(keys.size(), std::memory_order_relaxed);
}

}  // namespace capstan::controller
