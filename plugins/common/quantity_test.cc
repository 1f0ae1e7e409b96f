#include "plugins/common/quantity.h"

#include <gtest/gtest.h>

namespace capstan::plugins {
namespace {

int64_t Value(std::string_view q) {
  sdk::Result<int64_t> v = QuantityValue(q);
  EXPECT_TRUE(v.ok()) << q << ": " << (v.ok() ? "" : v.error().message);
  return v.ok() ? v.value() : -1;
}

int64_t Millis(std::string_view q) {
  sdk::Result<int64_t> v = QuantityMillis(q);
  EXPECT_TRUE(v.ok()) << q << ": " << (v.ok() ? "" : v.error().message);
  return v.ok() ? v.value() : -1;
}

TEST(PluginQuantity, BinaryAndDecimalSuffixes) {
  EXPECT_EQ(Value("128Mi"), 128LL << 20);
  EXPECT_EQ(Value("1Ki"), 1024);
  EXPECT_EQ(Value("0.5Ki"), 512);
  EXPECT_EQ(Value("1Gi"), 1LL << 30);
  EXPECT_EQ(Value("2Ti"), 2LL << 40);
  EXPECT_EQ(Value("1Ei"), 1LL << 60);
  EXPECT_EQ(Value("2Ei"), 2LL << 60);
  EXPECT_EQ(Value("1k"), 1000);
  EXPECT_EQ(Value("1M"), 1000000);
  EXPECT_EQ(Value("100M"), 100000000);
  EXPECT_EQ(Value("1G"), 1000000000);
  EXPECT_EQ(Value("3T"), 3000000000000LL);
  EXPECT_EQ(Value("1P"), 1000000000000000LL);
  EXPECT_EQ(Value("1E"), 1000000000000000000LL);
  EXPECT_EQ(Value("123456789"), 123456789);
  EXPECT_EQ(Value("+5"), 5);
  EXPECT_EQ(Value("0"), 0);
}

TEST(PluginQuantity, FractionsAndExponentsAreExactAndRoundUp) {
  EXPECT_EQ(Millis("500m"), 500);
  EXPECT_EQ(Millis("2"), 2000);
  EXPECT_EQ(Millis("1.1"), 1100) << "no floating point error";
  EXPECT_EQ(Millis("0.1"), 100);
  EXPECT_EQ(Millis("0.25"), 250);
  EXPECT_EQ(Millis(".5"), 500);
  EXPECT_EQ(Millis("1.0"), 1000);
  EXPECT_EQ(Millis("1.50"), 1500);
  EXPECT_EQ(Millis("0.000"), 0);
  EXPECT_EQ(Millis("100u"), 1) << "0.1 milli-CPU rounds up";
  EXPECT_EQ(Millis("1n"), 1);
  EXPECT_EQ(Millis("0.0005"), 1);
  EXPECT_EQ(Millis("1e-3"), 1);
  EXPECT_EQ(Millis("2.5e-3"), 3);
  EXPECT_EQ(Value("0.5"), 1);
  EXPECT_EQ(Value("1.5"), 2);
  EXPECT_EQ(Value("100m"), 1);
  EXPECT_EQ(Value("1.5Gi"), 3LL << 29);
  EXPECT_EQ(Value("0.1Gi"), 107374183) << "ceil(107374182.4)";
  EXPECT_EQ(Value("1e3"), 1000);
  EXPECT_EQ(Value("1E3"), 1000);
  EXPECT_EQ(Value("12E2"), 1200);
  EXPECT_EQ(Value("129e6"), 129000000);
  EXPECT_EQ(Value("5e-1"), 1);
  EXPECT_EQ(Value("1e-40"), 1) << "below any divisor that fits: still one unit";
  EXPECT_EQ(Value("1e-100"), 1);
  EXPECT_EQ(Value("0e-100"), 0);
}

TEST(PluginQuantity, TheLimitIsInt64NotTheNumberOfDigits) {
  EXPECT_EQ(Value("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(Value("1234567890123456789"), 1234567890123456789LL);
  EXPECT_EQ(Value("0.000000000000000000000000000000000000001E40"), 10) << "leading zeros are not significant";
  EXPECT_FALSE(QuantityMillis("9223372036854775807").ok()) << "overflows in milli-units";
  EXPECT_FALSE(QuantityValue("1e20").ok()) << "beyond int64";
  EXPECT_FALSE(QuantityValue("1234567890123456789012345678901234567").ok()) << "37 significant digits";
}

TEST(PluginQuantity, MalformedQuantitiesAreErrorsThatQuoteThem) {
  for (const char* bad : {"",    "-1",   "abc", "Mi",   "1Xi",  "1mi",   "1K",     "12MiB", "1.2.3", "1.Gi.",
                          ".",   "1 Mi", "1e",  "1e+",  "1eq",  "1ee3",  "0x10",   "1e1000", "10E",  "8Ei",
                          "99999999999999999999Ki", "99999999999999999999Ei", "9223372036854775808"}) {
    sdk::Result<int64_t> v = QuantityValue(bad);
    EXPECT_FALSE(v.ok()) << "\"" << bad << "\" parsed as " << (v.ok() ? v.value() : 0);
    if (!v.ok()) {
      EXPECT_EQ(v.error().code, CAPSTAN_ERR_INVALID_ARGUMENT);
      EXPECT_NE(v.error().message.find(std::string("\"") + bad + "\""), std::string::npos) << v.error().message;
    }
  }
}

TEST(PluginQuantity, JsonNumbersAreQuantitiesToo) {
  EXPECT_EQ(QuantityText(nlohmann::json("250m")).value(), "250m");
  EXPECT_EQ(QuantityText(nlohmann::json(2)).value(), "2");
  EXPECT_EQ(QuantityText(nlohmann::json(0.5)).value(), "0.5");
  EXPECT_EQ(QuantityText(nlohmann::json(1e20)).value(), "1e20");
  EXPECT_FALSE(QuantityText(nlohmann::json::array()).ok());
  EXPECT_FALSE(QuantityText(nlohmann::json(true)).ok());
}

}  // namespace
}  // namespace capstan::plugins
