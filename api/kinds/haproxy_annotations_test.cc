#include "api/kinds/haproxy_annotations.h"

#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

TEST(HaproxyAnnotationsTest, ParsesEveryServiceKey) {
  json ann = {{"haproxy.capstan.io/balance", "hdr(X-User)"},
              {"haproxy.capstan.io/timeout-connect", "500ms"},
              {"haproxy.capstan.io/timeout-server", "1m"},
              {"haproxy.capstan.io/timeout-client", "30s"},
              {"haproxy.capstan.io/timeout-queue", "2000"},
              {"haproxy.capstan.io/check-path", "/healthz"},
              {"haproxy.capstan.io/check-interval", "2s"},
              {"haproxy.capstan.io/check-fall", "3"},
              {"haproxy.capstan.io/check-rise", "100"},
              {"haproxy.capstan.io/maxconn", "50"},
              {"haproxy.capstan.io/cookie", "SERVERID"},
              {"haproxy.capstan.io/forwarded-for", "false"},
              {"other.io/ignored", "x"}};
  FieldErrors errors;
  HaproxySettings s = ParseHaproxyAnnotations(ann, HaproxySettingsScope::kService, &errors);
  EXPECT_TRUE(errors.empty()) << Dump(errors);
  EXPECT_EQ(s.balance, "hdr(X-User)");
  EXPECT_EQ(s.timeout_connect_ms, 500);
  EXPECT_EQ(s.timeout_server_ms, 60000);
  EXPECT_EQ(s.timeout_client_ms, 30000);
  EXPECT_EQ(s.timeout_queue_ms, 2000);
  EXPECT_EQ(s.check_path, "/healthz");
  EXPECT_EQ(s.check_interval_ms, 2000);
  EXPECT_EQ(s.check_fall, 3);
  EXPECT_EQ(s.check_rise, 100);
  EXPECT_EQ(s.maxconn, 50);
  EXPECT_EQ(s.cookie, "SERVERID");
  EXPECT_EQ(s.forwarded_for, false);
  EXPECT_FALSE(s.canary.has_value());
}

TEST(HaproxyAnnotationsTest, BadValuesAndUnknownKeysNameTheAnnotation) {
  json ann = {{"haproxy.capstan.io/balance", "fastest"},
              {"haproxy.capstan.io/timeout-server", "5 s"},
              {"haproxy.capstan.io/check-path", "healthz"},
              {"haproxy.capstan.io/check-fall", "0"},
              {"haproxy.capstan.io/maxconn", "-1"},
              {"haproxy.capstan.io/cookie", "a#b"},
              {"haproxy.capstan.io/forwarded-for", "yes"},
              {"haproxy.capstan.io/balanse", "roundrobin"},
              {"haproxy.capstan.io/canary", "true"}};  // Ingress only
  FieldErrors errors;
  ParseHaproxyAnnotations(ann, HaproxySettingsScope::kService, &errors);
  const std::string p = "metadata.annotations[haproxy.capstan.io/";
  EXPECT_TRUE(Has(errors, p + "balance]", "FieldValueInvalid", "roundrobin")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "timeout-server]", "FieldValueInvalid", "duration")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "check-path]", "FieldValueInvalid", "absolute")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "check-fall]", "FieldValueInvalid", "between 1 and 100")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "maxconn]", "FieldValueInvalid")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "cookie]", "FieldValueInvalid", "cookie name")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "forwarded-for]", "FieldValueInvalid", "\"true\"")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "balanse]", "FieldValueNotSupported", "haproxy.capstan.io/balance")) << Dump(errors);
  EXPECT_TRUE(Has(errors, p + "canary]", "FieldValueNotSupported")) << Dump(errors);
  EXPECT_EQ(errors.size(), 9u) << Dump(errors);
}

TEST(HaproxyAnnotationsTest, IngressKeysAndDefaults) {
  json ann = {{"haproxy.capstan.io/canary", "true"},
              {"haproxy.capstan.io/canary-weight", "10"},
              {"haproxy.capstan.io/canary-by-header", "X-Canary"},
              {"haproxy.capstan.io/ssl-redirect", "true"}};
  FieldErrors errors;
  HaproxySettings s = ParseHaproxyAnnotations(ann, HaproxySettingsScope::kIngress, &errors);
  EXPECT_TRUE(errors.empty()) << Dump(errors);
  EXPECT_EQ(s.canary, true);
  EXPECT_EQ(s.canary_weight, 10);
  EXPECT_EQ(s.canary_by_header, "X-Canary");
  EXPECT_EQ(s.ssl_redirect, true);
  ann["haproxy.capstan.io/canary-weight"] = "101";
  errors.clear();
  ParseHaproxyAnnotations(ann, HaproxySettingsScope::kIngress, &errors);
  EXPECT_TRUE(Has(errors, "metadata.annotations[haproxy.capstan.io/canary-weight]", "FieldValueInvalid"));

  errors.clear();
  s = ParseHaproxyDefaults({{"timeout-client", "1h"}, {"ssl-redirect", "false"}, {"canary", "true"}}, &errors);
  EXPECT_EQ(s.timeout_client_ms, 3600000);
  EXPECT_EQ(s.ssl_redirect, false);
  EXPECT_TRUE(Has(errors, "data[canary]", "FieldValueNotSupported")) << Dump(errors);
}

TEST(HaproxyAnnotationsTest, Durations) {
  EXPECT_EQ(ParseHaproxyDuration("5s"), 5000);
  EXPECT_EQ(ParseHaproxyDuration("500ms"), 500);
  EXPECT_EQ(ParseHaproxyDuration("1500us"), 2);
  EXPECT_EQ(ParseHaproxyDuration("250"), 250);
  EXPECT_EQ(ParseHaproxyDuration("1d"), 86400000);
  for (const char* bad : {"", "s", "0s", "-1s", "1.5s", "5 s", "5sec", "30d", "99999999999999"}) {
    EXPECT_FALSE(ParseHaproxyDuration(bad).has_value()) << bad;
  }
}

TEST(HaproxyAnnotationsTest, KindsValidateTheirAnnotations) {
  const KindInfo& svc = Kind("services");
  json s = Yaml("{apiVersion: v1, kind: Service, metadata: {name: web, namespace: default, annotations: "
                "{haproxy.capstan.io/check-rise: '0'}}, spec: {ports: [{port: 80}]}}");
  EXPECT_TRUE(Has(Create(svc, &s), "metadata.annotations[haproxy.capstan.io/check-rise]", "FieldValueInvalid"));
  const KindInfo& ing = Kind("ingresses");
  json i = Yaml("{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web, namespace: default, "
                "annotations: {haproxy.capstan.io/canary: maybe}}, spec: {defaultBackend: {service: {name: web, "
                "port: {number: 80}}}}}");
  EXPECT_TRUE(Has(Create(ing, &i), "metadata.annotations[haproxy.capstan.io/canary]", "FieldValueInvalid"));
}

}  // namespace
}  // namespace capstan::api::kinds
