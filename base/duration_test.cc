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

TEST(ParseDurationSecondsTest, ParsesKubernetesDurations) {
  EXPECT_EQ(*ParseDurationSeconds("720h"), 720 * 3600);
  EXPECT_EQ(*ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("1.5h"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("1500ms"), 1);
  EXPECT_EQ(*ParseDurationSeconds("0"), 0);
  for (const char* bad : {"", "30d", "-1h", "h", "1.2.3h", "10", "1h 2m"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace capstan
