#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

json Repo(const std::string& spec_yaml) {
  json o = Yaml("apiVersion: gitops.capstan.io/v1alpha1\nkind: GitRepository\nmetadata: {name: infra, namespace: flux}\n");
  o["spec"] = Yaml(spec_yaml);
  return o;
}

json Sync(const std::string& spec_yaml, const std::string& name = "apps") {
  json o = Yaml("apiVersion: gitops.capstan.io/v1alpha1\nkind: Sync\nmetadata: {namespace: flux}\n");
  o["metadata"]["name"] = name;
  o["spec"] = Yaml(spec_yaml);
  return o;
}

TEST(GitOpsKindsTest, Registration) {
  const KindInfo& repo = Kind("gitrepositories");
  EXPECT_EQ(repo.api_version(), "gitops.capstan.io/v1alpha1");
  EXPECT_TRUE(repo.namespaced);
  EXPECT_TRUE(repo.status_subresource);
  EXPECT_EQ(ColumnNames(repo, 0), (std::vector<std::string>{"URL", "Ready", "Status", "Age"}));
  const KindInfo& sync = Kind("syncs.gitops.capstan.io");
  EXPECT_EQ(ColumnNames(sync, 0), (std::vector<std::string>{"Source", "Path", "Revision", "Ready", "Age"}));
}

TEST(GitOpsKindsTest, GitRepositoryDefaultsAndValidation) {
  const KindInfo& k = Kind("gitrepository");
  json ok = Repo("{url: 'https://git.example.com/ops/infra.git', secretRef: {name: git-auth}}");
  auto errs = Create(k, &ok);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(ok["spec"]["ref"]["branch"], "main");
  EXPECT_EQ(ok["spec"]["interval"], "1m");

  json bad = Repo("{url: 'ftp://x', ref: {branch: main, tag: v1}, interval: soon, timeout: 0s}");
  errs = Create(k, &bad);
  EXPECT_TRUE(Has(errs, "spec.url", "FieldValueInvalid", "file://")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.ref", "FieldValueInvalid", "only one")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.interval", "FieldValueInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.timeout", "FieldValueInvalid")) << Dump(errs);

  json short_commit = Repo("{url: 'file:///r', ref: {commit: abc}}");
  errs = Create(k, &short_commit);
  EXPECT_TRUE(Has(errs, "spec.ref.commit", "FieldValueInvalid", "40-hex")) << Dump(errs);
  EXPECT_FALSE(Strict(k, Repo("{url: 'file:///r', branch: main}")).empty()) << "unknown fields are refused";
}

TEST(GitOpsKindsTest, SyncDefaultsAndValidation) {
  const KindInfo& k = Kind("sync");
  json ok = Sync("{sourceRef: {name: infra}, prune: true}");
  auto errs = Create(k, &ok);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(ok["spec"]["sourceRef"]["kind"], "GitRepository");
  EXPECT_EQ(ok["spec"]["path"], "./");
  EXPECT_EQ(ok["spec"]["interval"], "5m");

  json bad = Sync("{sourceRef: {kind: Bucket, name: x}, path: ../etc, targetNamespace: Not_Valid}");
  errs = Create(k, &bad);
  EXPECT_TRUE(Has(errs, "spec.sourceRef.kind", "FieldValueNotSupported")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.path", "FieldValueInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.targetNamespace", "FieldValueInvalid")) << Dump(errs);
  errs = Strict(k, Sync("{sourceRef: {name: infra}, dependsOn: [{}]}"));
  ASSERT_EQ(errs.size(), 1u) << Dump(errs);
  EXPECT_EQ(errs[0].field, "spec.dependsOn[0].name");

  json long_name = Sync("{sourceRef: {name: infra}}", std::string(60, 'a'));
  errs = Create(k, &long_name);
  EXPECT_TRUE(Has(errs, "metadata.name", "FieldValueInvalid", "label")) << Dump(errs);
}

}  // namespace
}  // namespace capstan::api::kinds
