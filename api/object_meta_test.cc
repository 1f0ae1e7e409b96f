#include "api/object_meta.h"

#include <gtest/gtest.h>

namespace capstan::api {
namespace {

// LIST splices resourceVersion into the stored text instead of parsing every object; the
// result must equal what decoding would give, including for objects whose nested fields or
// string values look like a top-level "metadata" key.
TEST(EncodedWithResourceVersionTest, SplicesOnlyTheTopLevelMetadata) {
  const json tricky = {{"apiVersion", "v1"},
                       {"data", {{"metadata", "{\"metadata\":{"}, {"x\\\"", "\\"}}},
                       {"aaa", {{"metadata", {{"name", "nested"}}}}},
                       {"kind", "ConfigMap"},
                       {"metadata", {{"name", "cm"}}}};
  const std::string stored = EncodeForStore(tricky);
  const std::string spliced = EncodedWithResourceVersion(stored, 42);
  ASSERT_FALSE(spliced.empty());
  json back = json::parse(spliced);
  json expected = tricky;
  expected["metadata"]["resourceVersion"] = "42";
  EXPECT_EQ(back, expected);
  EXPECT_EQ(back["aaa"]["metadata"], json({{"name", "nested"}}));

  EXPECT_EQ(json::parse(EncodedWithResourceVersion(R"({"kind":"X","metadata":{}})", 7)),
            json::parse(R"({"kind":"X","metadata":{"resourceVersion":"7"}})"));
  EXPECT_EQ(EncodedWithResourceVersion(R"({"kind":"X"})", 7), "");
  EXPECT_EQ(EncodedWithResourceVersion("", 7), "");
}

}  // namespace
}  // namespace capstan::api
