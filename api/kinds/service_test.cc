#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

json SampleService() {
  return Yaml(R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: admin, port: 8081}
)");
}

TEST(ServiceTest, Registration) {
  const KindInfo& k = Kind("svc");
  EXPECT_EQ(k.api_version(), "v1");
  EXPECT_EQ(k.plural, "services");
  EXPECT_TRUE(k.status_subresource);
  EXPECT_EQ(k.schema->ref_name, "io.k8s.api.core.v1.Service");
  EXPECT_EQ(ColumnNames(k, 0), (std::vector<std::string>{"Type", "Cluster-IP", "External-IP", "Port(s)", "Age"}));
  EXPECT_EQ(ColumnNames(k, 1).back(), "Selector");
}

TEST(ServiceTest, DefaultsAsKubernetes) {
  const KindInfo& k = Kind("services");
  json s = SampleService();
  ASSERT_TRUE(Create(k, &s).empty());
  EXPECT_EQ(s["spec"]["type"], "ClusterIP");
  EXPECT_EQ(s["spec"]["sessionAffinity"], "None");
  EXPECT_EQ(s["spec"]["internalTrafficPolicy"], "Cluster");
  EXPECT_FALSE(s["spec"].contains("externalTrafficPolicy"));
  EXPECT_EQ(s["spec"]["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(s["spec"]["ports"][0]["targetPort"], "http");
  EXPECT_EQ(s["spec"]["ports"][1]["targetPort"], 8081);  // defaults to port
  s = SampleService();
  s["spec"]["type"] = "LoadBalancer";
  s["spec"]["sessionAffinity"] = "ClientIP";
  ASSERT_TRUE(Create(k, &s).empty());
  EXPECT_EQ(s["spec"]["externalTrafficPolicy"], "Cluster");
  EXPECT_EQ(s["spec"]["allocateLoadBalancerNodePorts"], true);
  EXPECT_EQ(s["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"], 10800);
}

TEST(ServiceTest, ValidationNamesTheField) {
  const KindInfo& k = Kind("services");
  json s = SampleService();
  s["spec"]["ports"][1].erase("name");
  s["spec"]["ports"][0]["protocol"] = "UDP";
  s["spec"]["ports"][0]["port"] = 70000;
  s["spec"]["ports"][0]["nodePort"] = 30001;
  s["spec"]["type"] = "ClusterIP";
  auto errs = Create(k, &s);
  EXPECT_TRUE(Has(errs, "spec.ports[1].name", "FieldValueRequired")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.ports[0].protocol", "FieldValueNotSupported", "\"TCP\"")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.ports[0].port", "FieldValueInvalid", "between 1 and 65535")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.ports[0].nodePort", "FieldValueForbidden", "ClusterIP")) << Dump(errs);

  s = SampleService();
  s["spec"]["ports"][1]["name"] = "http";
  s["spec"]["ports"][1]["port"] = 80;
  s["spec"]["ports"][0]["targetPort"] = "not_a_port_name";
  s["spec"]["type"] = "ExternalName";
  s["spec"]["sessionAffinity"] = "Sticky";
  s["metadata"]["name"] = "1web";
  errs = Create(k, &s);
  EXPECT_TRUE(Has(errs, "spec.ports[1].name", "FieldValueDuplicate")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.ports[1]", "FieldValueDuplicate")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.ports[0].targetPort", "FieldValueInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.type", "FieldValueNotSupported")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.sessionAffinity", "FieldValueNotSupported")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "metadata.name", "FieldValueInvalid", "DNS-1035")) << Dump(errs);

  s = SampleService();
  s["spec"].erase("ports");
  EXPECT_TRUE(Has(Create(k, &s), "spec.ports", "FieldValueRequired"));
  s["spec"]["clusterIP"] = "None";  // headless: no ports needed
  EXPECT_TRUE(Create(k, &s).empty()) << Dump(Create(k, &s));
}

TEST(ServiceTest, ClusterIpIsImmutable) {
  const KindInfo& k = Kind("services");
  json old = SampleService();
  ASSERT_TRUE(Create(k, &old).empty());
  old["spec"]["clusterIP"] = "127.0.0.1";
  json next = old;
  next["spec"]["clusterIP"] = "127.0.0.2";
  EXPECT_TRUE(Has(Update(k, &next, old), "spec.clusterIP", "FieldValueInvalid", "immutable"));
  next = old;
  next["spec"]["ports"][0]["port"] = 81;
  EXPECT_TRUE(Update(k, &next, old).empty());
}

TEST(ServiceTest, ColumnsAsKubectl) {
  const KindInfo& k = Kind("services");
  json s = SampleService();
  ASSERT_TRUE(Create(k, &s).empty());
  EXPECT_EQ(Cell(k, "Cluster-IP", s), "<none>");
  s["spec"]["clusterIP"] = "127.0.0.1";
  EXPECT_EQ(Cell(k, "Type", s), "ClusterIP");
  EXPECT_EQ(Cell(k, "Cluster-IP", s), "127.0.0.1");
  EXPECT_EQ(Cell(k, "External-IP", s), "<none>");
  EXPECT_EQ(Cell(k, "Port(s)", s), "80/TCP,8081/TCP");
  EXPECT_EQ(Cell(k, "Selector", s), "app=web");
  s["spec"]["type"] = "LoadBalancer";
  s["spec"]["ports"][0]["nodePort"] = 30080;
  EXPECT_EQ(Cell(k, "External-IP", s), "<pending>");
  EXPECT_EQ(Cell(k, "Port(s)", s), "80:30080/TCP,8081/TCP");
  s["status"]["loadBalancer"]["ingress"] = json::array({{{"ip", "0.0.0.0"}}});
  EXPECT_EQ(Cell(k, "External-IP", s), "0.0.0.0");
}

}  // namespace
}  // namespace capstan::api::kinds
