// Rate limiters: the exponential per-key backoff, the global token bucket, their maximum, and the
// defaults. All on a FakeClock; nothing here waits.
#include "controller/runtime/rate_limiter.h"

#include <gtest/gtest.h>

namespace capstan::controller {
namespace {

using namespace std::chrono_literals;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

TEST(ItemExponentialRateLimiterTest, DoublesFromFiveMillisecondsUpToTheCap) {
  ItemExponentialRateLimiter limiter;  // 5 ms .. 1000 s
  Clock::Duration expected = 5ms;
  for (int i = 0; i < 18; ++i) {  // 5 ms * 2^17 = 655.36 s is the last uncapped delay
    EXPECT_EQ(limiter.When("a"), expected) << "failure " << i;
    expected *= 2;
  }
  EXPECT_EQ(limiter.When("a"), 1000s);  // 5 ms * 2^18 = 1310.72 s, capped
  EXPECT_EQ(limiter.When("a"), 1000s);
  EXPECT_EQ(limiter.NumRequeues("a"), 20);
}

TEST(ItemExponentialRateLimiterTest, HugeFailureCountsStayAtTheCapWithoutOverflow) {
  ItemExponentialRateLimiter limiter(1ns, Clock::Duration::max());
  Clock::Duration previous{};
  for (int i = 0; i < 200; ++i) {
    Clock::Duration delay = limiter.When("a");
    EXPECT_GE(delay, previous) << "failure " << i;  // monotonic: never wraps negative
    previous = delay;
  }
  EXPECT_EQ(previous, Clock::Duration::max());

  ItemExponentialRateLimiter defaults;
  for (int i = 0; i < 10000; ++i) ASSERT_LE(defaults.When("b"), 1000s);
  EXPECT_EQ(defaults.When("b"), 1000s);
}

TEST(ItemExponentialRateLimiterTest, ForgetRestartsTheSequenceAndKeysAreIndependent) {
  ItemExponentialRateLimiter limiter;
  EXPECT_EQ(limiter.When("a"), 5ms);
  EXPECT_EQ(limiter.When("a"), 10ms);
  EXPECT_EQ(limiter.When("a"), 20ms);
  EXPECT_EQ(limiter.When("b"), 5ms);  // b has its own streak
  EXPECT_EQ(limiter.NumRequeues("a"), 3);
  EXPECT_EQ(limiter.NumRequeues("b"), 1);

  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a"), 5ms);
  EXPECT_EQ(limiter.When("b"), 10ms);
  limiter.Forget("never-failed");  // harmless
  EXPECT_EQ(limiter.NumRequeues("never-failed"), 0);
}

TEST(ItemExponentialRateLimiterTest, ZeroBaseNeverDelays) {
  ItemExponentialRateLimiter limiter(0ns, 1s);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.When("a"), Clock::Duration::zero());
}

TEST(TokenBucketRateLimiterTest, BurstIsFreeThenTokensAreSpacedByOneOverQps) {
  FakeClock clock;
  TokenBucketRateLimiter bucket(10, 3, &clock);  // a token every 100 ms, 3 in the bucket
  EXPECT_EQ(bucket.When("a"), 0ms);
  EXPECT_EQ(bucket.When("b"), 0ms);
  EXPECT_EQ(bucket.When("c"), 0ms);
  EXPECT_EQ(bucket.When("d"), 100ms);  // reservations queue up behind each other
  EXPECT_EQ(bucket.When("e"), 200ms);
  EXPECT_EQ(bucket.NumRequeues("a"), 0);

  // 200 ms later the two reservations are due and no token has accumulated beyond them.
  clock.Advance(200ms);
  EXPECT_EQ(bucket.When("f"), 100ms);
}

TEST(TokenBucketRateLimiterTest, IdleTimeRefillsAtMostTheBurst) {
  FakeClock clock;
  TokenBucketRateLimiter bucket(10, 3, &clock);
  for (int i = 0; i < 10; ++i) (void)bucket.When("a");  // deep in debt: the 10th waits 700 ms
  clock.Advance(1h);
  EXPECT_EQ(bucket.When("a"), 0ms);
  EXPECT_EQ(bucket.When("a"), 0ms);
  EXPECT_EQ(bucket.When("a"), 0ms);
  EXPECT_EQ(bucket.When("a"), 100ms);

  // A partial refill: 150 ms after the bucket ran dry, one token is back (and half of the next).
  clock.Advance(100ms);  // pays the reservation above
  clock.Advance(150ms);
  EXPECT_EQ(bucket.When("a"), 0ms);
  EXPECT_EQ(bucket.When("a"), 50ms);
}

TEST(TokenBucketRateLimiterTest, DefaultRateAllowsTheWholeBurstThenFiveThousandPerSecond) {
  FakeClock clock;
  TokenBucketRateLimiter bucket(kDefaultRetryQps, kDefaultRetryBurst, &clock);
  for (int64_t i = 0; i < kDefaultRetryBurst; ++i) ASSERT_EQ(bucket.When("k"), 0ms) << i;
  EXPECT_EQ(bucket.When("k"), 200us);
  EXPECT_EQ(bucket.When("k"), 400us);
}

TEST(MaxOfRateLimiterTest, TakesTheLargestDelayAndFeedsEveryLimiter) {
  FakeClock clock;
  std::vector<std::unique_ptr<RateLimiter>> parts;
  parts.push_back(std::make_unique<ItemExponentialRateLimiter>(5ms, 1000s));
  parts.push_back(std::make_unique<TokenBucketRateLimiter>(10, 2, &clock));
  MaxOfRateLimiter limiter(std::move(parts));

  EXPECT_EQ(limiter.When("a"), 5ms);    // bucket free, backoff 5 ms
  EXPECT_EQ(limiter.When("a"), 10ms);   // bucket free, backoff 10 ms
  EXPECT_EQ(limiter.When("b"), 100ms);  // bucket empty: 100 ms beats b's 5 ms
  EXPECT_EQ(limiter.NumRequeues("a"), 2);
  EXPECT_EQ(limiter.NumRequeues("b"), 1);  // the backoff counted b although the bucket decided

  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  clock.Advance(1s);
  EXPECT_EQ(limiter.When("a"), 5ms);
}

TEST(DefaultControllerRateLimiterTest, IsExponentialBackoffUnderAGenerousBucket) {
  FakeClock clock;
  auto limiter = DefaultControllerRateLimiter(&clock);
  EXPECT_EQ(limiter->When("a"), 5ms);
  EXPECT_EQ(limiter->When("a"), 10ms);
  EXPECT_EQ(limiter->When("a"), 20ms);
  EXPECT_EQ(limiter->NumRequeues("a"), 3);
  limiter->Forget("a");
  EXPECT_EQ(limiter->When("a"), 5ms);

  // A wave of 10,000 distinct failing keys: none waits for the bucket (only its own 5 ms).
  for (int i = 0; i < 9990; ++i) ASSERT_EQ(limiter->When("k" + std::to_string(i)), 5ms) << i;
  // Past the burst, the bucket's spacing (200 us per token) takes over once it exceeds 5 ms.
  Clock::Duration last{};
  for (int i = 0; i < 100; ++i) last = limiter->When("w" + std::to_string(i));
  EXPECT_GT(duration_cast<milliseconds>(last), 5ms);
}

}  // namespace
}  // namespace capstan::controller
