// GET /metrics and GET /capstan/v1/namespaces/NS/services/NAME/loadbalancer through the handler:
// authentication as for any read, the text format's content type, request counting, and the
// load balancer's view with and without a load balancer.
#include <gtest/gtest.h>

#include "api/api_handler.h"
#include "api/api_test_util.h"
#include "api/load_balancer_status.h"
#include "api/request_metrics.h"

namespace capstan::api {
namespace {

using testing::ApiTest;
using testing::BodyOf;
using testing::ExpectStatus;
using testing::Request;

class ObservabilityTest : public ApiTest {};

TEST_F(ObservabilityTest, MetricsNeedATokenAndCountRequests) {
  EXPECT_EQ(Do(Request("GET", "/metrics", "", "", "")).status, 401);
  ASSERT_EQ(Do("GET", "/api/v1/namespaces/default/configmaps").status, 200);
  ASSERT_EQ(Do("GET", "/api/v1/namespaces/default/configmaps/nope").status, 404);
  HttpResponse r = Do(Request("GET", "/metrics", "", "", testing::kViewToken));  // a read: view may
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# TYPE apiserver_request_total counter\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("apiserver_request_total{verb=\"LIST\",code=\"200\"} "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("apiserver_request_total{verb=\"GET\",code=\"404\"} "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("apiserver_request_total{verb=\"GET\",code=\"401\"} "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("apiserver_request_duration_seconds_bucket{verb=\"LIST\",le=\"+Inf\"} "), std::string::npos);
  EXPECT_EQ(Do(Request("POST", "/metrics", "{}", "application/json", testing::kViewToken)).status, 403);
  EXPECT_EQ(Do("POST", "/metrics", json::object()).status, 405);
}

TEST(MetricVerbTest, KubernetesMetricVerbs) {
  auto verb = [](const std::string& method, const std::string& target, const std::string& type = "") {
    return MetricVerb(Request(method, target, type.empty() ? "" : "{}", type));
  };
  EXPECT_EQ(verb("GET", "/api/v1/namespaces/default/pods"), "LIST");
  EXPECT_EQ(verb("GET", "/api/v1/namespaces/default/pods?watch=1"), "WATCH");
  EXPECT_EQ(verb("GET", "/api/v1/namespaces/default/pods/a"), "GET");
  EXPECT_EQ(verb("POST", "/api/v1/namespaces/default/pods"), "POST");
  EXPECT_EQ(verb("PUT", "/api/v1/namespaces/default/pods/a"), "PUT");
  EXPECT_EQ(verb("PATCH", "/api/v1/namespaces/default/pods/a", "application/merge-patch+json"), "PATCH");
  EXPECT_EQ(verb("PATCH", "/api/v1/namespaces/default/pods/a", "application/apply-patch+yaml"), "APPLY");
  EXPECT_EQ(verb("DELETE", "/api/v1/namespaces/default/pods"), "DELETE");
  EXPECT_EQ(verb("POST", "/api/v1/namespaces/default/pods/a/exec"), "CONNECT");
  EXPECT_EQ(verb("GET", "/metrics"), "GET");
}

TEST(LoadBalancerStatusPathTest, Parses) {
  std::string ns, name;
  EXPECT_TRUE(ParseLoadBalancerStatusPath("/capstan/v1/namespaces/default/services/web/loadbalancer", &ns, &name));
  EXPECT_EQ(ns, "default");
  EXPECT_EQ(name, "web");
  for (const char* bad : {"/capstan/v1/namespaces/default/services/web", "/capstan/v1/namespaces//services/web/loadbalancer",
                          "/capstan/v1/namespaces/default/services//loadbalancer",
                          "/capstan/v1/namespaces/default/pods/web/loadbalancer",
                          "/capstan/v1/namespaces/default/services/web/loadbalancer/x", "/capstan/v1/backup"}) {
    EXPECT_FALSE(ParseLoadBalancerStatusPath(bad, &ns, &name)) << bad;
  }
}

class FakeLoadBalancer : public LoadBalancerStatus {
 public:
  Result<json> ServiceStatus(const json& service) override {
    if (fail) return Status::Unavailable("connect: Connection refused");
    seen = service;
    return json{{"backends", json::array({{{"name", "default_web_80"}, {"port", 80}, {"servers", json::array()}}})}};
  }
  bool fail = false;
  json seen;
};

TEST_F(ObservabilityTest, LoadBalancerViewOfAService) {
  const std::string path = "/capstan/v1/namespaces/default/services/web/loadbalancer";
  ExpectStatus(Do("GET", path), 404, "NotFound");  // no such Service
  json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "web"}}},
              {"spec", {{"ports", json::array({{{"port", 80}}})}}}};
  ASSERT_EQ(Do("POST", "/api/v1/namespaces/default/services", svc).status, 201);

  // No load balancer: says so, 200.
  HttpResponse r = Do(Request("GET", path, "", "", testing::kViewToken));
  ASSERT_EQ(r.status, 200) << r.body;
  json body = BodyOf(r);
  EXPECT_EQ(body["kind"], "ServiceLoadBalancerStatus");
  EXPECT_EQ(body["enabled"], false);
  EXPECT_NE(body["message"].get<std::string>().find("no load balancer"), std::string::npos);

  auto lb = std::make_shared<FakeLoadBalancer>();
  handler_->SetLoadBalancerStatus(lb);
  r = Do("GET", path);
  ASSERT_EQ(r.status, 200) << r.body;
  body = BodyOf(r);
  EXPECT_EQ(body["enabled"], true);
  EXPECT_EQ(body["metadata"], json({{"namespace", "default"}, {"name", "web"}}));
  EXPECT_EQ(body["backends"][0]["name"], "default_web_80");
  EXPECT_EQ(lb->seen["metadata"]["name"], "web");  // the stored Service
  lb->fail = true;
  ExpectStatus(Do("GET", path), 503, "ServiceUnavailable");
  EXPECT_EQ(Do(Request("GET", path, "", "", "")).status, 401);
  EXPECT_EQ(Do("DELETE", path).status, 405);
}

}  // namespace
}  // namespace capstan::api
