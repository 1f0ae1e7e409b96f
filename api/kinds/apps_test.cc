#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"
#include "api/kinds/printing.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

// From https://kubernetes.io/docs/concepts/workloads/controllers/deployment/, as users copy it.
constexpr char kNginxDeployment[] = R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
)";

json Nginx() {
  json d = Yaml(kNginxDeployment);
  d["metadata"]["namespace"] = "default";  // the server fills it from the request path
  return d;
}

TEST(DeploymentTest, Registration) {
  const KindInfo& k = Kind("deploy");
  EXPECT_EQ(k.group, "apps");
  EXPECT_EQ(k.resource_name(), "deployments.apps");
  EXPECT_TRUE(k.status_subresource);
  EXPECT_TRUE(k.has_generation);
  ASSERT_TRUE(k.scale.has_value());
  EXPECT_EQ(k.scale->spec_replicas, "/spec/replicas");
  EXPECT_EQ(k.short_names, std::vector<std::string>{"deploy"});
  std::vector<std::string> normal = {"Ready", "Up-to-date", "Available", "Age"};
  std::vector<std::string> wide = {"Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"};
  EXPECT_EQ(ColumnNames(k, 0), normal);
  EXPECT_EQ(ColumnNames(k, 1), wide);
  const Schema* strategy = SchemaAt(*k.schema, {"spec", "strategy"});
  ASSERT_NE(strategy, nullptr);
  EXPECT_EQ(strategy->patch_strategy, "retainKeys");
  EXPECT_EQ(strategy->ref_name, "io.k8s.api.apps.v1.DeploymentStrategy");
  EXPECT_EQ(SchemaAt(*k.schema, {"spec", "template", "spec", "containers"})->merge_key, "name");
  EXPECT_EQ(SchemaAt(*k.schema, {"status", "conditions"})->merge_key, "type");
}

TEST(DeploymentTest, NginxFromTheDocsPassesWithKubernetesDefaults) {
  const KindInfo& k = Kind("deployments.apps");
  json d = Nginx();
  auto errs = Create(k, &d);
  ASSERT_TRUE(errs.empty()) << Dump(errs);
  const json& spec = d["spec"];
  EXPECT_EQ(spec["replicas"], 3);
  EXPECT_EQ(spec["strategy"],
            (json{{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}));
  EXPECT_EQ(spec["revisionHistoryLimit"], 10);
  EXPECT_EQ(spec["progressDeadlineSeconds"], 600);
  const json& pod = spec["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Always");
  EXPECT_EQ(pod["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(pod["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(pod["schedulerName"], "default-scheduler");
  EXPECT_FALSE(pod.contains("enableServiceLinks"));  // SetDefaults_Pod only, not templates
  EXPECT_EQ(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(pod["containers"][0]["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(pod["containers"][0]["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(d["status"], json::object());

  // Defaults are idempotent: a second pass changes nothing.
  EXPECT_EQ(Defaulted(k, d), d);
}

TEST(DeploymentTest, StrictRejectsUnknownAndMistyped) {
  const KindInfo& k = Kind("deploy");
  json d = Nginx();
  d["spec"]["template"]["spec"]["containers"][0]["port"] = json::array();
  auto errs = Strict(k, d);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.template.spec.containers[0].port");
  EXPECT_EQ(errs[0].type, "FieldValueUnknown");
  d = Nginx();
  d["spec"]["replicas"] = "3";
  errs = Strict(k, d);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.replicas");
  EXPECT_EQ(errs[0].type, "FieldValueTypeInvalid");
  d = Nginx();
  d["spec"].erase("selector");
  errs = Strict(k, d);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.selector");
  EXPECT_EQ(errs[0].type, "FieldValueRequired");
}

TEST(DeploymentTest, SelectorMustMatchTemplate) {
  const KindInfo& k = Kind("deploy");
  json d = Nginx();
  d["spec"]["template"]["metadata"]["labels"]["app"] = "apache";
  auto errs = Create(k, &d);
  EXPECT_TRUE(Has(errs, "spec.template.metadata.labels", "FieldValueInvalid",
                  "`selector` does not match template `labels`"))
      << Dump(errs);
  json empty = Nginx();
  empty["spec"]["selector"] = json::object();
  errs = Create(k, &empty);
  EXPECT_TRUE(Has(errs, "spec.selector", "FieldValueInvalid", "empty selector is invalid for deployment")) << Dump(errs);
  json exprs = Nginx();
  exprs["spec"]["selector"] = {{"matchExpressions", {{{"key", "app"}, {"operator", "In"}, {"values", {"nginx", "x"}}}}}};
  EXPECT_TRUE(Create(k, &exprs).empty());
}

TEST(DeploymentTest, SpecValidation) {
  const KindInfo& k = Kind("deploy");
  json d = Nginx();
  d["spec"]["replicas"] = -1;
  d["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  d["spec"]["template"]["spec"]["containers"][0].erase("image");
  d["spec"]["strategy"] = {{"type", "Recreate"}, {"rollingUpdate", {{"maxSurge", 1}}}};
  d["spec"]["minReadySeconds"] = 700;
  auto errs = Create(k, &d);
  EXPECT_TRUE(Has(errs, "spec.replicas", "FieldValueInvalid", "greater than or equal to 0")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.template.spec.restartPolicy", "FieldValueNotSupported", "\"Always\""));
  EXPECT_TRUE(Has(errs, "spec.template.spec.containers[0].image", "FieldValueRequired"));
  EXPECT_TRUE(Has(errs, "spec.strategy.rollingUpdate", "FieldValueForbidden"));
  EXPECT_TRUE(Has(errs, "spec.progressDeadlineSeconds", "FieldValueInvalid", "must be greater than minReadySeconds"));

  json zero = Nginx();
  zero["spec"]["strategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", "0%"}}}};
  errs = Create(k, &zero);
  EXPECT_TRUE(Has(errs, "spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid", "may not be 0 when `maxSurge` is 0"))
      << Dump(errs);
  json pct = Nginx();
  pct["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", "200%"}, {"maxUnavailable", "150%"}}}};
  errs = Create(k, &pct);
  EXPECT_TRUE(Has(errs, "spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid", "must not be greater than 100%"))
      << Dump(errs);
  EXPECT_FALSE(Has(errs, "spec.strategy.rollingUpdate.maxSurge", "FieldValueInvalid"));  // surge may exceed 100%
  json bad_pct = Nginx();
  bad_pct["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", "x%"}}}};
  errs = Create(k, &bad_pct);
  EXPECT_TRUE(Has(errs, "spec.strategy.rollingUpdate.maxSurge", "FieldValueInvalid", "a valid percent string")) << Dump(errs);
  json bad_type = Nginx();
  bad_type["spec"]["strategy"] = {{"type", "BlueGreen"}};
  errs = Create(k, &bad_type);
  EXPECT_TRUE(Has(errs, "spec.strategy.type", "FieldValueNotSupported")) << Dump(errs);
}

