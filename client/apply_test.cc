#include "client/apply.h"

#include <gtest/gtest.h>

#include "client/fake_api_server.h"
#include "client/list.h"

namespace capstan::client {
namespace {

using nlohmann::json;

constexpr const char* kDeploymentPath = "/apis/apps/v1/namespaces/default/deployments/web";

json Deployment(json spec) {
  return {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", "web"}}}, {"spec", std::move(spec)}};
}

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    Connection connection;
    connection.server = server_.url();
    auto client = RestClient::Create(connection);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    discovery_ = std::make_unique<Discovery>(client_.get());
  }

  Result<ApplyResult> Apply(const json& object, const ApplyOptions& options = {}) {
    return ApplyObject(*client_, *discovery_, object, options);
  }

  testing::FakeApiServer server_;
  std::unique_ptr<RestClient> client_;
  std::unique_ptr<Discovery> discovery_;
};

TEST_F(ApplyTest, CreatesWithLastAppliedAnnotation) {
  json declared = Deployment({{"template", {{"spec", {{"image", "nginx:1"}}}}}});
  Result<ApplyResult> result = Apply(declared);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->action, ApplyAction::kCreated);
  EXPECT_EQ(result->DisplayName(), "deployment.apps/web");
  EXPECT_EQ(result->namespace_name, "default");

  std::optional<json> live = server_.Object(kDeploymentPath);
  ASSERT_TRUE(live.has_value());
  json last_applied = json::parse((*live)["metadata"]["annotations"][kLastAppliedAnnotation].get<std::string>());
  json expected = declared;
  expected["metadata"]["namespace"] = "default";
  EXPECT_EQ(last_applied, expected);
  auto requests = server_.ObjectRequests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, "/apis/apps/v1/namespaces/default/deployments");
}

TEST_F(ApplyTest, ReapplyingTheSameIsUnchangedDespiteServerDefaults) {
  json declared = Deployment({{"template", {{"spec", {{"image", "nginx:1"}}}}}});
  ASSERT_TRUE(Apply(declared).ok());
  ASSERT_EQ((*server_.Object(kDeploymentPath))["spec"]["replicas"], 1);  // defaulted by the server
  server_.ClearRequests();
  Result<ApplyResult> again = Apply(declared);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->action, ApplyAction::kUnchanged);
  for (const auto& request : server_.ObjectRequests()) EXPECT_EQ(request.method, "GET");
}

TEST_F(ApplyTest, ChangedFieldIsPatchedAndRemovedFieldDeleted) {
  ASSERT_TRUE(Apply(Deployment({{"replicas", 3}, {"paused", false}, {"template", {{"spec", {{"image", "nginx:1"}}}}}})).ok());
  server_.ClearRequests();
  json next = Deployment({{"replicas", 3}, {"template", {{"spec", {{"image", "nginx:2"}}}}}});
  Result<ApplyResult> result = Apply(next);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->action, ApplyAction::kConfigured);

  auto requests = server_.ObjectRequests();
  ASSERT_EQ(requests.back().method, "PATCH");
  EXPECT_EQ(requests.back().content_type, "application/merge-patch+json");
  json patch = json::parse(requests.back().body);
  EXPECT_EQ(patch["spec"]["template"]["spec"]["image"], "nginx:2");
  EXPECT_TRUE(patch["spec"]["paused"].is_null());
  EXPECT_FALSE(patch["spec"].contains("replicas"));
  EXPECT_TRUE(patch["metadata"]["annotations"].contains(kLastAppliedAnnotation));

  json live = *server_.Object(kDeploymentPath);
  EXPECT_FALSE(live["spec"].contains("paused"));
  EXPECT_EQ(live["spec"]["template"]["spec"]["image"], "nginx:2");
  EXPECT_EQ(json::parse(live["metadata"]["annotations"][kLastAppliedAnnotation].get<std::string>())["spec"],
            next["spec"]);
}

TEST_F(ApplyTest, FieldsSetByOthersSurviveApply) {
  ASSERT_TRUE(Apply(Deployment({{"template", {{"spec", {{"image", "nginx:1"}}}}}})).ok());
  // Someone scales the deployment; apply does not declare replicas, so it must not reset them.
  ASSERT_TRUE(client_->Patch(kDeploymentPath, PatchType::kMerge, {{"spec", {{"replicas", 5}}}}).ok());
  Result<ApplyResult> result = Apply(Deployment({{"template", {{"spec", {{"image", "nginx:1"}}}}}}));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->action, ApplyAction::kUnchanged);
  EXPECT_EQ((*server_.Object(kDeploymentPath))["spec"]["replicas"], 5);
}

