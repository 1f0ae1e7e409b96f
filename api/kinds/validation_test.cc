#include "api/kinds/validation.h"

#include <gtest/gtest.h>

namespace capstan::api::kinds {
namespace {

TEST(ValidationTest, Dns1123Label) {
  EXPECT_TRUE(IsDns1123Label("web-1"));
  EXPECT_TRUE(IsDns1123Label("1abc"));
  EXPECT_FALSE(IsDns1123Label("Web"));
  EXPECT_FALSE(IsDns1123Label("-web"));
  EXPECT_FALSE(IsDns1123Label("a.b"));
  EXPECT_FALSE(IsDns1123Label(""));
  EXPECT_TRUE(IsDns1123Label(std::string(63, 'a')));
  auto errs = CheckDns1123Label(std::string(64, 'a'));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "must be no more than 63 characters");
  errs = CheckDns1123Label("Web");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
            "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
}

TEST(ValidationTest, Dns1123Subdomain) {
  EXPECT_TRUE(IsDns1123Subdomain("example.com"));
  EXPECT_TRUE(IsDns1123Subdomain("a"));
  EXPECT_FALSE(IsDns1123Subdomain("a..b"));
  EXPECT_FALSE(IsDns1123Subdomain("a.-b"));
  EXPECT_FALSE(IsDns1123Subdomain("A.com"));
  EXPECT_FALSE(IsDns1123Subdomain(std::string(254, 'a')));
  EXPECT_TRUE(CheckNameAsSubdomain("web-", /*prefix=*/true).empty());
  EXPECT_FALSE(CheckNameAsSubdomain("web-", /*prefix=*/false).empty());
}

TEST(ValidationTest, QualifiedName) {
  EXPECT_TRUE(IsQualifiedName("app"));
  EXPECT_TRUE(IsQualifiedName("app.kubernetes.io/name"));
  EXPECT_TRUE(IsQualifiedName("My_Name.1"));
  EXPECT_FALSE(IsQualifiedName("/name"));
  EXPECT_FALSE(IsQualifiedName("a/b/c"));
  EXPECT_FALSE(IsQualifiedName("Example.com/name"));
  EXPECT_FALSE(IsQualifiedName("name-"));
  EXPECT_FALSE(IsQualifiedName(std::string(64, 'a')));
  auto errs = CheckQualifiedName("/x");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "prefix part must be non-empty");
}

TEST(ValidationTest, LabelValue) {
  EXPECT_TRUE(IsValidLabelValue(""));
  EXPECT_TRUE(IsValidLabelValue("v1.2_3-x"));
  EXPECT_FALSE(IsValidLabelValue("-x"));
  EXPECT_FALSE(IsValidLabelValue("a b"));
  EXPECT_FALSE(IsValidLabelValue(std::string(64, 'a')));
}

TEST(ValidationTest, PortNameAndNumber) {
  EXPECT_TRUE(IsValidPortName("http"));
  EXPECT_TRUE(IsValidPortName("h2c-9"));
  EXPECT_FALSE(IsValidPortName("8080"));         // needs a letter
  EXPECT_FALSE(IsValidPortName("my--port"));
  EXPECT_FALSE(IsValidPortName("-http"));
  EXPECT_FALSE(IsValidPortName("HTTP"));
  EXPECT_FALSE(IsValidPortName("a-very-long-port-name"));
  EXPECT_TRUE(IsValidPortNumber(1));
  EXPECT_TRUE(IsValidPortNumber(65535));
  EXPECT_FALSE(IsValidPortNumber(0));
  EXPECT_FALSE(IsValidPortNumber(65536));
  EXPECT_EQ(CheckPortNumber(0)[0], "must be between 1 and 65535, inclusive");
}

TEST(ValidationTest, EnvVarAndConfigMapKey) {
  EXPECT_TRUE(IsEnvVarName("MY_VAR"));
  EXPECT_TRUE(IsEnvVarName("my.env-name"));
  EXPECT_FALSE(IsEnvVarName("1VAR"));
  EXPECT_FALSE(IsEnvVarName("A=B"));
  EXPECT_FALSE(IsEnvVarName(".."));
  EXPECT_TRUE(IsConfigMapKey("config.yaml"));
  EXPECT_TRUE(IsConfigMapKey("KEY_NAME"));
  EXPECT_FALSE(IsConfigMapKey("a/b"));
  EXPECT_FALSE(IsConfigMapKey(".."));
  EXPECT_FALSE(IsConfigMapKey(""));
}

