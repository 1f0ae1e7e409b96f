#include "base/base64.h"

#include <gtest/gtest.h>

namespace capstan {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto back = Base64Decode(encoded);
    ASSERT_TRUE(back.has_value()) << encoded;
    EXPECT_EQ(*back, plain);
  }
}

TEST(Base64Test, RejectsMalformedInputUnlessLenient) {
  EXPECT_FALSE(Base64Decode("Zm9").has_value());       // missing padding
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());     // bad character
  EXPECT_FALSE(Base64Decode("Zg==Zg==").has_value());  // data after padding
  EXPECT_FALSE(Base64Decode("Z").has_value());
  auto lenient = Base64Decode("Zm9v\nYmFy", /*lenient=*/true);
  ASSERT_TRUE(lenient.has_value());
  EXPECT_EQ(*lenient, "foobar");
  EXPECT_EQ(*Base64Decode("Zm8", /*lenient=*/true), "fo");
}

TEST(Base64Test, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
}

}  // namespace
}  // namespace capstan
