#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using testing::Create;
using testing::Kind;
using testing::Yaml;

const char* kPolicy = R"(
apiVersion: registry.capstan.io/v1alpha1
kind: RegistryCleanupPolicy
metadata: {name: app-images, namespace: default}
spec:
  registry: {url: "https://registry.example.com", credentialsSecret: registry-auth}
  repositories: {include: ["app/*"]}
  keep: {tags: ['^latest$', '^v?\d+\.\d+\.\d+$'], newest: 5, newerThan: 720h}
  schedule: "0 3 * * *"
  dryRun: false
)";

std::string Fields(const FieldErrors& errors) {
  std::string out;
  for (const FieldError& e : errors) out += (out.empty() ? "" : " ") + e.field;
  return out;
}

TEST(RegistryCleanupPolicyTest, ResolvesByShortNameAndPlural) {
  EXPECT_EQ(Kind("rcp").kind, "RegistryCleanupPolicy");
  EXPECT_EQ(Kind("registrycleanuppolicies.registry.capstan.io").group, "registry.capstan.io");
  EXPECT_TRUE(Kind("rcp").namespaced);
  EXPECT_TRUE(Kind("rcp").status_subresource);
}

TEST(RegistryCleanupPolicyTest, TheIssuesExampleIsValidAndDefaulted) {
  json obj = Yaml(kPolicy);
  FieldErrors errors = Create(Kind("rcp"), &obj);
  EXPECT_TRUE(errors.empty()) << testing::Dump(errors);
  EXPECT_EQ(obj["spec"]["keep"]["inUse"], true);
  EXPECT_EQ(obj["spec"]["concurrency"], 8);
  EXPECT_EQ(obj["status"], json::object());
}

TEST(RegistryCleanupPolicyTest, InvalidFieldsAreNamed) {
  struct Case {
    const char* yaml_patch;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"spec": {"keep": {"tags": ["ok", "(unclosed"]}}})", "spec.keep.tags[1]"},
           {R"({"spec": {"keep": {"newerThan": "30d"}}})", "spec.keep.newerThan"},
           {R"({"spec": {"keep": {"newest": -1}}})", "spec.keep.newest"},
           {R"({"spec": {"schedule": "0 25 * * *"}})", "spec.schedule"},
           {R"({"spec": {"interval": "1h"}})", "spec.interval"},
           {R"({"spec": {"schedule": null, "interval": "10s"}})", "spec.interval"},
           {R"({"spec": {"registry": {"url": "registry.example.com/v2"}}})", "spec.registry.url"},
           {R"({"spec": {"registry": {"credentialsSecret": "Bad_Name"}}})", "spec.registry.credentialsSecret"},
           {R"({"spec": {"concurrency": 0}})", "spec.concurrency"},
       }) {
    json obj = Yaml(kPolicy);
    obj.merge_patch(json::parse(c.yaml_patch));
    FieldErrors errors = Create(Kind("rcp"), &obj);
    EXPECT_EQ(Fields(errors), c.field) << c.yaml_patch << ": " << testing::Dump(errors);
  }
}

TEST(RegistryCleanupPolicyTest, PrinterColumnsShowTheLastRun) {
  json obj = Yaml(kPolicy);
  obj["status"] = {{"lastRun", {{"result", "Succeeded"}, {"completionTime", "2020-01-01T00:00:00Z"}}},
                   {"counts", {{"deleted", 3}, {"untagged", 1}, {"kept", 7}}}};
  std::map<std::string, json> cells;
  for (const PrinterColumn& column : Kind("rcp").columns) cells[column.name] = column.cell(obj);
  EXPECT_EQ(cells["Registry"], "https://registry.example.com");
  EXPECT_EQ(cells["Schedule"], "0 3 * * *");
  EXPECT_EQ(cells["Last Result"], "Succeeded");
  EXPECT_EQ(cells["Deleted"], 4);
  EXPECT_EQ(cells["Kept"], 7);
}

}  // namespace
}  // namespace capstan::api::kinds
