#include "api/schema.h"

#include <gtest/gtest.h>

#include <set>

namespace capstan::api {
namespace {

FieldErrors Check(const SchemaPtr& sc, const json& v) {
  FieldErrors errors;
  CheckStrict(*sc, v, "f", &errors);
  return errors;
}

TEST(SchemaTest, QuantitiesAsKubernetesParsesThem) {
  for (const char* ok : {"1", "500m", "1Gi", "0.5", ".5", "1.", "+1", "-2Ki", "1e3", "1E-3", "2.5M", "100n"}) {
    EXPECT_TRUE(Check(s::Quantity(), ok).empty()) << ok;
  }
  for (const char* bad : {"", "m", "1g", "1Gb", "1e", "1e+", "--1", "1.2.3", "1 Gi", "Gi"}) {
    EXPECT_FALSE(Check(s::Quantity(), bad).empty()) << bad;
  }
  EXPECT_TRUE(Check(s::Quantity(), 3).empty());
}

TEST(SchemaTest, TimesAreRfc3339) {
  for (const char* ok : {"2026-11-23T19:00:00Z", "2026-11-23t19:00:00z", "2026-11-23T19:00:00.123456Z",
                         "2026-11-23T19:00:00+02:00", "2026-11-23T19:00:00-07:30"}) {
    EXPECT_TRUE(Check(s::Time(), ok).empty()) << ok;
  }
  for (const char* bad : {"2026-11-23", "2026-11-23 19:00:00Z", "2026-11-23T19:00:00", "2026-11-23T19:00:00.Z",
                          "2026-11-23T19:00:00+0200", "26-11-23T19:00:00Z", "2026-11-23T19:00:00Zjunk"}) {
    EXPECT_FALSE(Check(s::Time(), bad).empty()) << bad;
  }
  EXPECT_TRUE(Check(s::Time(), nullptr).empty()) << "null is an unset time";
}

TEST(SchemaTest, UnknownAndMistypedFieldsNameTheirPath) {
  auto sc = s::Object("T", {s::F("spec", s::Object("S", {s::F("replicas", s::Int32()),
                                                          s::F("items", s::Array(s::Object("I", {s::F("name", s::String())}), "", "name"))}))});
  json v = {{"spec", {{"replicas", "3"}, {"items", {{{"name", "a"}, {"nmae", "b"}}}}, {"extra", 1}}}};
  FieldErrors errors = Check(sc, v);
  ASSERT_EQ(errors.size(), 3u);
  std::set<std::string> fields;
  for (const auto& e : errors) fields.insert(e.field);
  EXPECT_TRUE(fields.count("f.spec.replicas"));
  EXPECT_TRUE(fields.count("f.spec.items[0].nmae"));
  EXPECT_TRUE(fields.count("f.spec.extra"));
}

}  // namespace
}  // namespace capstan::api
