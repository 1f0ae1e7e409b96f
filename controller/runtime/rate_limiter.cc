#include "controller/runtime/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace capstan::controller {

ItemExponentialRateLimiter::ItemExponentialRateLimiter(Clock::Duration base, Clock::Duration max)
    : base_(std::max(base, Clock::Duration::zero())), max_(std::max(max, base_)) {
  assert(base >= Clock::Duration::zero() && max >= base);
}

Clock::Duration ItemExponentialRateLimiter::When(const std::string& key) {
  int64_t exponent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    exponent = failures_[key]++;
  }
  // base * 2^exponent <= max  <=>  base <= floor(max / 2^exponent) for integers, so comparing
  // against the shifted max never overflows; 62 keeps the shift itself defined for any count.
  const int64_t base = base_.count();
  const int64_t max = max_.count();
  if (base == 0) return Clock::Duration::zero();
  if (exponent >= 62 || base > (max >> exponent)) return max_;
  return Clock::Duration(base << exponent);
}

void ItemExponentialRateLimiter::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int64_t ItemExponentialRateLimiter::NumRequeues(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

namespace {

Clock::Duration IntervalFor(double qps) {
  assert(qps > 0);
  if (!(qps > 0)) qps = 1;  // also catches NaN
  double nanos = std::round(1e9 / qps);
  return Clock::Duration(std::max<int64_t>(1, static_cast<int64_t>(std::min(nanos, 1e18))));
}

}  // namespace

TokenBucketRateLimiter::TokenBucketRateLimiter(double qps, int64_t burst, Clock* clock)
    : clock_(clock),
      interval_(IntervalFor(qps)),
      // Capped so that tat_ - now - tolerance_ stays far from overflow.
      tolerance_(interval_ * std::clamp<int64_t>(burst, 1, (int64_t{1} << 62) / interval_.count())) {
  assert(burst >= 1);
}

Clock::Duration TokenBucketRateLimiter::When(const std::string& /*key*/) {
  const Clock::TimePoint now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  // tat_ <= now means a full bucket: idle time refills `burst` tokens and no more.
  tat_ = std::max(tat_, now) + interval_;
  // The token is free while the reservations run at most `burst` intervals ahead of now.
  return std::max(Clock::Duration::zero(), tat_ - now - tolerance_);
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
    : limiters_(std::move(limiters)) {}

Clock::Duration MaxOfRateLimiter::When(const std::string& key) {
  Clock::Duration delay = Clock::Duration::zero();
  for (const auto& limiter : limiters_) delay = std::max(delay, limiter->When(key));
  return delay;
}

void MaxOfRateLimiter::Forget(const std::string& key) {
  for (const auto& limiter : limiters_) limiter->Forget(key);
}

int64_t MaxOfRateLimiter::NumRequeues(const std::string& key) {
  int64_t requeues = 0;
  for (const auto& limiter : limiters_) requeues = std::max(requeues, limiter->NumRequeues(key));
  return requeues;
}

std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(Clock* clock) {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemExponentialRateLimiter>());
  limiters.push_back(std::make_unique<TokenBucketRateLimiter>(kDefaultRetryQps, kDefaultRetryBurst, clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

}  // namespace capstan::controller
