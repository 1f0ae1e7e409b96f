#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

TEST(ConfigMapTest, StrictAndCreate) {
  const KindInfo& k = Kind("cm");
  auto errs = Strict(k, json{{"metadata", {{"name", "c"}}}, {"datas", json::object()}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "datas");
  errs = Strict(k, json{{"metadata", {{"name", "c"}}}, {"data", {{"port", 8080}}}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "data[port]");
  EXPECT_EQ(errs[0].type, "FieldValueTypeInvalid");

  json cm = Yaml(R"(
apiVersion: v1
kind: ConfigMap
metadata:
  name: game-config
  namespace: default
data:
  player_initial_lives: "3"
  game.properties: |
    enemy.types=aliens,monsters
binaryData:
  logo.png: iVBORw0KGgo=
)");
  errs = Create(k, &cm);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(Cell(k, "Data", cm), 3);
}

TEST(ConfigMapTest, KeysAndDuplicates) {
  const KindInfo& k = Kind("cm");
  json cm = {{"metadata", {{"name", "c"}, {"namespace", "default"}}},
             {"data", {{"a/b", "x"}, {"dup", "1"}}},
             {"binaryData", {{"dup", "MQ=="}, {"bad", "not base64!"}}}};
  auto errs = Create(k, &cm);
  EXPECT_TRUE(Has(errs, "data[a/b]", "FieldValueInvalid", "a valid config key")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "data[dup]", "FieldValueInvalid", "duplicate of key present in binaryData"));
  EXPECT_TRUE(Has(errs, "binaryData[dup]", "FieldValueInvalid", "duplicate of key present in data"));
  EXPECT_TRUE(Has(errs, "binaryData[bad]", "FieldValueInvalid", "illegal base64 data"));
}

TEST(ConfigMapTest, ImmutableRejectsDataChanges) {
  const KindInfo& k = Kind("cm");
  json old = {{"metadata", {{"name", "c"}, {"namespace", "default"}}}, {"data", {{"a", "1"}}}, {"immutable", true}};
  json changed = old;
  changed["data"]["a"] = "2";
  auto errs = Update(k, &changed, old);
  EXPECT_TRUE(Has(errs, "data", "FieldValueForbidden", "field is immutable when `immutable` is set")) << Dump(errs);
  json unset = old;
  unset["immutable"] = false;
  errs = Update(k, &unset, old);
  EXPECT_TRUE(Has(errs, "immutable", "FieldValueForbidden")) << Dump(errs);
  json labels_only = old;
  labels_only["metadata"]["labels"] = {{"x", "y"}};
  errs = Update(k, &labels_only, old);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  // A mutable one may change.
  json mutable_old = old;
  mutable_old.erase("immutable");
  json mutable_new = mutable_old;
  mutable_new["data"]["a"] = "2";
  EXPECT_TRUE(Update(k, &mutable_new, mutable_old).empty());
}

TEST(SecretTest, StringDataMergedAndTypeDefaulted) {
  const KindInfo& k = Kind("secrets");
  json secret = Yaml(R"(
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: default
data:
  username: b2xk
  keep: a2VlcA==
stringData:
  username: admin
  password: s3cr3t
)");
  auto errs = Create(k, &secret);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_FALSE(secret.contains("stringData"));
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_EQ(secret["data"]["username"], "YWRtaW4=");  // stringData wins
  EXPECT_EQ(secret["data"]["password"], "czNjcjN0");
  EXPECT_EQ(secret["data"]["keep"], "a2VlcA==");
  EXPECT_EQ(Cell(k, "Type", secret), "Opaque");
  EXPECT_EQ(Cell(k, "Data", secret), 3);
  std::vector<std::string> want = {"Type", "Data"};
  EXPECT_EQ(ColumnNames(k, 1), want);
}

TEST(SecretTest, StrictAndBase64) {
  const KindInfo& k = Kind("secret");
  auto errs = Strict(k, json{{"metadata", {{"name", "s"}}}, {"type", 3}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "type");
  errs = Strict(k, json{{"metadata", {{"name", "s"}}}, {"strinData", json::object()}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "strinData");

  json bad = {{"metadata", {{"name", "s"}, {"namespace", "default"}}}, {"data", {{"token", "plain text"}}}};
  errs = Create(k, &bad);
  EXPECT_TRUE(Has(errs, "data[token]", "FieldValueInvalid", "illegal base64 data at input byte 5")) << Dump(errs);
  EXPECT_EQ(errs[0].message.find("plain text"), std::string::npos);  // contents never echoed
}

TEST(SecretTest, WellKnownTypesRequireKeys) {
  const KindInfo& k = Kind("secret");
  json tls = {{"metadata", {{"name", "s"}, {"namespace", "default"}}},
              {"type", "kubernetes.io/tls"},
              {"data", {{"tls.crt", "Y2VydA=="}}}};
  auto errs = Create(k, &tls);
  EXPECT_TRUE(Has(errs, "data[tls.key]", "FieldValueRequired")) << Dump(errs);
  EXPECT_EQ(errs.size(), 1u);
  json docker = {{"metadata", {{"name", "s"}, {"namespace", "default"}}},
                 {"type", "kubernetes.io/dockerconfigjson"},
                 {"stringData", {{".dockerconfigjson", "{not json"}}}};
  errs = Create(k, &docker);
  EXPECT_TRUE(Has(errs, "data[.dockerconfigjson]", "FieldValueInvalid", "invalid JSON")) << Dump(errs);
  json sa = {{"metadata", {{"name", "s"}, {"namespace", "default"}}}, {"type", "kubernetes.io/service-account-token"}};
  errs = Create(k, &sa);
  EXPECT_TRUE(Has(errs, "metadata.annotations[kubernetes.io/service-account.name]", "FieldValueRequired"))
      << Dump(errs);
}

TEST(SecretTest, TypeAndImmutableOnUpdate) {
  const KindInfo& k = Kind("secret");
  json old = {{"metadata", {{"name", "s"}, {"namespace", "default"}}},
              {"type", "Opaque"},
              {"data", {{"a", "YQ=="}}},
              {"immutable", true}};
  json now = old;
  now["type"] = "example.com/custom";
  now["stringData"] = {{"a", "changed"}};
  auto errs = Update(k, &now, old);
  EXPECT_TRUE(Has(errs, "type", "FieldValueInvalid", "field is immutable")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "data", "FieldValueForbidden", "field is immutable when `immutable` is set")) << Dump(errs);
}

}  // namespace
}  // namespace capstan::api::kinds
