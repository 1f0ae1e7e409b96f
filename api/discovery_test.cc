// Discovery, /version and the OpenAPI v3 documents, read through ApiHandler as kubectl reads them.
#include "api/discovery.h"

#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/openapi.h"

namespace capstan::api {
namespace {

using testing::ApiTest;
using testing::BodyOf;

class DiscoveryTest : public ApiTest {
 protected:
  json Get(const std::string& path) {
    HttpResponse r = Do("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return BodyOf(r);
  }
  static const json* Resource(const json& list, const std::string& name) {
    for (const auto& r : list["resources"]) {
      if (r["name"] == name) return &r;
    }
    return nullptr;
  }
};

TEST_F(DiscoveryTest, CoreGroup) {
  json api = Get("/api");
  EXPECT_EQ(api["kind"], "APIVersions");
  EXPECT_EQ(api["versions"], json({"v1"}));
  EXPECT_EQ(api["serverAddressByClientCIDRs"][0]["serverAddress"], "127.0.0.1:7420");

  json v1 = Get("/api/v1");
  EXPECT_EQ(v1["kind"], "APIResourceList");
  EXPECT_EQ(v1["groupVersion"], "v1");
  const json* pods = Resource(v1, "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_EQ((*pods)["kind"], "Pod");
  EXPECT_EQ((*pods)["namespaced"], true);
  EXPECT_EQ((*pods)["shortNames"], json({"po"}));
  EXPECT_NE(std::find((*pods)["verbs"].begin(), (*pods)["verbs"].end(), "watch"), (*pods)["verbs"].end());
  ASSERT_NE(Resource(v1, "pods/status"), nullptr);
  const json* ns = Resource(v1, "namespaces");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ((*ns)["namespaced"], false);
  for (const char* r : {"configmaps", "secrets", "events", "namespaces/status"}) {
    EXPECT_NE(Resource(v1, r), nullptr) << r;
  }
  EXPECT_EQ(Resource(v1, "deployments"), nullptr);
}

TEST_F(DiscoveryTest, AppsGroup) {
  json apis = Get("/apis");
  EXPECT_EQ(apis["kind"], "APIGroupList");
  bool apps = false;
  for (const auto& g : apis["groups"]) {
    if (g["name"] != "apps") continue;
    apps = true;
    EXPECT_EQ(g["preferredVersion"]["groupVersion"], "apps/v1");
    EXPECT_EQ(g["versions"][0]["version"], "v1");
  }
  EXPECT_TRUE(apps) << apis.dump();

  json group = Get("/apis/apps");
  EXPECT_EQ(group["kind"], "APIGroup");
  EXPECT_EQ(group["name"], "apps");

  json v1 = Get("/apis/apps/v1");
  EXPECT_EQ(v1["groupVersion"], "apps/v1");
  const json* deploy = Resource(v1, "deployments");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ((*deploy)["shortNames"], json({"deploy"}));
  EXPECT_EQ((*deploy)["singularName"], "deployment");
  const json* scale = Resource(v1, "deployments/scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["group"], "autoscaling");
  ASSERT_NE(Resource(v1, "deployments/status"), nullptr);
  ASSERT_NE(Resource(v1, "replicasets/scale"), nullptr);

  EXPECT_EQ(Do("GET", "/apis/nothing.example.com").status, 404);
  EXPECT_EQ(Do("GET", "/apis/apps/v2").status, 404);
}

TEST_F(DiscoveryTest, Version) {
  HttpResponse r = handler_->Handle(testing::Request("GET", "/version", "", "", ""));
  ASSERT_EQ(r.status, 200);
  json v = BodyOf(r);
  EXPECT_EQ(v["major"], "1");
  EXPECT_EQ(v["minor"], "30");
  EXPECT_EQ(v["gitVersion"].get<std::string>().rfind("v1.30.", 0), 0u);
}

TEST_F(DiscoveryTest, OpenApiV3) {
  json index = Get("/openapi/v3");
  ASSERT_TRUE(index["paths"].contains("api/v1")) << index.dump();
  ASSERT_TRUE(index["paths"].contains("apis/apps/v1")) << index.dump();
  std::string url = index["paths"]["apis/apps/v1"]["serverRelativeURL"];
  EXPECT_EQ(url.rfind("/openapi/v3/apis/apps/v1?hash=", 0), 0u) << url;

  HttpResponse r = Do("GET", url);
  ASSERT_EQ(r.status, 200);
  auto cache = r.headers.Get("Cache-Control");
  ASSERT_TRUE(cache.has_value());
  EXPECT_NE(cache->find("immutable"), std::string::npos);
  json doc = BodyOf(r);
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.", 0), 0u);

  const json& item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
  ASSERT_TRUE(item.contains("patch")) << doc["paths"].dump().substr(0, 2000);
  const json& patch = item["patch"];
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"],
            json({{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}));
  bool field_validation = false;
  for (const auto& p : patch["parameters"]) field_validation = field_validation || p["name"] == "fieldValidation";
  EXPECT_TRUE(field_validation) << patch.dump();
  EXPECT_TRUE(patch["requestBody"]["content"].contains("application/strategic-merge-patch+json"));
  EXPECT_TRUE(doc["paths"].contains("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"));

  const json& schemas = doc["components"]["schemas"];
  ASSERT_TRUE(schemas.contains("io.k8s.api.apps.v1.Deployment"));
  EXPECT_EQ(schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
            json::array({{{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}}));
  ASSERT_TRUE(schemas.contains("io.k8s.api.core.v1.PodSpec"));
  const json& containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-patch-strategy"], "merge");

  // Every $ref points at a component of the same document (kubectl resolves them locally).
  std::function<void(const json&)> check = [&](const json& v) {
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (it.key() == "$ref" && it->is_string()) {
          std::string ref = *it;
          const std::string prefix = "#/components/schemas/";
          ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
          EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << ref;
        } else {
          check(*it);
        }
      }
    } else if (v.is_array()) {
      for (const auto& e : v) check(e);
    }
  };
  check(doc);

  json core = Get("/openapi/v3/api/v1");
  EXPECT_TRUE(core["paths"].contains("/api/v1/namespaces/{name}"));
  EXPECT_TRUE(core["paths"].contains("/api/v1/namespaces/{namespace}/pods"));
  EXPECT_EQ(Do("GET", "/openapi/v3/apis/nothing/v1").status, 404);
}

// kubectl 1.27 and 1.28 fetch /openapi/v2 as gnostic protobuf before every validated apply and
// fail when it is missing or unparsable; the document is minimal but well formed.
TEST_F(DiscoveryTest, OpenApiV2IsAMinimalDocumentInProtobufOrJson) {
  HttpRequest req = testing::Request("GET", "/openapi/v2");
  req.headers.Add("Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
  HttpResponse pb = Do(req);
  EXPECT_EQ(pb.status, 200);
  EXPECT_EQ(pb.content_type, "application/octet-stream");
  // Field 1 (swagger, length-delimited): tag 0x0a, length 3, "2.0".
  ASSERT_GE(pb.body.size(), 5u);
  EXPECT_EQ(pb.body.substr(0, 5), std::string("\x0a\x03" "2.0", 5));
  json j = Get("/openapi/v2");
  EXPECT_EQ(j["swagger"], "2.0");
  EXPECT_TRUE(j["paths"].is_object());
}

}  // namespace
}  // namespace capstan::api
