// The `capstan` client verbs against a real `capstan server`: apply (create, configure,
// unchanged, multi-document, directories), bad manifests (one clear line naming the file, the
// document and the field; nothing applied), get in every output format, describe, delete; and
// the control-loop verbs: scale, rollout status|history|undo|restart|pause|resume, get events.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << server_.log(); }
  RunResult C(const std::vector<std::string>& args, const std::string& in = "") { return server_.Capstan(args, in); }
  // `capstan ARGS -o json`, parsed; null when the command fails.
  json J(std::vector<std::string> args) {
    args.insert(args.end(), {"-o", "json"});
    RunResult r = C(args);
    if (r.exit_code != 0) return json();
    return json::parse(r.out, nullptr, false);
  }
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

// A Pod bound to a node is deleted gracefully: without a node agent to stop it, it stays
// Terminating until --force removes it.
TEST_F(CliTest, DeletePodGracefullyThenForce) {
  const std::string pod = R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stuck"},
    "spec": {"nodeName": "no-such-node", "containers": [{"name": "c", "image": "busybox"}]}})";
  auto r = C({"apply", "-f", "-"}, pod);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = C({"delete", "pod", "stuck", "--wait=false", "--grace-period", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = C({"get", "pod", "stuck", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json marked = json::parse(r.out);
  EXPECT_EQ(marked["metadata"]["deletionGracePeriodSeconds"], 7);
  EXPECT_FALSE(marked["metadata"].value("deletionTimestamp", "").empty());
  r = C({"delete", "pod", "stuck", "--grace-period", "soon"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--grace-period"), std::string::npos) << r.err;
  r = C({"delete", "pod", "stuck", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = C({"get", "pod", "stuck"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
}

// The examples users copy (manifests/) must apply as they are.
TEST_F(CliTest, EveryExampleManifestApplies) {
  auto r = C({"apply", "-f", std::string(CAPSTAN_SOURCE_DIR) + "/manifests"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("deployment.apps/ticker created"), std::string::npos) << r.out;
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


// ---- The control-loop verbs ------------------------------------------------------------------

// Polls `done` every 100 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

// A Deployment "web" in "default"; `extra_pod_spec` goes into the pod spec (indented 6).
std::string WebDeployment(int replicas, const std::string& image, const std::string& extra_spec = "",
                          const std::string& extra_pod_spec = "") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  replicas: " +
         std::to_string(replicas) + "\n" + extra_spec +
         "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n" +
         extra_pod_spec + "      containers:\n      - {name: web, image: \"" + image + "\"}\n";
}

// Pods that no node can take never become ready, whatever node agents a build runs.
const char* kUnschedulable = "      nodeSelector: {capstan.io/no-such-node: \"true\"}\n";

// The values of column `column` of a printed table.
std::vector<std::string> Column(const std::string& table, const std::string& column) {
  std::istringstream lines(table);
  std::string line;
  std::vector<std::string> out;
  int index = -1;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> cells;
    for (std::string w; words >> w;) cells.push_back(w);
    if (index < 0) {
      for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i] == column) index = static_cast<int>(i);
      }
      continue;
    }
    if (static_cast<int>(cells.size()) > index) out.push_back(cells[index]);
  }
  return out;
}

size_t ItemCount(const json& list) { return list.is_object() && list["items"].is_array() ? list["items"].size() : 0; }

TEST_F(CliTest, ScaleDeploymentCreatesPodsAndChecksPreconditions) {
  auto r = C({"apply", "-f", "-"}, WebDeployment(1, "nginx:1.25"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = C({"scale", "deployment", "web", "--replicas", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web scaled\n");
  EXPECT_TRUE(WaitUntil([&] { return ItemCount(J({"get", "pods", "-l", "app=web"})) == 5; }))
      << C({"get", "pods"}).out;
  r = C({"get", "rs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Column(r.out, "DESIRED"), std::vector<std::string>{"5"}) << r.out;

  // Preconditions, as kubectl words them; nothing changes when one fails.
  r = C({"scale", "deploy/web", "--replicas=2", "--current-replicas=3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: Expected replicas to be 3, was 5\n");
  r = C({"scale", "deploy/web", "--replicas=2", "--resource-version=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: Expected resource version to be 1, was "), std::string::npos) << r.err;
  EXPECT_EQ(J({"get", "deploy", "web"})["spec"]["replicas"], 5);
  json d = J({"get", "deploy", "web"});
  r = C({"scale", "deployments.apps", "web", "--replicas=2", "--current-replicas=5", "--resource-version",
         d["metadata"]["resourceVersion"].get<std::string>()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(J({"get", "deploy", "web"})["spec"]["replicas"], 2);

  // A ReplicaSet scales the same way (its Deployment soon sets it back; only the answer counts).
  json rs = J({"get", "rs"});
  ASSERT_EQ(ItemCount(rs), 1u);
  std::string rs_name = rs["items"][0]["metadata"]["name"];
  r = C({"scale", "rs/" + rs_name, "--replicas", "3", "-n", "default"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "replicaset.apps/" + rs_name + " scaled\n");
}

TEST_F(CliTest, ScaleAndRolloutBadArgumentsSayWhatIsWrong) {
  ASSERT_EQ(C({"apply", "-f", "-"}, WebDeployment(1, "nginx:1.25")).exit_code, 0);
  ASSERT_EQ(C({"apply", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n").exit_code, 0);
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::string required = "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0";
  const std::vector<Case> cases = {
      {{"scale", "deploy", "web"}, required},
      {{"scale", "deploy", "web", "--replicas", "-1"}, required},
      {{"scale", "deploy", "web", "--replicas=abc"}, "invalid argument \"abc\" for \"--replicas\" flag"},
      {{"scale", "--replicas=1"}, "you must specify the resource to scale"},
      {{"scale", "deploy", "--replicas=1"}, "you must specify the name of the deployment to scale"},
      {{"scale", "frobs", "web", "--replicas=1"}, "the server doesn't have a resource type \"frobs\""},
      {{"scale", "cm", "cfg", "--replicas=1"}, "configmaps cannot be scaled: the server has no configmaps/scale"},
      {{"scale", "deploy", "nope", "--replicas=1"}, "Error from server (NotFound)"},
      {{"rollout"}, ""},
      {{"rollout", "frob", "deploy/web"}, "unknown command \"frob\" for \"capstan rollout\""},
      {{"rollout", "status"}, "required resource not specified"},
      {{"rollout", "status", "cm/cfg"}, "rollout status is only supported for deployments, not configmaps"},
      {{"rollout", "pause", "deployment"}, "you must specify the name of the deployment"},
      {{"rollout", "status", "deploy/web", "--timeout", "soon"}, "--timeout: invalid duration \"soon\""},
      {{"rollout", "status", "deploy/nope", "--timeout=2s"}, "Error from server (NotFound)"},
      {{"rollout", "undo", "deploy/web", "--to-revision", "9"}, "error: unable to find specified revision 9 in history"},
      {{"rollout", "undo", "deploy/web", "--to-revision", "x"}, "invalid argument \"x\" for \"--to-revision\""},
      {{"rollout", "history", "deploy/web", "--revision", "9"}, "error: unable to find the specified revision"},
      {{"rollout", "resume", "deploy/web"}, "error: deployments.apps \"web\" is not paused"},
  };
  for (const Case& c : cases) {
    auto r = C(c.args);
    std::string line;
    for (const std::string& a : c.args) line += a + " ";
    EXPECT_EQ(r.exit_code, 1) << line << r.out << r.err;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << line << "\n" << r.err;
    if (c.args.size() > 1) {
      EXPECT_TRUE(r.err.rfind("error: ", 0) == 0 || r.err.rfind("Error from server", 0) == 0) << r.err;
    }
  }
}

TEST_F(CliTest, RolloutPauseResumeHistoryUndoRestart) {
  ASSERT_EQ(C({"apply", "-f", "-"}, WebDeployment(1, "nginx:1.25")).exit_code, 0);
  auto revision_of = [](const json& object) {
    const json& annotations = object["metadata"]["annotations"];
    return annotations.is_object() ? annotations.value("deployment.kubernetes.io/revision", "") : "";
  };
  ASSERT_TRUE(WaitUntil([&] {
    json rs = J({"get", "rs"});
    return ItemCount(rs) == 1 && revision_of(rs["items"][0]) == "1";
  }));
  std::string first_rs = J({"get", "rs"})["items"][0]["metadata"]["name"];

  auto r = C({"rollout", "pause", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web paused\n");
  r = C({"rollout", "pause", "deploy", "web"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: deployments.apps \"web\" is already paused\n");
  r = C({"rollout", "restart", "deploy/web"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("can't restart paused deployment (run rollout resume first)"), std::string::npos) << r.err;
  r = C({"rollout", "undo", "deploy/web"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("you cannot rollback a paused deployment; resume it first with 'capstan rollout resume'"),
            std::string::npos)
      << r.err;

  // A new image while paused: no new ReplicaSet.
  ASSERT_EQ(C({"apply", "-f", "-"}, WebDeployment(1, "nginx:1.26")).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(ItemCount(J({"get", "rs"})), 1u) << C({"get", "rs"}).out;

  r = C({"rollout", "resume", "deployment", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web resumed\n");
  ASSERT_TRUE(WaitUntil([&] { return ItemCount(J({"get", "rs"})) == 2; })) << C({"get", "rs"}).out;
  ASSERT_TRUE(WaitUntil([&] { return revision_of(J({"get", "deploy", "web"})) == "2"; }));

  r = C({"rollout", "history", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n");
  r = C({"rollout", "history", "deploy/web", "--revision=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("deployment.apps/web with revision #1\nPod Template:\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("nginx:1.25"), std::string::npos) << r.out;

  // Undo: the first template comes back, as revision 3 of the first ReplicaSet.
  r = C({"rollout", "undo", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web rolled back\n");
  ASSERT_TRUE(WaitUntil([&] { return revision_of(J({"get", "rs", first_rs})) == "3"; }))
      << J({"get", "rs", first_rs}).dump(2);
  json d = J({"get", "deploy", "web"});
  EXPECT_EQ(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25");
  json rs_template = J({"get", "rs", first_rs})["spec"]["template"];
  rs_template["metadata"]["labels"].erase("pod-template-hash");
  EXPECT_EQ(rs_template, d["spec"]["template"]);
  r = C({"rollout", "history", "deploy/web"});
  EXPECT_EQ(r.out, "deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n");
  r = C({"rollout", "undo", "deploy/web", "--to-revision=3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web skipped rollback (current template already matches revision 3)\n");

  // Restart: a restartedAt annotation on the template, hence a new ReplicaSet.
  r = C({"rollout", "restart", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web restarted\n");
  d = J({"get", "deploy", "web"});
  std::string restarted_at = d["spec"]["template"]["metadata"]["annotations"].value("kubectl.kubernetes.io/restartedAt", "");
  EXPECT_TRUE(restarted_at.size() >= 20 && restarted_at[4] == '-' && restarted_at[10] == 'T') << restarted_at;
  EXPECT_TRUE(WaitUntil([&] { return ItemCount(J({"get", "rs"})) == 3; })) << C({"get", "rs"}).out;
}

TEST_F(CliTest, RolloutStatusWaitsAndTimesOut) {
  ASSERT_EQ(C({"apply", "-f", "-"}, WebDeployment(2, "nginx:1.25", "", kUnschedulable)).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return J({"get", "deploy", "web"})["status"].value("updatedReplicas", 0) == 2; }));
  const std::string waiting = "Waiting for deployment \"web\" rollout to finish: 0 of 2 updated replicas are available...\n";
  auto r = C({"rollout", "status", "deploy/web", "--watch=false"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, waiting);

  auto start = std::chrono::steady_clock::now();
  r = C({"rollout", "status", "deployment", "web", "--timeout", "2s"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, waiting);
  EXPECT_EQ(r.err, "error: timed out waiting for the condition\n");
  EXPECT_GE(took, std::chrono::milliseconds(1900));
  EXPECT_LT(took, std::chrono::seconds(8));

  // A Deployment that finishes: scaled to 0, it is done at once.
  ASSERT_EQ(C({"scale", "deploy/web", "--replicas=0"}).exit_code, 0);
  r = C({"rollout", "status", "deploy/web", "--timeout=10s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deployment \"web\" successfully rolled out\n"), std::string::npos) << r.out;
}

TEST_F(CliTest, RolloutStatusFailsOnProgressDeadlineExceeded) {
  ASSERT_EQ(C({"apply", "-f", "-"}, WebDeployment(1, "nginx:1.25", "  progressDeadlineSeconds: 1\n", kUnschedulable))
                .exit_code,
            0);
  auto r = C({"rollout", "status", "deploy/web", "--timeout", "15s"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.err, "error: deployment \"web\" exceeded its progress deadline\n") << r.out;
}

TEST_F(CliTest, GetEventsAndDescribeShowWhatHappened) {
  ASSERT_EQ(C({"apply", "-f", "-"}, WebDeployment(1, "nginx:1.25")).exit_code, 0);
  // The scheduler reports on the Pod (scheduled, or not: this build may have no nodes).
  RunResult r;
  ASSERT_TRUE(WaitUntil([&] {
    r = C({"get", "events"});
    return r.out.find("pod/web-") != std::string::npos;
  })) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("LAST SEEN", 0), 0u) << r.out;
  for (const char* column : {"TYPE", "REASON", "OBJECT", "MESSAGE"}) EXPECT_NE(r.out.find(column), std::string::npos);
  r = C({"get", "ev", "-A"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("NAMESPACE", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("pod/web-"), std::string::npos) << r.out;

  r = C({"describe", "deployment", "web"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Conditions:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Progressing"), std::string::npos) << r.out;
  json pods = J({"get", "pods", "-l", "app=web"});
  ASSERT_EQ(ItemCount(pods), 1u);
  r = C({"describe", "pod", pods["items"][0]["metadata"]["name"].get<std::string>()});
  EXPECT_NE(r.out.find("Events:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Schedul"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace capstan::e2e
