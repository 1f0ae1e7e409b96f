// Rate limiters for re-queueing failed keys, with client-go's workqueue semantics.
//
// A RateLimiter answers "how long should this key wait before it is retried?". When() records one
// more failure of the key and returns the delay; Forget() ends the key's failure streak (call it
// once the key reconciled successfully, or gave up); NumRequeues() is the streak's length.
//
// Capstan's default (DefaultControllerRateLimiter) is, like client-go's, the larger of a per-key
// exponential backoff and one global token bucket: the backoff keeps one broken object from
// spinning, the bucket bounds the retries of all keys together when many fail at once (a store
// restart, a conflict storm). Fresh adds are never rate limited, only AddRateLimited re-adds.
//
// Thread-safety: every limiter here is thread-safe. Time comes from the Clock given at
// construction (which must outlive the limiter), so tests drive it with a FakeClock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/runtime/clock.h"

namespace capstan::controller {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;

  // Records a failure of `key` and returns how long to wait before retrying it (>= 0).
  virtual Clock::Duration When(const std::string& key) = 0;
  // Ends the key's failure streak; its next When() starts again from the shortest delay.
  virtual void Forget(const std::string& key) = 0;
  // Failures recorded for `key` since its last Forget (0 for limiters without per-key state).
  virtual int64_t NumRequeues(const std::string& key) = 0;
};

// Per key: delay = base * 2^(failures so far), capped at `max`. client-go's
// ItemExponentialFailureRateLimiter. The first When() returns `base`.
//
// Memory: one entry per key with a streak; Forget() removes it. A key that is never forgotten
// stays, so callers Forget on success and on terminal failure (WorkerPool does).
class ItemExponentialRateLimiter final : public RateLimiter {
 public:
  static constexpr Clock::Duration kDefaultBase = std::chrono::milliseconds(5);
  static constexpr Clock::Duration kDefaultMax = std::chrono::seconds(1000);

  // base >= 0 and max >= base (asserted; a smaller max is raised to base).
  explicit ItemExponentialRateLimiter(Clock::Duration base = kDefaultBase,
                                      Clock::Duration max = kDefaultMax);

  Clock::Duration When(const std::string& key) override;
  void Forget(const std::string& key) override;
  int64_t NumRequeues(const std::string& key) override;

 private:
  // Constant after construction.
  const Clock::Duration base_;
  const Clock::Duration max_;

  std::mutex mu_;
  // Guarded by mu_. Holds only keys with at least one failure.
  std::unordered_map<std::string, int64_t> failures_;
};

// One bucket for all keys: `burst` tokens, refilled at `qps` per second. Every When() reserves
// the next token and returns how long until it is available (0 while the bucket has tokens), so
// concurrent retries are spaced 1/qps apart once the burst is spent. Idle time refills at most
// `burst` tokens. client-go's BucketRateLimiter (golang.org/x/time/rate reservations).
//
// Implemented as GCRA in integer nanoseconds: `tat_` is the time at which the bucket will be full
// again; each reservation pushes it 1/qps later, and a token is free while tat_ stays within
// `burst` intervals of now. Exact and drift-free, which keeps tests exact.
// Forget and NumRequeues are no-ops: the bucket has no per-key state.
class TokenBucketRateLimiter final : public RateLimiter {
 public:
  // qps > 0 and burst >= 1 (asserted; clamped in release builds).
  TokenBucketRateLimiter(double qps, int64_t burst, Clock* clock);

  Clock::Duration When(const std::string& key) override;
  void Forget(const std::string& /*key*/) override {}
  int64_t NumRequeues(const std::string& /*key*/) override { return 0; }

 private:
  // Constant after construction.
  Clock* const clock_;
  const Clock::Duration interval_;   // 1/qps, at least 1 ns
  const Clock::Duration tolerance_;  // burst * interval_: how far ahead of now reservations may run for free

  std::mutex mu_;
  // Guarded by mu_. Starts in the past: a full bucket.
  Clock::TimePoint tat_{};
};

// The largest delay of several limiters; every limiter sees every call (so the bucket reserves a
// token and the backoff counts the failure even when the other one decides). NumRequeues is the
// largest of theirs. client-go's MaxOfRateLimiter.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters);

  Clock::Duration When(const std::string& key) override;
  void Forget(const std::string& key) override;
  int64_t NumRequeues(const std::string& key) override;

 private:
  const std::vector<std::unique_ptr<RateLimiter>> limiters_;  // each thread-safe by itself
};

// Capstan's defaults for the global retry bucket. client-go uses 10 qps with a burst of 100, sized
// for one controller among dozens sharing a large cluster's API server. Capstan targets 2,000
// pods/s through one process on 2 cores: after a store restart or a conflict storm thousands of
// keys fail together, and at 10 qps their retries would trickle in over minutes while the loop
// sits idle. 5,000 qps (2.5x the target rate) with a burst of 10,000 lets a whole wave retry
// within seconds, yet still bounds a hot loop of keys that fail instantly to a rate the API
// server absorbs. The per-key backoff (5 ms to 1000 s) remains the main brake on a broken object.
inline constexpr double kDefaultRetryQps = 5000;
inline constexpr int64_t kDefaultRetryBurst = 10000;

// max(ItemExponentialRateLimiter(5 ms, 1000 s), TokenBucketRateLimiter(5000 qps, burst 10000)).
std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(Clock* clock);

}  // namespace capstan::controller