TEST(ValidationTest, ParseQuantity) {
  struct Case {
    const char* text;
    int64_t milli;
  } cases[] = {
      {"100m", 100},       {"1", 1000},          {"0.5", 500},
      {"1Gi", 1073741824000}, {"1Ki", 1024000},  {"1e3", 1000000},
      {"1E3", 1000000},    {"1k", 1000000},      {"2M", 2000000000},
      {"1.5", 1500},       {".5", 500},          {"5.", 5000},
      {"-2", -2000},       {"+3", 3000},         {"1u", 1},  // rounds up
      {"1n", 1},           {"0", 0},             {"1e-3", 1},
      {"128974848", 128974848000},                {"129e6", 129000000000},
      {"123Mi", 128974848000},
  };
  for (const auto& c : cases) {
    auto q = ParseQuantity(std::string_view(c.text));
    ASSERT_TRUE(q.ok()) << c.text << ": " << q.status().ToString();
    EXPECT_EQ(*q, c.milli) << c.text;
  }
  for (const char* bad : {"", "abc", "1Gb", "1..2", "1 Gi", "Gi", "1e", "1ki", "--1", "1m1"}) {
    EXPECT_FALSE(ParseQuantity(std::string_view(bad)).ok()) << bad;
  }
  EXPECT_FALSE(ParseQuantity(std::string_view("100E")).ok());  // beyond int64 milli-units
  EXPECT_EQ(*ParseQuantity(json(2)), 2000);
  EXPECT_EQ(*ParseQuantity(json(0.25)), 250);
  EXPECT_FALSE(ParseQuantity(json(true)).ok());
}

TEST(ValidationTest, Base64RoundTrip) {
  for (std::string plain : {"", "a", "ab", "abc", "abcd", "hello world\n"}) {
    std::string enc = EncodeBase64(plain);
    std::string dec;
    ASSERT_TRUE(DecodeBase64(enc, &dec)) << enc;
    EXPECT_EQ(dec, plain);
  }
  EXPECT_EQ(EncodeBase64("admin"), "YWRtaW4=");
  std::string out;
  size_t at = 0;
  EXPECT_FALSE(DecodeBase64("YWRt!W4=", &out, &at));
  EXPECT_EQ(at, 4u);
  EXPECT_FALSE(DecodeBase64("YWRtaW4", &out));   // missing padding
  EXPECT_FALSE(DecodeBase64("YW=Rt", &out));
  EXPECT_TRUE(DecodeBase64("YWRt\naW4=", &out));
  EXPECT_EQ(out, "admin");
}

TEST(ValidationTest, PercentAndPaths) {
  EXPECT_EQ(ParsePercent("25%"), 25);
  EXPECT_EQ(ParsePercent("25"), std::nullopt);
  EXPECT_EQ(ParsePercent("%"), std::nullopt);
  EXPECT_EQ(ParsePercent("2x%"), std::nullopt);
  EXPECT_EQ(Index(Child("spec", "containers"), 2), "spec.containers[2]");
  EXPECT_EQ(Key("data", "a.b"), "data[a.b]");
  EXPECT_EQ(Child("", "spec"), "spec");
}

TEST(ValidationTest, ErrorBodies) {
  FieldErrors errs;
  AddInvalid(&errs, "spec.replicas", -1, "must be greater than or equal to 0");
  AddRequired(&errs, "spec.selector");
  AddNotSupported(&errs, "spec.restartPolicy", "Never", {"Always"});
  AddDuplicate(&errs, "spec.containers[1].name", "web");
  AddForbidden(&errs, "spec", "nope");
  ASSERT_EQ(errs.size(), 5u);
  EXPECT_EQ(errs[0].type, "FieldValueInvalid");
  EXPECT_EQ(errs[0].message, "Invalid value: -1: must be greater than or equal to 0");
  EXPECT_EQ(errs[1].message, "Required value");
  EXPECT_EQ(errs[2].message, "Unsupported value: \"Never\": supported values: \"Always\"");
  EXPECT_EQ(errs[3].message, "Duplicate value: \"web\"");
  EXPECT_EQ(errs[4].message, "Forbidden: nope");
}

}  // namespace
}  // namespace capstan::api::kinds
