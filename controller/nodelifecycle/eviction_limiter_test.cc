#include "controller/nodelifecycle/eviction_limiter.h"

#include <gtest/gtest.h>

namespace capstan::controller::nodelifecycle {
namespace {

using namespace std::chrono_literals;

TEST(EvictionLimiterTest, OneNodeAtOnceThenOneEveryTenSecondsAtTheDefaultRate) {
  FakeClock clock;
  EvictionLimiter limiter(0.1);
  Clock::Duration wait{};
  EXPECT_TRUE(limiter.TryTake(clock.Now(), &wait));
  EXPECT_EQ(wait, Clock::Duration::zero());
  EXPECT_FALSE(limiter.TryTake(clock.Now(), &wait));
  EXPECT_EQ(wait, 10s);
  // A refusal reserves nothing: asking again later still waits only for the same token.
  clock.Advance(4s);
  EXPECT_FALSE(limiter.TryTake(clock.Now(), &wait));
  EXPECT_EQ(wait, 6s);
  clock.Advance(6s);
  EXPECT_TRUE(limiter.TryTake(clock.Now(), &wait));
  EXPECT_FALSE(limiter.TryTake(clock.Now(), nullptr));
}

TEST(EvictionLimiterTest, IdleTimeRefillsAtMostTheBurst) {
  FakeClock clock;
  EvictionLimiter limiter(1.0, 2);
  clock.Advance(1h);
  EXPECT_TRUE(limiter.TryTake(clock.Now(), nullptr));
  EXPECT_TRUE(limiter.TryTake(clock.Now(), nullptr));
  Clock::Duration wait{};
  EXPECT_FALSE(limiter.TryTake(clock.Now(), &wait));
  EXPECT_EQ(wait, 1s);
}

TEST(EvictionLimiterTest, ANonPositiveRateIsOneADayNotADivisionByZero) {
  FakeClock clock;
  EvictionLimiter limiter(0);
  EXPECT_TRUE(limiter.TryTake(clock.Now(), nullptr));
  Clock::Duration wait{};
  EXPECT_FALSE(limiter.TryTake(clock.Now(), &wait));
  EXPECT_GT(wait, 24h - 1ms);
  EXPECT_LT(wait, 24h + 1ms);
}

}  // namespace
}  // namespace capstan::controller::nodelifecycle
