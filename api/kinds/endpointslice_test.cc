#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

json SampleSlice() {
  return Yaml(R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [127.0.0.1]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-1
  targetRef: {kind: Pod, namespace: default, name: web-1, uid: u1}
- addresses: [10.0.0.2]
  conditions: {ready: false, serving: true, terminating: true}
ports:
- {name: http, port: 40001}
)");
}

TEST(EndpointSliceTest, RegistrationAndDefaults) {
  const KindInfo& k = Kind("endpointslices");
  EXPECT_EQ(k.api_version(), "discovery.k8s.io/v1");
  EXPECT_EQ(k.schema->ref_name, "io.k8s.api.discovery.v1.EndpointSlice");
  EXPECT_EQ(ColumnNames(k, 1), (std::vector<std::string>{"AddressType", "Ports", "Endpoints", "Age"}));
  json s = SampleSlice();
  auto errs = Create(k, &s);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(s["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(Cell(k, "Ports", s), "40001");
  EXPECT_EQ(Cell(k, "Endpoints", s), "127.0.0.1,10.0.0.2");
  s["endpoints"] = json::array();
  for (int i = 0; i < 5; ++i) s["endpoints"].push_back({{"addresses", {"127.0.0." + std::to_string(i + 1)}}});
  EXPECT_EQ(Cell(k, "Endpoints", s), "127.0.0.1,127.0.0.2,127.0.0.3 + 2 more...");
  s["ports"] = json::array();
  EXPECT_EQ(Cell(k, "Ports", s), "<unset>");
}

TEST(EndpointSliceTest, ValidationNamesTheField) {
  const KindInfo& k = Kind("endpointslices");
  json s = SampleSlice();
  s["addressType"] = "IPX";
  EXPECT_TRUE(Has(Create(k, &s), "addressType", "FieldValueNotSupported"));
  s = SampleSlice();
  s["endpoints"][1]["addresses"][0] = "not-an-ip";
  s["endpoints"][0]["addresses"] = json::array();
  s["ports"].push_back({{"name", "http"}, {"port", 0}, {"protocol", "ICMP"}});
  auto errs = Create(k, &s);
  EXPECT_TRUE(Has(errs, "endpoints[1].addresses[0]", "FieldValueInvalid", "IPv4")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "endpoints[0].addresses", "FieldValueRequired")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "ports[1].name", "FieldValueDuplicate")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "ports[1].protocol", "FieldValueNotSupported")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "ports[1].port", "FieldValueInvalid")) << Dump(errs);
  json old = SampleSlice();
  json next = SampleSlice();
  next["addressType"] = "IPv6";
  next["endpoints"] = json::array({{{"addresses", {"::1"}}}});
  EXPECT_TRUE(Has(Update(k, &next, old), "addressType", "FieldValueInvalid", "immutable"));
}

}  // namespace
}  // namespace capstan::api::kinds
