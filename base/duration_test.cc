#include "base/duration.h"

#include <gtest/gtest.h>

namespace capstan {
namespace {

using std::chrono::milliseconds;

TEST(ParseDurationTest, GoUnitsAndSequences) {
  EXPECT_EQ(ParseDuration("30s"), milliseconds(30000));
  EXPECT_EQ(ParseDuration("5m"), milliseconds(300000));
  EXPECT_EQ(ParseDuration("1h30m"), milliseconds(5400000));
  EXPECT_EQ(ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(ParseDuration("0"), milliseconds(0));
}

TEST(ParseDurationTest, RejectsWhatGoRejects) {
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("5"));
  EXPECT_FALSE(ParseDuration("m"));
  EXPECT_FALSE(ParseDuration("5d"));
  EXPECT_FALSE(ParseDuration("-5s"));
}

}  // namespace
}  // namespace capstan
