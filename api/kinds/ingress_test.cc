#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

json SampleIngress() {
  return Yaml(R"(
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  ingressClassName: haproxy
  tls:
  - hosts: [web.example.com]
    secretName: web-tls
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Exact, backend: {service: {name: api, port: {name: http}}}}
  - host: "*.example.org"
    http:
      paths:
      - {pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
)");
}

TEST(IngressTest, RegistrationAndColumns) {
  const KindInfo& k = Kind("ing");
  EXPECT_EQ(k.api_version(), "networking.k8s.io/v1");
  EXPECT_EQ(ColumnNames(k, 1), (std::vector<std::string>{"Class", "Hosts", "Address", "Ports", "Age"}));
  json i = SampleIngress();
  auto errs = Create(k, &i);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(Cell(k, "Class", i), "haproxy");
  EXPECT_EQ(Cell(k, "Hosts", i), "web.example.com,*.example.org");
  EXPECT_EQ(Cell(k, "Ports", i), "80, 443");
  EXPECT_EQ(Cell(k, "Address", i), "");
  i["spec"].erase("tls");
  i["spec"].erase("ingressClassName");
  EXPECT_EQ(Cell(k, "Ports", i), "80");
  EXPECT_EQ(Cell(k, "Class", i), "<none>");
  const KindInfo& c = Kind("ingressclasses");
  EXPECT_FALSE(c.namespaced);
  EXPECT_EQ(ColumnNames(c, 1), (std::vector<std::string>{"Controller", "Parameters", "Age"}));
}

TEST(IngressTest, ValidationNamesTheField) {
  const KindInfo& k = Kind("ingresses");
  json i = SampleIngress();
  json& paths = i["spec"]["rules"][0]["http"]["paths"];
  paths[0]["path"] = "api";
  paths[1]["pathType"] = "Regex";
  paths[1]["backend"]["service"]["port"]["number"] = 80;  // both name and number
  i["spec"]["rules"][1]["host"] = "10.0.0.1";
  i["spec"]["tls"][0]["secretName"] = "Bad_Name";
  i["metadata"]["annotations"]["kubernetes.io/ingress.class"] = "haproxy";
  auto errs = Create(k, &i);
  EXPECT_TRUE(Has(errs, "spec.rules[0].http.paths[0].path", "FieldValueInvalid", "absolute")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.rules[0].http.paths[1].pathType", "FieldValueNotSupported")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.rules[0].http.paths[1].backend", "FieldValueInvalid", "both")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.rules[1].host", "FieldValueInvalid", "not an IP")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.tls[0].secretName", "FieldValueInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "metadata.annotations[kubernetes.io/ingress.class]", "FieldValueInvalid")) << Dump(errs);

  i = Yaml("{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: x, namespace: default}, spec: {}}");
  EXPECT_TRUE(Has(Create(k, &i), "spec", "FieldValueInvalid", "either `defaultBackend` or `rules`"));
  i["spec"]["defaultBackend"] = {{"service", {{"name", "web"}}}};
  EXPECT_TRUE(Has(Create(k, &i), "spec.defaultBackend", "FieldValueRequired", "port name or number"));
  i["spec"]["defaultBackend"]["service"]["port"]["number"] = 8080;
  EXPECT_TRUE(Create(k, &i).empty());
}

TEST(IngressTest, IngressClassController) {
  const KindInfo& c = Kind("ingressclass");
  json ic = Yaml(R"(
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: haproxy}
spec: {controller: haproxy.capstan.io/ingress-controller}
)");
  EXPECT_TRUE(Create(c, &ic).empty()) << Dump(Create(c, &ic));
  json next = ic;
  next["spec"]["controller"] = "example.com/other";
  EXPECT_TRUE(Has(Update(c, &next, ic), "spec.controller", "FieldValueInvalid", "immutable"));
  next = ic;
  next["spec"]["controller"] = "no-domain";
  EXPECT_TRUE(Has(Create(c, &next), "spec.controller", "FieldValueInvalid", "domain-prefixed"));
}

}  // namespace
}  // namespace capstan::api::kinds
