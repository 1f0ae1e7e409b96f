#include "api/kinds/meta.h"

#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using testing::Has;

TEST(MetaTest, SchemaNamesAndMergeKeys) {
  auto meta = ObjectMetaSchema();
  EXPECT_EQ(meta->ref_name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  const Schema* owners = SchemaAt(*meta, {"ownerReferences"});
  ASSERT_NE(owners, nullptr);
  EXPECT_EQ(owners->merge_key, "uid");
  EXPECT_EQ(owners->patch_strategy, "merge");
  const Schema* fin = SchemaAt(*meta, {"finalizers"});
  ASSERT_NE(fin, nullptr);
  EXPECT_EQ(fin->patch_strategy, "merge");
  EXPECT_EQ(fin->list_type, "set");
  EXPECT_EQ(SchemaAt(*meta, {"managedFields"}), nullptr);  // Any
  EXPECT_EQ(LabelSelectorSchema()->ref_name, "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector");
}

TEST(MetaTest, StrictRejectsUnknownMetadataField) {
  FieldErrors errors;
  CheckStrict(*ObjectMetaSchema(), json{{"name", "x"}, {"lables", {{"a", "b"}}}}, "metadata", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "metadata.lables");
  EXPECT_EQ(errors[0].type, "FieldValueUnknown");
  errors.clear();
  CheckStrict(*ObjectMetaSchema(), json{{"name", "x"}, {"labels", {{"a", 1}}}}, "metadata", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "metadata.labels[a]");
}

TEST(MetaTest, NameRules) {
  FieldErrors e;
  ValidateObjectMeta(json{{"namespace", "default"}}, true, "metadata", &e);
  EXPECT_TRUE(Has(e, "metadata.name", "FieldValueRequired", "name or generateName is required"));
  e.clear();
  ValidateObjectMeta(json{{"generateName", "web-"}, {"namespace", "default"}}, true, "metadata", &e);
  EXPECT_TRUE(e.empty()) << testing::Dump(e);
  e.clear();
  ValidateObjectMeta(json{{"name", "Web"}, {"namespace", "default"}}, true, "metadata", &e);
  EXPECT_TRUE(Has(e, "metadata.name", "FieldValueInvalid", "RFC 1123 subdomain"));
  e.clear();
  ValidateObjectMeta(json{{"name", "a.b"}}, false, "metadata", &e, NameRule::kLabel);
  EXPECT_TRUE(Has(e, "metadata.name", "FieldValueInvalid", "RFC 1123 label"));
  e.clear();
  ValidateObjectMeta(json{{"name", "a.b"}, {"namespace", "default"}}, true, "metadata", &e);
  EXPECT_TRUE(e.empty()) << testing::Dump(e);
}

TEST(MetaTest, NamespaceRules) {
  FieldErrors e;
  ValidateObjectMeta(json{{"name", "x"}}, true, "metadata", &e);
  EXPECT_TRUE(Has(e, "metadata.namespace", "FieldValueRequired"));
  e.clear();
  ValidateObjectMeta(json{{"name", "x"}, {"namespace", "default"}}, false, "metadata", &e);
  EXPECT_TRUE(Has(e, "metadata.namespace", "FieldValueForbidden", "not allowed on this type"));
  e.clear();
  ValidateObjectMeta(json{{"name", "x"}, {"namespace", "Bad_NS"}}, true, "metadata", &e);
  EXPECT_TRUE(Has(e, "metadata.namespace", "FieldValueInvalid"));
}

TEST(MetaTest, LabelsAndAnnotations) {
  FieldErrors e;
  json meta = {{"name", "x"},
               {"namespace", "ns"},
               {"labels", {{"app.kubernetes.io/name", "web"}, {"bad key!", "v"}, {"ok", "-bad-value"}}},
               {"annotations", {{"Example.com/Mixed_Case", "anything goes: here"}}}};
  ValidateObjectMeta(meta, true, "metadata", &e);
  EXPECT_EQ(e.size(), 2u) << testing::Dump(e);
  EXPECT_TRUE(Has(e, "metadata.labels", "FieldValueInvalid", "\"bad key!\""));
  EXPECT_TRUE(Has(e, "metadata.labels", "FieldValueInvalid", "\"-bad-value\""));

  e.clear();
  json big = {{"name", "x"}, {"namespace", "ns"}, {"annotations", {{"a", std::string(256 * 1024, 'x')}}}};
  ValidateObjectMeta(big, true, "metadata", &e);
  EXPECT_TRUE(Has(e, "metadata.annotations", "FieldValueTooLong", "262144"));
}

TEST(MetaTest, OwnerReferencesAndFinalizers) {
  FieldErrors e;
  json meta = {{"name", "x"},
               {"namespace", "ns"},
               {"ownerReferences",
                {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "rs"}, {"uid", "u1"}, {"controller", true}},
                 {{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "rs2"}, {"controller", true}}}},
               {"finalizers", {"example.com/cleanup", "bad finalizer"}}};
  ValidateObjectMeta(meta, true, "metadata", &e);
  EXPECT_TRUE(Has(e, "metadata.ownerReferences[1].uid", "FieldValueInvalid", "uid must not be empty"));
  EXPECT_TRUE(Has(e, "metadata.ownerReferences", "FieldValueInvalid", "Only one reference can have Controller"));
  EXPECT_TRUE(Has(e, "metadata.finalizers", "FieldValueInvalid", "\"bad finalizer\""));
  EXPECT_EQ(e.size(), 3u) << testing::Dump(e);
}