TEST(DeploymentTest, SelectorImmutable) {
  const KindInfo& k = Kind("deploy");
  json old = Nginx();
  ASSERT_TRUE(Create(k, &old).empty());
  json scaled = old;
  scaled["spec"]["replicas"] = 5;
  scaled["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.16.1";
  EXPECT_TRUE(Update(k, &scaled, old).empty());
  json moved = old;
  moved["spec"]["selector"]["matchLabels"]["tier"] = "web";
  moved["spec"]["template"]["metadata"]["labels"]["tier"] = "web";
  auto errs = Update(k, &moved, old);
  EXPECT_TRUE(Has(errs, "spec.selector", "FieldValueInvalid", "field is immutable")) << Dump(errs);
}

TEST(DeploymentTest, PrinterCells) {
  const KindInfo& k = Kind("deploy");
  json d = Nginx();
  ASSERT_TRUE(Create(k, &d).empty());
  d["spec"]["template"]["spec"]["containers"].push_back({{"name", "log"}, {"image", "fluentbit:2"}});
  d["metadata"]["creationTimestamp"] = FormatRfc3339(NowEpochSeconds() - 7200);
  d["status"] = {{"replicas", 3}, {"updatedReplicas", 3}, {"readyReplicas", 2}, {"availableReplicas", 2}};
  EXPECT_EQ(Cell(k, "Ready", d), "2/3");
  EXPECT_EQ(Cell(k, "Up-to-date", d), 3);
  EXPECT_EQ(Cell(k, "Available", d), 2);
  EXPECT_EQ(Cell(k, "Age", d), "120m");
  EXPECT_EQ(Cell(k, "Containers", d), "nginx,log");
  EXPECT_EQ(Cell(k, "Images", d), "nginx:1.14.2,fluentbit:2");
  EXPECT_EQ(Cell(k, "Selector", d), "app=nginx");
}

TEST(ReplicaSetTest, DefaultsValidationAndPrinting) {
  const KindInfo& k = Kind("rs");
  EXPECT_EQ(k.kind, "ReplicaSet");
  EXPECT_TRUE(k.has_generation);
  EXPECT_TRUE(k.scale.has_value());
  json rs = Yaml(R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: frontend, namespace: default, labels: {app: guestbook, tier: frontend}}
spec:
  selector:
    matchLabels: {tier: frontend}
  template:
    metadata:
      labels: {tier: frontend}
    spec:
      containers:
      - name: php-redis
        image: us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5
)");
  auto errs = Create(k, &rs);
  ASSERT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(rs["spec"]["replicas"], 1);
  EXPECT_EQ(rs["spec"]["template"]["spec"]["restartPolicy"], "Always");
  EXPECT_EQ(rs["status"], json::object());

  std::vector<std::string> normal = {"Desired", "Current", "Ready", "Age"};
  EXPECT_EQ(ColumnNames(k, 0), normal);
  rs["status"] = {{"replicas", 1}, {"readyReplicas", 0}};
  EXPECT_EQ(Cell(k, "Desired", rs), 1);
  EXPECT_EQ(Cell(k, "Current", rs), 1);
  EXPECT_EQ(Cell(k, "Ready", rs), 0);
  EXPECT_EQ(Cell(k, "Selector", rs), "tier=frontend");

  json strict = rs;
  strict["spec"]["strategy"] = json::object();  // Deployments only
  auto serrs = Strict(k, strict);
  ASSERT_EQ(serrs.size(), 1u);
  EXPECT_EQ(serrs[0].field, "spec.strategy");

  json changed = rs;
  changed["spec"]["selector"]["matchLabels"]["tier"] = "backend";
  changed["spec"]["template"]["metadata"]["labels"]["tier"] = "backend";
  errs = Update(k, &changed, rs);
  EXPECT_TRUE(Has(errs, "spec.selector", "FieldValueInvalid", "field is immutable")) << Dump(errs);

  json mismatch = rs;
  mismatch["spec"]["template"]["metadata"]["labels"] = {{"tier", "x"}};
  mismatch["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 5;
  errs = Create(k, &mismatch);
  EXPECT_TRUE(Has(errs, "spec.template.metadata.labels", "FieldValueInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.template.spec.activeDeadlineSeconds", "FieldValueInvalid", "not Supported"));
}

}  // namespace
}  // namespace capstan::api::kinds
