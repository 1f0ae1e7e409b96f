#include "controller/runtime/clock.h"

#include <algorithm>
#include <cassert>

namespace capstan::controller {

Clock* Clock::Real() {
  // Stateless, so a function-local static has nothing to destroy that a late user could see.
  static RealClock clock;
  return &clock;
}

void RealClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline) {
  // Keep "never" out of wait_until: converting TimePoint::max() to an absolute timespec is
  // where implementations have overflowed.
  if (deadline == kNever) {
    cv.wait(lock);
  } else {
    cv.wait_until(lock, deadline);
  }
}

FakeClock::FakeClock() : now_(TimePoint() + std::chrono::hours(24)) {}

FakeClock::~FakeClock() {
  std::lock_guard<std::mutex> lock(conditions_mu_);
  assert(conditions_.empty() && "a ClockCondition outlived its FakeClock");
}

Clock::TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void FakeClock::Advance(Duration d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (d > Duration::zero()) now_ += d;
  }
  // After the time moved: a waiter that checked the old time holds its mutex until it waits, so
  // taking that mutex below orders the notify after its wait began.
  std::lock_guard<std::mutex> lock(conditions_mu_);
  for (ClockCondition* condition : conditions_) condition->WakeForTimeChange();
}

int FakeClock::Waiters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_;
}

bool FakeClock::BlockUntilWaiters(int n, std::chrono::milliseconds real_timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return waiters_changed_.wait_for(lock, real_timeout, [&] { return waiters_ >= n; });
}

void FakeClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline) {
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (deadline != kNever && now_ >= deadline) return;
    ++waiters_;
  }
  waiters_changed_.notify_all();
  cv.wait(lock);  // woken by a notify of the owner or by Advance()
  std::lock_guard<std::mutex> guard(mu_);
  --waiters_;
}

void FakeClock::Register(ClockCondition* condition) {
  std::lock_guard<std::mutex> lock(conditions_mu_);
  conditions_.push_back(condition);
}

void FakeClock::Unregister(ClockCondition* condition) {
  std::lock_guard<std::mutex> lock(conditions_mu_);
  conditions_.erase(std::remove(conditions_.begin(), conditions_.end(), condition), conditions_.end());
}

ClockCondition::ClockCondition(Clock* clock, std::mutex* mu) : clock_(clock), mu_(mu) {
  clock_->Register(this);
}

ClockCondition::~ClockCondition() { clock_->Unregister(this); }

void ClockCondition::WakeForTimeChange() {
  { std::lock_guard<std::mutex> lock(*mu_); }
  cv_.notify_all();
}

}  // namespace capstan::controller
