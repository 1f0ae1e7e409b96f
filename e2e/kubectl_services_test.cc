// The real kubectl against a real capstan server with the networking kinds: apply (client-side
// validation against the server's OpenAPI) and get (server-side Tables) of a Service and an
// Ingress, the default IngressClass, and admission errors naming the field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;

const char* kService = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    haproxy.capstan.io/balance: leastconn
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - name: http
    port: 8080
    targetPort: http
)";

const char* kIngress = R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingressClassName: haproxy
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port: {number: 8080}
)";

class KubectlServicesTest : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << server_.log(); }
  RunResult K(const std::vector<std::string>& args, const std::string& in = "") {
    return server_.Kubectl(GetParam().second, args, in);
  }
  ServerProcess server_;
};

TEST_P(KubectlServicesTest, ServiceAndIngressApplyAndGet) {
  auto r = K({"apply", "-f", "-"}, kService);
  ASSERT_EQ(r.exit_code, 0) << r.err << server_.log();
  EXPECT_NE(r.out.find("service/web created"), std::string::npos) << r.out;
  r = K({"apply", "-f", "-"}, kService);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("service/web unchanged"), std::string::npos) << r.out;

  r = K({"get", "svc", "web", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json svc = json::parse(r.out);
  EXPECT_EQ(svc["spec"]["clusterIP"], "127.0.0.1");
  const int node_port = svc["spec"]["ports"][0]["nodePort"];
  EXPECT_GE(node_port, 30000);
  EXPECT_LE(node_port, 32767);
  r = K({"get", "services", "-o", "wide"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string col : {"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"}) {
    EXPECT_NE(r.out.find(col), std::string::npos) << col << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("8080:" + std::to_string(node_port) + "/TCP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("app=web"), std::string::npos) << r.out;

  r = K({"apply", "-f", "-"}, kIngress);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ingress.networking.k8s.io/web created"), std::string::npos) << r.out;
  r = K({"get", "ing"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string col : {"NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE", "haproxy", "web.example.com"}) {
    EXPECT_NE(r.out.find(col), std::string::npos) << col << "\n" << r.out;
  }
  r = K({"get", "ingressclass", "haproxy", "-o", "jsonpath={.spec.controller}"});
  EXPECT_EQ(r.out, "haproxy.capstan.io/ingress-controller") << r.err;
  r = K({"get", "endpointslices"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = K({"delete", "ingress", "web"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = K({"delete", "svc", "web"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(KubectlServicesTest, AdmissionErrorsNameTheField) {
  std::string bad = kService;
  bad.replace(bad.find("leastconn"), 9, "fastest");
  auto r = K({"apply", "-f", "-"}, bad);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("metadata.annotations[haproxy.capstan.io/balance]"), std::string::npos) << r.err;

  ASSERT_EQ(K({"apply", "-f", "-"}, kService).exit_code, 0);
  std::string copy = kService;
  copy.replace(copy.find("name: web"), 9, "name: copy");
  r = K({"apply", "-f", "-"}, copy);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("spec.ports[0].port"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:8080 is already used by Service default/web"), std::string::npos) << r.err;
}

std::string VersionName(const ::testing::TestParamInfo<std::pair<std::string, std::string>>& info) {
  return KubectlTestName(info.param.first);
}

INSTANTIATE_TEST_SUITE_P(AllVersions, KubectlServicesTest, ::testing::ValuesIn(KubectlBinaries()), VersionName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KubectlServicesTest);

}  // namespace
}  // namespace capstan::e2e
