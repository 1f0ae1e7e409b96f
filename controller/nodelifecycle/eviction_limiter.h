// EvictionLimiter: how fast nodes may enter eviction, as Kubernetes' --node-eviction-rate (0.1
// nodes per second) with a burst of one: the first not-ready node is tainted NoExecute at once,
// the next one 1/rate later, and so on. One bucket for the whole cluster (Kubernetes keeps one per
// zone; Capstan treats the cluster as one zone). Pods of one node are evicted together.
//
// Unlike controller/runtime's TokenBucketRateLimiter (whose When() reserves a token and says how
// long to wait for it), TryTake takes a token only when one is free now, so a reconcile that is
// refused can requeue itself after `wait` without holding a reservation that would delay the
// others.
//
// GCRA in integer clock time: tat_ is when the bucket is full again; a token is free while tat_ is
// at most (burst - 1) intervals ahead of now.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <mutex>

#include "controller/runtime/clock.h"

namespace capstan::controller::nodelifecycle {

class EvictionLimiter {
 public:
  // qps > 0 (smaller values are raised to one token a day), burst >= 1.
  explicit EvictionLimiter(double qps, int64_t burst = 1);

  // Takes a token if one is free at `now` and returns true; else returns false and sets *wait to
  // how long until one is (wait may be null).
  bool TryTake(Clock::TimePoint now, Clock::Duration* wait);

 private:
  // Constant after construction.
  const Clock::Duration interval_;
  const Clock::Duration tolerance_;

  std::mutex mu_;
  Clock::TimePoint tat_{};  // guarded by mu_; starts in the past: a full bucket
};

}  // namespace capstan::controller::nodelifecycle
