#include "api/kinds/printing.h"

#include <gtest/gtest.h>

namespace capstan::api::kinds {
namespace {

TEST(PrintingTest, HumanDurationMatchesApimachinery) {
  EXPECT_EQ(HumanDuration(-5), "<invalid>");
  EXPECT_EQ(HumanDuration(-1), "0s");
  EXPECT_EQ(HumanDuration(5), "5s");
  EXPECT_EQ(HumanDuration(119), "119s");
  EXPECT_EQ(HumanDuration(120), "2m");
  EXPECT_EQ(HumanDuration(182), "3m2s");
  EXPECT_EQ(HumanDuration(10 * 60 + 30), "10m");
  EXPECT_EQ(HumanDuration(179 * 60), "179m");
  EXPECT_EQ(HumanDuration(3 * 3600), "3h");
  EXPECT_EQ(HumanDuration(3 * 3600 + 5 * 60), "3h5m");
  EXPECT_EQ(HumanDuration(47 * 3600), "47h");
  EXPECT_EQ(HumanDuration(51 * 3600), "2d3h");
  EXPECT_EQ(HumanDuration(48 * 3600), "2d");
  EXPECT_EQ(HumanDuration(30 * 86400), "30d");
  EXPECT_EQ(HumanDuration((365 * 3 + 10) * 86400), "3y10d");
  EXPECT_EQ(HumanDuration(365LL * 10 * 86400), "10y");
}

TEST(PrintingTest, Rfc3339) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("2024-02-29T12:00:00Z"), 1709208000);
  EXPECT_EQ(ParseRfc3339("2024-02-29T14:00:00.123+02:00"), 1709208000);
  EXPECT_EQ(ParseRfc3339("2024-02-29 12:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("yesterday"), std::nullopt);
  EXPECT_EQ(FormatRfc3339(1709208000), "2024-02-29T12:00:00Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(1234567890)), 1234567890);
}

TEST(PrintingTest, AgeCell) {
  json obj = {{"metadata", {{"creationTimestamp", FormatRfc3339(NowEpochSeconds() - 3 * 60 - 2)}}}};
  std::string age = AgeCell(obj).get<std::string>();
  EXPECT_TRUE(age == "3m2s" || age == "3m3s") << age;
  EXPECT_EQ(AgeCell(json::object()), "<unknown>");
  EXPECT_EQ(TimestampSince(json()), "<unknown>");
}

}  // namespace
}  // namespace capstan::api::kinds
