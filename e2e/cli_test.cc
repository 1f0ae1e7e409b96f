// The `capstan` client verbs against a real `capstan server`: apply (create, configure,
// unchanged, multi-document, directories), bad manifests (one clear line naming the file, the
// document and the field; nothing applied), get in every output format, describe, delete.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << server_.log(); }
  RunResult C(const std::vector<std::string>& args, const std::string& in = "") { return server_.Capstan(args, in); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = server_.home() + "/" + name;
    Shell("mkdir -p \"$(dirname '" + path + "')\"");
    std::ofstream(path) << text;
    return path;
  }
  ServerProcess server_;
};

const char* kApp = R"(apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {LEVEL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
)";

TEST_F(CliTest, ApplyCreatesThenReportsUnchangedThenConfigured) {
  std::string f = Write("app.yaml", kApp);
  auto r = C({"apply", "-f", f});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "namespace/shop created\nconfigmap/cfg created\ndeployment.apps/web created\n");
  r = C({"apply", "-f", f});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "namespace/shop unchanged\nconfigmap/cfg unchanged\ndeployment.apps/web unchanged\n");
  std::string changed = kApp;
  changed.replace(changed.find("replicas: 2"), 11, "replicas: 4");
  r = C({"apply", "-f", "-"}, changed);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deployment.apps/web configured"), std::string::npos) << r.out;
  r = C({"get", "deployment", "web", "-n", "shop", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json d = json::parse(r.out);
  EXPECT_EQ(d["spec"]["replicas"], 4);
  EXPECT_EQ(d["metadata"]["generation"], 2);
}

TEST_F(CliTest, BadManifestNamesFileDocumentAndFieldAndAppliesNothing) {
  // A syntax error anywhere stops the whole apply before anything is sent.
  std::string broken = std::string(kApp) + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n";
  std::string f = Write("broken.yaml", broken);
  auto r = C({"apply", "-f", f});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("broken.yaml: document 4 (line"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one clear line: " << r.err;
  r = C({"get", "namespaces", "-o", "name"});
  EXPECT_EQ(r.out.find("namespace/shop"), std::string::npos) << "nothing may be applied: " << r.out;

  // A document without kind is caught before sending, with its index.
  f = Write("nokind.yaml", "apiVersion: v1\nmetadata: {name: y}\n");
  r = C({"apply", "-f", f});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nokind.yaml: document 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kind"), std::string::npos) << r.err;

  // A field the server rejects: that document fails with its file, index and field; the others
  // are applied, and the summary says exactly which.
  std::string bad = kApp;
  bad.replace(bad.find("image:"), 6, "imagee:");
  f = Write("bad.yaml", bad);
  r = C({"apply", "-f", f});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.yaml: document 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("imagee"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("applied: namespace/shop, configmap/cfg"), std::string::npos) << r.err;
  r = C({"get", "deployments", "-n", "shop", "-o", "name"});
  EXPECT_EQ(r.out, "") << r.out;
}

TEST_F(CliTest, ApplyDirectoryRecursivelyAndGetFormats) {
  Write("tree/a/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: tree}\n");
  Write("tree/b/cm.json", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j","namespace":"tree","labels":{"tier":"x"}},"data":{"k":"v"}})");
  Write("tree/b/ignored.txt", "not a manifest");
  auto r = C({"apply", "-R", "-f", server_.home() + "/tree"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("namespace/tree created"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("configmap/j created"), std::string::npos) << r.out;

  r = C({"get", "cm", "-n", "tree"});
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DATA"), std::string::npos) << r.out;
  r = C({"get", "cm", "-A", "-l", "tier=x", "-o", "name"});
  EXPECT_EQ(r.out, "configmap/j\n") << r.err;
  r = C({"get", "cm", "j", "-n", "tree", "-o", "yaml"});
  EXPECT_NE(r.out.find("k: v"), std::string::npos) << r.out;
  r = C({"get", "configmaps", "-A"});
  EXPECT_EQ(r.out.rfind("NAMESPACE", 0), 0u) << r.out;
  r = C({"describe", "configmap", "j", "-n", "tree"});
  EXPECT_NE(r.out.find("Name:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tree"), std::string::npos) << r.out;

  r = C({"delete", "-f", server_.home() + "/tree/b/cm.json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("configmap \"j\" deleted"), std::string::npos) << r.out;
  r = C({"get", "cm", "j", "-n", "tree"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
}

TEST_F(CliTest, VersionAndApiResources) {
  auto r = C({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Client Version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Server Version"), std::string::npos) << r.out;
  r = C({"api-resources"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deploy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("apps/v1"), std::string::npos) << r.out;
}

TEST_F(CliTest, WrongTokenIsRejected) {
  auto r = server_.Capstan({"get", "pods", "--token", "not-the-token-at-all"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Unauthorized"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace capstan::e2e
