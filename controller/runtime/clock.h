// Clock: the time source of the controller runtime, injectable so tests never sleep.
//
// Everything in controller/runtime that reads the time or waits for a deadline goes through a
// Clock: RealClock (steady_clock) in production, FakeClock in tests, where time moves only when
// the test calls Advance().
//
// Timed waits go through a ClockCondition: a condition variable over the caller's own mutex whose
// deadlines are measured on a Clock. On the real clock it is a std::condition_variable with
// wait_until. On a FakeClock a deadline cannot fire by itself, so every ClockCondition registers
// with its clock and Advance() wakes all of them; a woken waiter re-checks its predicate and its
// deadline against Now() and sleeps again if neither holds.
//
// Why no wakeup is lost on a FakeClock: a waiter reads Now() and starts to wait while holding its
// mutex (std::condition_variable::wait releases it atomically). Advance() first moves the time,
// then takes each registered condition's mutex before notifying it. So a waiter either read the
// new time, or was already waiting when the notify came.
//
// Lock order (FakeClock): FakeClock::conditions_mu_ → a ClockCondition's mutex → FakeClock::mu_.
// Hence: never call FakeClock::Advance() while holding the mutex of a ClockCondition on that
// clock, and never construct or destroy a ClockCondition while holding its mutex.
//
// Thread-safety: every method of Clock, RealClock, FakeClock and ClockCondition is thread-safe
// (ClockCondition's waits follow std::condition_variable's rules: hold the mutex).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace capstan::controller {

class ClockCondition;

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  // A deadline that never comes: wait until notified.
  static constexpr TimePoint kNever = TimePoint::max();

  virtual ~Clock() = default;

  virtual TimePoint Now() const = 0;

  // The process-wide real clock. Never destroyed; safe to use from any thread at any time.
  static Clock* Real();

 protected:
  friend class ClockCondition;

  // With `lock` held on entry and on return (released while blocked): blocks until `cv` is
  // notified, Now() reaches `deadline`, or spuriously. Callers loop on their own predicate.
  virtual void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline) = 0;
  // A clock whose time moves by itself (RealClock) ignores registrations; a FakeClock wakes every
  // registered condition when it advances.
  virtual void Register(ClockCondition* /*condition*/) {}
  virtual void Unregister(ClockCondition* /*condition*/) {}
};

// steady_clock. Stateless.
class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }

 protected:
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline) override;
};

// Time stands still until Advance(). Starts at an arbitrary, fixed, non-zero time point so that
// tests are reproducible and a default-constructed TimePoint never equals "now".
class FakeClock final : public Clock {
 public:
  FakeClock();
  ~FakeClock() override;  // every ClockCondition on this clock must be gone by then

  TimePoint Now() const override;

  // Moves the time forward by `d` (negative is treated as zero) and wakes every thread waiting on
  // a ClockCondition of this clock, so each one whose deadline passed returns from its wait.
  // Must not be called while holding such a condition's mutex (see the lock order above).
  void Advance(Duration d);

  // Threads currently blocked in a wait (timed or not) on a ClockCondition of this clock. A test
  // helper for thread handoffs ("the worker is back in Get()"); a waiter counts from just before
  // it blocks until just after it wakes.
  int Waiters() const;

  // Blocks, in real time, until Waiters() >= n or `real_timeout` passes; returns whether reached.
  bool BlockUntilWaiters(int n, std::chrono::milliseconds real_timeout) const;

 protected:
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline) override;
  void Register(ClockCondition* condition) override;
  void Unregister(ClockCondition* condition) override;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable waiters_changed_;
  // Guarded by mu_.
  TimePoint now_;
  int waiters_ = 0;

  // Held while Advance() wakes the conditions, so Unregister() (a condition's destructor) waits
  // out a wake in progress and Advance() never touches a destroyed condition.
  std::mutex conditions_mu_;
  // Guarded by conditions_mu_.
  std::vector<ClockCondition*> conditions_;
};

// A condition variable over the caller's mutex `mu`, with deadlines on `clock`. Both must outlive
// it. Construct and destroy it without holding `mu`.
class ClockCondition {
 public:
  ClockCondition(Clock* clock, std::mutex* mu);
  ~ClockCondition();

  ClockCondition(const ClockCondition&) = delete;
  ClockCondition& operator=(const ClockCondition&) = delete;

  Clock* clock() const { return clock_; }

  // `lock` holds `mu`. Returns after a notify, once clock()->Now() >= deadline, or spuriously.
  void WaitUntil(std::unique_lock<std::mutex>& lock, Clock::TimePoint deadline) {
    clock_->WaitUntil(lock, cv_, deadline);
  }

  // Waits until pred() holds (returns true) or the deadline passes with pred() false (false).
  template <typename Predicate>
  bool WaitUntil(std::unique_lock<std::mutex>& lock, Clock::TimePoint deadline, Predicate pred) {
    while (!pred()) {
      if (clock_->Now() >= deadline) return pred();
      clock_->WaitUntil(lock, cv_, deadline);
    }
    return true;
  }

  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  friend class FakeClock;
  // The time moved: lock `mu` (so no waiter is between its check and its wait) and wake all.
  void WakeForTimeChange();

  Clock* const clock_;
  std::mutex* const mu_;
  std::condition_variable cv_;
};

}  // namespace capstan::controller
