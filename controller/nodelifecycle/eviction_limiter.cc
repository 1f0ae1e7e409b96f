#include "controller/nodelifecycle/eviction_limiter.h"

#include <algorithm>
#include <chrono>

namespace capstan::controller::nodelifecycle {

namespace {

Clock::Duration Interval(double qps) {
  constexpr double kMinQps = 1.0 / 86400;  // one a day
  const double seconds = 1.0 / std::max(qps, kMinQps);
  return std::max(Clock::Duration(1),
                  std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds)));
}

}  // namespace

EvictionLimiter::EvictionLimiter(double qps, int64_t burst)
    : interval_(Interval(qps)), tolerance_(interval_ * (std::max<int64_t>(burst, 1) - 1)) {}

bool EvictionLimiter::TryTake(Clock::TimePoint now, Clock::Duration* wait) {
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::TimePoint start = std::max(tat_, now);
  if (start - now > tolerance_) {
    if (wait != nullptr) *wait = start - now - tolerance_;
    return false;
  }
  tat_ = start + interval_;
  if (wait != nullptr) *wait = Clock::Duration::zero();
  return true;
}

}  // namespace capstan::controller::nodelifecycle
