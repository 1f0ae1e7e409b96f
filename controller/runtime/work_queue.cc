#include "controller/runtime/work_queue.h"

#include <algorithm>
#include <utility>

namespace capstan::controller {

namespace {

Clock* OrReal(Clock* clock) { return clock != nullptr ? clock : Clock::Real(); }

}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options)
    : name_(std::move(options.name)),
      clock_(OrReal(options.clock)),
      limiter_(options.limiter != nullptr ? std::move(options.limiter) : DefaultControllerRateLimiter(clock_)),
      ready_(clock_, &mu_) {}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  AddLocked(key, clock_->Now());
}

void WorkQueue::AddLocked(const std::string& key, Clock::TimePoint now) {
  if (!dirty_.insert(key).second) {
    ++stats_.deduplicated;  // queued already, or processing and already marked for a re-run
    return;
  }
  ++stats_.adds;
  if (processing_.count(key) != 0) return;  // Done() queues it
  queue_.push_back(Ready{key, now});
  ready_.NotifyOne();
}

void WorkQueue::AddAfter(const std::string& key, Clock::Duration delay) {
  if (delay <= Clock::Duration::zero()) {
    Add(key);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  ++stats_.delayed_adds;
  const Clock::TimePoint now = clock_->Now();
  // Saturate rather than overflow: a delay past the end of time means "never" (until shutdown).
  const Clock::TimePoint at = delay < Clock::kNever - now ? now + delay : Clock::kNever;
  auto [it, inserted] = waiting_.try_emplace(key, at);
  if (!inserted) {
    if (it->second <= at) return;  // the earlier pending time wins
    it->second = at;               // the old heap entry goes stale
  }
  // Keep the waiters' invariant: none sleeps past the earliest delay. Only a new earliest time
  // can break it, and then every waiter must recompute its deadline.
  const bool earliest = timers_.empty() || at < timers_.top().at;
  timers_.push(Timer{at, timer_seq_++, key});
  if (earliest) ready_.NotifyAll();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  Clock::Duration delay = limiter_->When(key);  // outside mu_: the limiter has its own lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return;
    ++stats_.retries;
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) { limiter_->Forget(key); }

int64_t WorkQueue::NumRequeues(const std::string& key) { return limiter_->NumRequeues(key); }

void WorkQueue::PromoteDueLocked(Clock::TimePoint now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    Timer timer = timers_.top();
    timers_.pop();
    auto it = waiting_.find(timer.key);
    if (it == waiting_.end() || it->second != timer.at) continue;  // superseded by an earlier time
    waiting_.erase(it);
    AddLocked(timer.key, now);
  }
}

Clock::TimePoint WorkQueue::NextTimerLocked() const {
  // A stale top only makes the waiter wake early and look again.
  return timers_.empty() ? Clock::kNever : timers_.top().at;
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  Clock::TimePoint now;
  for (;;) {
    now = clock_->Now();
    PromoteDueLocked(now);
    if (!queue_.empty()) break;
    if (shutting_down_) return std::nullopt;
    ready_.WaitUntil(lock, NextTimerLocked());
  }
  Ready ready = std::move(queue_.front());
  queue_.pop_front();
  stats_.longest_wait = std::max(stats_.longest_wait, now - ready.since);
  ++stats_.gets;
  dirty_.erase(ready.key);
  processing_.insert(ready.key);
  // Pass the baton: this waiter may have promoted several due keys, or taken the wakeup meant for
  // another key; a sleeping waiter must see what is left.
  if (!queue_.empty()) ready_.NotifyOne();
  return std::move(ready.key);
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (processing_.erase(key) == 0) return;
  if (dirty_.count(key) != 0) {
    // Added while it was processing (before any shutdown: later adds are ignored). It runs again,
    // also during a drain.
    queue_.push_back(Ready{key, clock_->Now()});
    ready_.NotifyOne();
  } else if (shutting_down_ && DrainedLocked()) {
    drained_.notify_all();
  }
}

size_t WorkQueue::Len() {
  std::lock_guard<std::mutex> lock(mu_);
  PromoteDueLocked(clock_->Now());
  return queue_.size();
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  // A delay that is already due is as good as queued (promotion is lazy); the rest are dropped,
  // as client-go's delaying queue stops its timer loop. Level-based reconciles make this safe:
  // the next process resyncs every key.
  PromoteDueLocked(clock_->Now());
  shutting_down_ = true;
  waiting_.clear();
  timers_ = {};
  ready_.NotifyAll();
  if (DrainedLocked()) drained_.notify_all();
}

void WorkQueue::ShutDownWithDrain() {
  ShutDown();
  std::unique_lock<std::mutex> lock(mu_);
  drained_.wait(lock, [&] { return DrainedLocked(); });
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

WorkQueueStats WorkQueue::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  PromoteDueLocked(clock_->Now());
  WorkQueueStats stats = stats_;
  stats.depth = queue_.size();
  stats.waiting = waiting_.size();
  stats.processing = processing_.size();
  return stats;
}

}  // namespace capstan::controller
