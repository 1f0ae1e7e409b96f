#include "base/cron_schedule.h"

#include <gtest/gtest.h>

namespace capstan {
namespace {

int64_t At(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return timegm(&tm);
}

int64_t Next(const std::string& spec, int64_t after) {
  Result<CronSchedule> s = CronSchedule::Parse(spec);
  EXPECT_TRUE(s.ok()) << spec << ": " << s.status().ToString();
  return s.ok() ? s->Next(after) : 0;
}

TEST(CronScheduleTest, NextMatchingMinute) {
  int64_t t = At(2025, 1, 15, 10, 30);  // a Wednesday
  EXPECT_EQ(Next("0 3 * * *", t), At(2025, 1, 16, 3, 0));
  EXPECT_EQ(Next("*/15 * * * *", t), At(2025, 1, 15, 10, 45));
  EXPECT_EQ(Next("* * * * *", t), At(2025, 1, 15, 10, 31));
  EXPECT_EQ(Next("30 10 * * *", t), At(2025, 1, 16, 10, 30));  // strictly after
  EXPECT_EQ(Next("0 0 1 * *", t), At(2025, 2, 1, 0, 0));
  EXPECT_EQ(Next("0 12 * * mon-fri", At(2025, 1, 17, 13, 0)), At(2025, 1, 20, 12, 0));  // Fri -> Mon
  EXPECT_EQ(Next("0 0 * * 7", t), At(2025, 1, 19, 0, 0));  // Sunday
  EXPECT_EQ(Next("0 0 29 feb *", t), At(2028, 2, 29, 0, 0));
  EXPECT_EQ(Next("@hourly", t), At(2025, 1, 15, 11, 0));
  EXPECT_EQ(Next("0 9-17/4 * dec *", t), At(2025, 12, 1, 9, 0));
  // Both day fields restricted: either matches (the 20th, or any Friday).
  EXPECT_EQ(Next("0 0 20 * fri", t), At(2025, 1, 17, 0, 0));
  EXPECT_EQ(Next("0 0 30 2 *", t), INT64_MAX);
}

TEST(CronScheduleTest, BadSpecsNameTheField) {
  for (const auto& [spec, field] : std::vector<std::pair<std::string, std::string>>{
           {"0 24 * * *", "hour"}, {"60 * * * *", "minute"}, {"* * 0 * *", "day-of-month"},
           {"* * * 13 *", "month"}, {"* * * * 8", "day-of-week"}, {"*/0 * * * *", "minute"},
           {"5-1 * * * *", "minute"}, {"* * * foo *", "month"}, {"0 3 * *", "5"}, {"@often", "5"}}) {
    Result<CronSchedule> s = CronSchedule::Parse(spec);
    ASSERT_FALSE(s.ok()) << spec;
    EXPECT_EQ(s.status().code(), Code::kInvalid);
    EXPECT_NE(s.status().message().find(field), std::string::npos) << spec << ": " << s.status().message();
  }
}

}  // namespace
}  // namespace capstan