TEST_F(ApplyTest, ObjectWithoutAnnotationIsAdoptedWithoutDeletingAnything) {
  server_.Seed({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                {"metadata", {{"name", "cfg"}, {"namespace", "default"}}}, {"data", {{"a", "1"}, {"b", "2"}}}});
  json declared = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cfg"}}}, {"data", {{"a", "1"}}}};
  Result<ApplyResult> result = Apply(declared);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // Only the annotation is new: configured, and "b" stays (there is no record it was ever applied).
  EXPECT_EQ(result->action, ApplyAction::kConfigured);
  json live = *server_.Object("/api/v1/namespaces/default/configmaps/cfg");
  EXPECT_EQ(live["data"], json({{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(live["metadata"]["annotations"].contains(kLastAppliedAnnotation));
}

TEST_F(ApplyTest, NamespaceDefaultingAndExplicitNamespace) {
  json declared = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cfg"}}}};
  ApplyOptions options;
  options.default_namespace = "team";
  Result<ApplyResult> defaulted = Apply(declared, options);
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->namespace_name, "team");
  EXPECT_TRUE(server_.Object("/api/v1/namespaces/team/configmaps/cfg").has_value());

  options.explicit_namespace = "prod";
  Result<ApplyResult> explicit_ns = Apply(declared, options);
  ASSERT_TRUE(explicit_ns.ok());
  EXPECT_TRUE(server_.Object("/api/v1/namespaces/prod/configmaps/cfg").has_value());

  json elsewhere = declared;
  elsewhere["metadata"]["namespace"] = "other";
  Result<ApplyResult> clash = Apply(elsewhere, options);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), Code::kBadRequest);
  EXPECT_NE(clash.status().message().find("does not match the namespace \"prod\""), std::string::npos);
}

TEST_F(ApplyTest, ClusterScopedObjectsHaveNoNamespace) {
  json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "prod"}, {"namespace", "x"}}}};
  Result<ApplyResult> result = Apply(ns);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->DisplayName(), "namespace/prod");
  std::optional<json> live = server_.Object("/api/v1/namespaces/prod");
  ASSERT_TRUE(live.has_value());
  EXPECT_FALSE((*live)["metadata"].contains("namespace"));
}

TEST_F(ApplyTest, ServerDryRunStoresNothing) {
  ApplyOptions options;
  options.server_dry_run = true;
  Result<ApplyResult> result = Apply(Deployment({{"replicas", 2}}), options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->action, ApplyAction::kCreated);
  EXPECT_EQ(server_.ObjectRequests().back().query["dryRun"], "All");
  EXPECT_FALSE(server_.Object(kDeploymentPath).has_value());
}

TEST_F(ApplyTest, ServerErrorsCarryTheServerMessage) {
  json declared = Deployment({{"replicas", 1}});
  declared["metadata"]["name"] = "invalid-on-patch";
  server_.Seed({{"apiVersion", "apps/v1"}, {"kind", "Deployment"},
                {"metadata", {{"name", "invalid-on-patch"}, {"namespace", "default"}}}, {"spec", json::object()}});
  Result<ApplyResult> result = Apply(declared);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kInvalid);
  EXPECT_EQ(result.status().message(), "Deployment.apps \"invalid-on-patch\" is invalid: spec.replicas: must be >= 0");
}

TEST_F(ApplyTest, UnknownKindIsNotFound) {
  json declared = {{"apiVersion", "apps/v1"}, {"kind", "Deploymnt"}, {"metadata", {{"name", "x"}}}};
  Result<ApplyResult> result = Apply(declared);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsNotFound());
}

TEST(ApplyOrderTest, NamespacesThenConfigThenServicesThenTheRest) {
  std::vector<json> objects = {
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}},
      {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}},
      {{"apiVersion", "v1"}, {"kind", "Namespace"}},
      {{"apiVersion", "v1"}, {"kind", "Service"}},
  };
  EXPECT_EQ(ApplyOrder(objects), (std::vector<size_t>{2, 0, 3, 1}));
}

TEST_F(ApplyTest, ListAllFollowsContinueTokens) {
  for (int i = 0; i < 7; ++i) {
    server_.Seed({{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                  {"metadata", {{"name", "cm" + std::to_string(i)}, {"namespace", "default"}}}});
  }
  Result<ResourceInfo> configmaps = discovery_->Resolve("cm");
  ASSERT_TRUE(configmaps.ok());
  ListOptions options;
  options.chunk_size = 3;
  server_.ClearRequests();
  Result<json> list = ListAll(*client_, *configmaps, CollectionPath(*configmaps, "default"), options);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)["items"].size(), 7u);
  EXPECT_EQ((*list)["items"][0]["kind"], "ConfigMap");  // filled in for standalone printing
  EXPECT_EQ((*list)["items"][0]["apiVersion"], "v1");
  EXPECT_FALSE((*list)["metadata"].contains("continue"));
  EXPECT_EQ(server_.ObjectRequests().size(), 3u);

  options.as_table = true;
  Result<json> table = ListAll(*client_, *configmaps, CollectionPath(*configmaps, "default"), options);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ((*table)["kind"], "Table");
  EXPECT_EQ((*table)["rows"].size(), 7u);
}

}  // namespace
}  // namespace capstan::client
