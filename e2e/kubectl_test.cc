// The real kubectl, unchanged and with its default flags (client-side OpenAPI-driven validation
// and patching, server-side Table printing), against a real capstan server: create, get, list,
// watch, patch, scale, apply again, delete a Deployment — for every installed kubectl version.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;

const char* kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
)";

class KubectlTest : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << server_.log(); }
  RunResult K(const std::vector<std::string>& args, const std::string& in = "") {
    return server_.Kubectl(GetParam().second, args, in);
  }
  ServerProcess server_;
};

TEST_P(KubectlTest, DeploymentLifecycle) {
  auto r = K({"apply", "-f", "-"}, kDeployment);
  ASSERT_EQ(r.exit_code, 0) << r.err << server_.log();
  EXPECT_NE(r.out.find("deployment.apps/web created"), std::string::npos) << r.out;

  r = K({"apply", "-f", "-"}, kDeployment);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deployment.apps/web unchanged"), std::string::npos) << r.out;

  // Server-side printing: kubectl asks for a Table and prints our columns.
  r = K({"get", "deployments"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("UP-TO-DATE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("web"), std::string::npos) << r.out;

  r = K({"get", "deploy", "web", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json d = json::parse(r.out);
  EXPECT_EQ(d["spec"]["replicas"], 2);
  EXPECT_EQ(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  EXPECT_EQ(d["spec"]["revisionHistoryLimit"], 10);
  EXPECT_EQ(d["metadata"]["generation"], 1);
  const std::string rv1 = d["metadata"]["resourceVersion"];

  // A watch (kubectl get -w) sees the patch that follows.
  Child watcher;
  const std::string watch_log = server_.home() + "/watch.log";
  ASSERT_TRUE(watcher.Start({GetParam().second, "--kubeconfig", server_.kubeconfig(), "get", "deployments", "-w",
                             "--output-watch-events", "-o", "json"},
                            watch_log, {{"HOME", server_.home()}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  r = K({"patch", "deployment", "web", "-p", R"({"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deployment.apps/web patched"), std::string::npos) << r.out;

  r = K({"get", "deploy", "web", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  d = json::parse(r.out);
  // Strategic merge by container name: the image changed, the port stayed.
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26");
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
  EXPECT_EQ(d["metadata"]["generation"], 2);
  EXPECT_NE(d["metadata"]["resourceVersion"], rv1);

  std::string seen;
  for (int i = 0; i < 50 && seen.find("nginx:1.26") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = ReadFile(watch_log);
  }
  watcher.Stop(15);
  EXPECT_NE(seen.find("\"ADDED\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"MODIFIED\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("nginx:1.26"), std::string::npos) << seen;

  r = K({"scale", "deployment", "web", "--replicas=5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("scaled"), std::string::npos) << r.out;
  r = K({"get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"});
  EXPECT_EQ(r.out, "5");

  r = K({"get", "deployments", "-l", "app=web", "-o", "name"});
  EXPECT_EQ(r.out, "deployment.apps/web\n") << r.err;
  r = K({"get", "deployments", "-l", "app=other", "-o", "name"});
  EXPECT_EQ(r.out, "");

  r = K({"delete", "deployment", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deployment.apps \"web\" deleted"), std::string::npos) << r.out;
  r = K({"get", "deployment", "web"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;
}

TEST_P(KubectlTest, StrictValidationNamesTheField) {
  std::string bad = kDeployment;
  bad.replace(bad.find("replicas: 2"), 11, "replicas: 2\n  replicaz: 3");
  auto r = K({"apply", "-f", "-"}, bad);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("replicaz"), std::string::npos) << r.err;
  r = K({"get", "deployments", "-o", "name"});
  EXPECT_EQ(r.out, "") << "nothing may be created from an invalid manifest";
}

TEST_P(KubectlTest, DiscoveryAndEmptyLists) {
  auto r = K({"api-resources"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"deployments", "replicasets", "pods", "namespaces", "configmaps", "secrets", "events"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name << "\n" << r.out;
  }
  r = K({"get", "pods"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("No resources found in default namespace."), std::string::npos) << r.err;
  r = K({"get", "namespaces", "-o", "name"});
  EXPECT_NE(r.out.find("namespace/default"), std::string::npos) << r.out;
}

TEST_P(KubectlTest, ConfigMapCreateEditDelete) {
  auto r = K({"create", "configmap", "cfg", "--from-literal=a=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = K({"get", "configmap", "cfg", "-o", "jsonpath={.data.a}"});
  EXPECT_EQ(r.out, "1");
  r = K({"patch", "configmap", "cfg", "--type=merge", "-p", R"({"data":{"b":"2"}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = K({"patch", "configmap", "cfg", "--type=json", "-p", R"([{"op":"remove","path":"/data/a"}])"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = K({"get", "configmap", "cfg", "-o", "json"});
  json cm = json::parse(r.out);
  EXPECT_FALSE(cm["data"].contains("a"));
  EXPECT_EQ(cm["data"]["b"], "2");
  r = K({"delete", "configmap", "cfg"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

std::string VersionName(const ::testing::TestParamInfo<std::pair<std::string, std::string>>& info) {
  return KubectlTestName(info.param.first);
}

INSTANTIATE_TEST_SUITE_P(AllVersions, KubectlTest, ::testing::ValuesIn(KubectlBinaries()), VersionName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KubectlTest);

}  // namespace
}  // namespace capstan::e2e