TEST(MetaTest, LabelSelectorValidation) {
  FieldErrors e;
  json sel = {{"matchLabels", {{"app", "web"}}},
              {"matchExpressions",
               {{{"key", "tier"}, {"operator", "In"}},
                {{"key", "env"}, {"operator", "Exists"}, {"values", {"x"}}},
                {{"key", "x"}, {"operator", "Near"}}}}};
  ValidateLabelSelector(sel, "spec.selector", &e);
  EXPECT_TRUE(Has(e, "spec.selector.matchExpressions[0].values", "FieldValueRequired"));
  EXPECT_TRUE(Has(e, "spec.selector.matchExpressions[1].values", "FieldValueForbidden"));
  EXPECT_TRUE(Has(e, "spec.selector.matchExpressions[2].operator", "FieldValueInvalid", "not a valid selector operator"));
  EXPECT_EQ(e.size(), 3u) << testing::Dump(e);
}

TEST(MetaTest, RegistryResolvesShortNames) {
  EXPECT_EQ(testing::Kind("deploy").kind, "Deployment");
  EXPECT_EQ(testing::Kind("po").kind, "Pod");
  EXPECT_EQ(testing::Kind("deployments.apps").kind, "Deployment");
  EXPECT_EQ(testing::Kind("rs").kind, "ReplicaSet");
  EXPECT_EQ(testing::Kind("ns").kind, "Namespace");
  EXPECT_EQ(testing::Kind("cm").kind, "ConfigMap");
  EXPECT_EQ(testing::Kind("ev").kind, "Event");
  EXPECT_EQ(testing::Kind("secrets").kind, "Secret");
  RegisterBuiltinKinds();  // idempotent: a second registration would abort
  EXPECT_EQ(ResolveKind("deployments.core"), nullptr);
  EXPECT_EQ(testing::Kind("deploy").categories, std::vector<std::string>{"all"});
  EXPECT_TRUE(testing::Kind("cm").categories.empty());
}

TEST(MetaTest, EveryKindRendersToOpenApi) {
  RegisterBuiltinKinds();
  ASSERT_GE(AllKinds().size(), 7u);
  json components = json::object();
  for (const KindInfo* k : AllKinds()) {
    ASSERT_NE(k->schema, nullptr) << k->kind;
    json out = ToOpenApi(*k->schema, &components);
    EXPECT_TRUE(out.contains("allOf")) << k->kind;  // a $ref to its named component
  }
  ASSERT_TRUE(components.contains("io.k8s.api.core.v1.PodSpec"));
  const json& containers = components["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-patch-strategy"], "merge");
  EXPECT_TRUE(components.contains("io.k8s.api.apps.v1.DeploymentSpec"));
  EXPECT_EQ(components["io.k8s.api.apps.v1.DeploymentSpec"]["required"], json::array({"selector", "template"}));
}

}  // namespace
}  // namespace capstan::api::kinds
