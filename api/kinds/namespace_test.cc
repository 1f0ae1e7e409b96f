#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"
#include "api/kinds/printing.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

TEST(NamespaceTest, Registration) {
  const KindInfo& k = Kind("namespaces");
  EXPECT_FALSE(k.namespaced);
  EXPECT_TRUE(k.status_subresource);
  EXPECT_FALSE(k.has_generation);
  EXPECT_EQ(k.schema->ref_name, "io.k8s.api.core.v1.Namespace");
  EXPECT_EQ(ColumnNames(k, 1), std::vector<std::string>{"Status"});
}

TEST(NamespaceTest, StrictRejectsUnknownAndMistyped) {
  const KindInfo& k = Kind("ns");
  auto errs = Strict(k, json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "a"}}},
                             {"spec", {{"finalizer", json::array()}}}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.finalizer");
  EXPECT_EQ(errs[0].type, "FieldValueUnknown");
  errs = Strict(k, json{{"metadata", {{"name", "a"}}}, {"spec", {{"finalizers", "kubernetes"}}}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.finalizers");
  EXPECT_EQ(errs[0].type, "FieldValueTypeInvalid");
}

TEST(NamespaceTest, CreateDefaultsAsKubernetes) {
  const KindInfo& k = Kind("ns");
  json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "team-a"}}}};
  auto errs = Create(k, &ns);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(ns["status"], (json{{"phase", "Active"}}));
  EXPECT_EQ(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "team-a");
  EXPECT_EQ(ns["spec"]["finalizers"], json::array({"kubernetes"}));
  // A client may not create a Terminating namespace.
  json terminating = {{"metadata", {{"name", "b"}}}, {"status", {{"phase", "Terminating"}}}};
  Create(k, &terminating);
  EXPECT_EQ(terminating["status"]["phase"], "Active");
}

TEST(NamespaceTest, ValidationUsesLabelNames) {
  const KindInfo& k = Kind("ns");
  json ns = {{"metadata", {{"name", "team.a"}}}};
  auto errs = Create(k, &ns);
  EXPECT_TRUE(Has(errs, "metadata.name", "FieldValueInvalid", "RFC 1123 label")) << Dump(errs);
  json ns2 = {{"metadata", {{"name", "ok"}, {"namespace", "default"}}}, {"spec", {{"finalizers", {"custom"}}}}};
  errs = Create(k, &ns2);
  EXPECT_TRUE(Has(errs, "metadata.namespace", "FieldValueForbidden")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.finalizers", "FieldValueInvalid", "neither a standard finalizer name")) << Dump(errs);
}

TEST(NamespaceTest, StatusColumn) {
  const KindInfo& k = Kind("ns");
  json ns = {{"metadata", {{"name", "a"}}}, {"status", {{"phase", "Terminating"}}}};
  EXPECT_EQ(Cell(k, "Status", ns), "Terminating");
}

}  // namespace
}  // namespace capstan::api::kinds
