#include "plugins/docker/quantity.h"

#include <gtest/gtest.h>

namespace capstan::plugins::docker {
namespace {

TEST(DockerQuantity, MemoryInBytes) {
  EXPECT_EQ(QuantityBytes("128Mi"), 128 * 1024 * 1024);
  EXPECT_EQ(QuantityBytes("1Gi"), int64_t{1} << 30);
  EXPECT_EQ(QuantityBytes("1Ki"), 1024);
  EXPECT_EQ(QuantityBytes("2Ei"), int64_t{2} << 60);
  EXPECT_EQ(QuantityBytes("100M"), 100000000);
  EXPECT_EQ(QuantityBytes("1k"), 1000);
  EXPECT_EQ(QuantityBytes("129e6"), 129000000);
  EXPECT_EQ(QuantityBytes("1E3"), 1000);
  EXPECT_EQ(QuantityBytes("123456789"), 123456789);
  EXPECT_EQ(QuantityBytes("+5"), 5);
  EXPECT_EQ(QuantityBytes("0"), 0);
  EXPECT_EQ(QuantityBytes("1.5Gi"), int64_t{3} << 29);
  EXPECT_EQ(QuantityBytes("0.5Ki"), 512);
}

TEST(DockerQuantity, CpuInMilliUnits) {
  EXPECT_EQ(QuantityMilli("500m"), 500);
  EXPECT_EQ(QuantityMilli("2"), 2000);
  EXPECT_EQ(QuantityMilli("0.25"), 250);
  EXPECT_EQ(QuantityMilli(".5"), 500);
  EXPECT_EQ(QuantityMilli("1.0"), 1000);
  EXPECT_EQ(QuantityMilli("100u"), 1) << "rounded up";
  EXPECT_EQ(QuantityMilli("1n"), 1) << "rounded up";
  EXPECT_EQ(QuantityMilli("0.0001"), 1) << "rounded up";
  EXPECT_EQ(QuantityMilli("1e-3"), 1);
  EXPECT_EQ(QuantityMilli("0.000"), 0);
}

TEST(DockerQuantity, RoundsUpToTheUnit) {
  EXPECT_EQ(QuantityBytes("1.5"), 2);
  EXPECT_EQ(QuantityBytes("100m"), 1);
  EXPECT_EQ(QuantityBytes("1e-40"), 1);
  EXPECT_EQ(QuantityBytes("0e-40"), 0);
}

TEST(DockerQuantity, RejectsWhatIsNotAQuantity) {
  for (const char* bad : {"", "Mi", "abc", "1.2.3", "12MiB", "1mi", "-1", "1 Gi", "1K", "1e", "1e+", "1ee3", "0x10",
                          "1e1000", "99999999999999999999Ei", "9223372036854775808", "1.Gi.", "."}) {
    EXPECT_FALSE(QuantityBytes(bad).has_value()) << bad;
  }
  EXPECT_EQ(QuantityBytes("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(QuantityMilli("9223372036854775807").has_value()) << "overflows in milli-units";
}

}  // namespace
}  // namespace capstan::plugins::docker
