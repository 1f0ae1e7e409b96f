#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"
#include "api/kinds/pod_spec.h"
#include "api/kinds/printing.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

json SamplePod() {
  return Yaml(R"(
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx:1.25
    ports:
    - containerPort: 80
      name: http
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef: {fieldPath: metadata.name}
    resources:
      limits: {cpu: 500m, memory: 128Mi}
    readinessProbe:
      httpGet: {port: http}
    volumeMounts:
    - {name: cache, mountPath: /cache}
  - name: sidecar
    image: busybox
    command: [sh, -c, "sleep 3600"]
  volumes:
  - name: cache
  - name: conf
    configMap: {name: web-conf}
)");
}

TEST(PodTest, Registration) {
  const KindInfo& k = Kind("po");
  EXPECT_EQ(k.kind, "Pod");
  EXPECT_TRUE(k.status_subresource);
  EXPECT_FALSE(k.has_generation);
  EXPECT_EQ(k.categories, std::vector<std::string>{"all"});
  std::vector<std::string> normal = {"Ready", "Status", "Restarts", "Age"};
  std::vector<std::string> wide = {"Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node",
                                   "Readiness Gates"};
  EXPECT_EQ(ColumnNames(k, 0), normal);
  EXPECT_EQ(ColumnNames(k, 1), wide);
}

TEST(PodTest, SchemaMergeKeysAndNames) {
  const Schema& root = *Kind("pods").schema;
  EXPECT_EQ(SchemaAt(root, {"spec"})->ref_name, "io.k8s.api.core.v1.PodSpec");
  EXPECT_EQ(SchemaAt(root, {"metadata"})->ref_name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  EXPECT_EQ(SchemaAt(root, {"spec", "containers"})->merge_key, "name");
  EXPECT_EQ(SchemaAt(root, {"spec", "initContainers"})->merge_key, "name");
  EXPECT_EQ(SchemaAt(root, {"spec", "containers", "ports"})->merge_key, "containerPort");
  EXPECT_EQ(SchemaAt(root, {"spec", "containers", "env"})->merge_key, "name");
  EXPECT_EQ(SchemaAt(root, {"spec", "containers", "volumeMounts"})->merge_key, "mountPath");
  EXPECT_EQ(SchemaAt(root, {"spec", "volumes"})->merge_key, "name");
  EXPECT_EQ(SchemaAt(root, {"spec", "volumes"})->patch_strategy, "merge,retainKeys");
  EXPECT_EQ(SchemaAt(root, {"spec", "imagePullSecrets"})->merge_key, "name");
  EXPECT_EQ(SchemaAt(root, {"spec", "tolerations"})->list_type, "atomic");
  EXPECT_EQ(SchemaAt(root, {"spec", "tolerations"})->merge_key, "");
  EXPECT_EQ(SchemaAt(root, {"status", "conditions"})->merge_key, "type");
  EXPECT_EQ(SchemaAt(root, {"status", "podIPs"})->merge_key, "ip");
  EXPECT_EQ(SchemaAt(root, {"spec", "containers", "resources", "limits"})->values->type, Type::kQuantity);
  EXPECT_EQ(SchemaAt(root, {"spec", "containers", "livenessProbe", "httpGet", "port"})->type, Type::kIntOrString);
  EXPECT_EQ(SchemaAt(root, {"spec", "securityContext"}), nullptr);  // Any: accepted, not enforced
}

TEST(PodTest, StrictRejectsUnknownAndMistyped) {
  const KindInfo& k = Kind("po");
  json p = SamplePod();
  p["spec"]["containers"][0]["imagee"] = "x";
  auto errs = Strict(k, p);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.containers[0].imagee");
  EXPECT_EQ(errs[0].type, "FieldValueUnknown");
  p = SamplePod();
  p["spec"]["containers"][0]["ports"][0]["containerPort"] = "80";
  errs = Strict(k, p);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.containers[0].ports[0].containerPort");
  EXPECT_EQ(errs[0].type, "FieldValueTypeInvalid");
  p = SamplePod();
  p["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "lots";
  errs = Strict(k, p);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.containers[0].resources.limits[cpu]");
}

TEST(PodTest, DefaultsAsKubernetes) {
  const KindInfo& k = Kind("po");
  json p = SamplePod();
  auto errs = Create(k, &p);
  ASSERT_TRUE(errs.empty()) << Dump(errs);
  const json& spec = p["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Always");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(spec["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(spec["schedulerName"], "default-scheduler");
  EXPECT_EQ(spec["enableServiceLinks"], true);
  EXPECT_EQ(spec["securityContext"], json::object());
  const json& c = spec["containers"][0];
  EXPECT_EQ(c["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(spec["containers"][1]["imagePullPolicy"], "Always");  // busybox: implicit latest
  EXPECT_EQ(c["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(c["terminationMessagePolicy"], "File");
  EXPECT_EQ(c["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
  EXPECT_EQ(c["resources"]["requests"], (json{{"cpu", "500m"}, {"memory", "128Mi"}}));  // from limits
  json probe = {{"httpGet", {{"port", "http"}, {"path", "/"}, {"scheme", "HTTP"}}},
                {"timeoutSeconds", 1},
                {"periodSeconds", 10},
                {"successThreshold", 1},
                {"failureThreshold", 3}};
  EXPECT_EQ(c["readinessProbe"], probe);
  EXPECT_EQ(spec["containers"][1]["resources"], json::object());
  EXPECT_EQ(spec["volumes"][0]["emptyDir"], json::object());
  EXPECT_EQ(spec["volumes"][1]["configMap"]["defaultMode"], 420);
  EXPECT_EQ(p["status"], (json{{"phase", "Pending"}, {"qosClass", "Burstable"}}));
}

TEST(PodTest, ImagePullPolicyAndQos) {
  EXPECT_EQ(DefaultImagePullPolicy("nginx"), "Always");
  EXPECT_EQ(DefaultImagePullPolicy("nginx:latest"), "Always");
  EXPECT_EQ(DefaultImagePullPolicy("localhost:5000/nginx"), "Always");
  EXPECT_EQ(DefaultImagePullPolicy("localhost:5000/nginx:1.2"), "IfNotPresent");
  EXPECT_EQ(DefaultImagePullPolicy("nginx@sha256:abcd"), "IfNotPresent");
  EXPECT_EQ(ComputeQosClass(json{{"containers", {{{"name", "a"}}}}}), "BestEffort");
  json guaranteed = {{"containers", {{{"name", "a"}, {"resources", {{"limits", {{"cpu", "1"}, {"memory", "1Gi"}}}}}}}}};
  EXPECT_EQ(ComputeQosClass(guaranteed), "Guaranteed");
  guaranteed["containers"][0]["resources"]["requests"] = {{"cpu", "500m"}};
  EXPECT_EQ(ComputeQosClass(guaranteed), "Burstable");
}

TEST(PodTest, ValidationPathsAsKubernetes) {
  const KindInfo& k = Kind("po");
  json p = Yaml(R"(
metadata: {name: bad, namespace: default}
spec:
  restartPolicy: Sometimes
  containers:
  - name: Web
    ports:
    - {containerPort: 70000, name: http}
    - {containerPort: 81, name: http}
    env:
    - {name: 1BAD, value: x}
    resources:
      limits: {cpu: 100m}
      requests: {cpu: 200m, gpu: "1"}
    livenessProbe:
      exec: {command: [/bin/true]}
      tcpSocket: {port: 80}
      successThreshold: 2
    volumeMounts:
    - {name: missing, mountPath: /x}
  - name: web2
    image: nginx
    startupProbe: {}
  - name: web2
    image: nginx
)");
  auto errs = Create(k, &p);
  const std::string c0 = "spec.containers[0]";
  EXPECT_TRUE(Has(errs, "spec.restartPolicy", "FieldValueNotSupported")) << Dump(errs);
  EXPECT_TRUE(Has(errs, c0 + ".name", "FieldValueInvalid", "RFC 1123 label"));
  EXPECT_TRUE(Has(errs, c0 + ".image", "FieldValueRequired"));
  EXPECT_TRUE(Has(errs, c0 + ".ports[0].containerPort", "FieldValueInvalid", "between 1 and 65535"));
  EXPECT_TRUE(Has(errs, c0 + ".ports[1].name", "FieldValueDuplicate"));
  EXPECT_TRUE(Has(errs, c0 + ".env[0].name", "FieldValueInvalid", "environment variable name"));
  EXPECT_TRUE(Has(errs, c0 + ".resources.requests[cpu]", "FieldValueInvalid", "must be less than or equal to cpu limit"));
  EXPECT_TRUE(Has(errs, c0 + ".resources.requests[gpu]", "FieldValueInvalid", "must be a standard resource"));
  EXPECT_TRUE(Has(errs, c0 + ".livenessProbe.tcpSocket", "FieldValueForbidden", "may not specify more than 1 handler type"));
  EXPECT_TRUE(Has(errs, c0 + ".livenessProbe.successThreshold", "FieldValueInvalid", "must be 1"));
  EXPECT_TRUE(Has(errs, c0 + ".volumeMounts[0].name", "FieldValueNotFound"));
  EXPECT_TRUE(Has(errs, "spec.containers[1].startupProbe", "FieldValueRequired", "must specify a handler type"));
  EXPECT_TRUE(Has(errs, "spec.containers[2].name", "FieldValueDuplicate"));
}

TEST(PodTest, MoreValidation) {
  const KindInfo& k = Kind("po");
  json p = Yaml(R"(
metadata: {name: p, namespace: default}
spec:
  activeDeadlineSeconds: 0
  nodeSelector: {"bad key": x}
  tolerations:
  - {operator: Equal, value: x}
  - {key: k, operator: Exists, value: v}
  - {key: k, effect: NoSchedule, tolerationSeconds: 5}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: []
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 0
        preference:
          matchExpressions: [{key: zone, operator: Gt, values: [a, b]}]
  initContainers:
  - name: init
    image: busybox
    readinessProbe: {exec: {command: [x]}}
  containers:
  - name: app
    image: app
    restartPolicy: Always
  volumes:
  - name: v
    emptyDir: {}
    hostPath: {path: /tmp}
)");
  auto errs = Create(k, &p);
  EXPECT_TRUE(Has(errs, "spec.activeDeadlineSeconds", "FieldValueInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.nodeSelector", "FieldValueInvalid"));
  EXPECT_TRUE(Has(errs, "spec.tolerations[0].operator", "FieldValueInvalid", "operator must be Exists"));
  EXPECT_TRUE(Has(errs, "spec.tolerations[1].operator", "FieldValueInvalid", "value must be empty"));
  EXPECT_TRUE(Has(errs, "spec.tolerations[2].effect", "FieldValueInvalid", "tolerationSeconds"));
  EXPECT_TRUE(Has(errs,
                  "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
                  "FieldValueRequired"));
  const std::string pref = "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]";
  EXPECT_TRUE(Has(errs, pref + ".weight", "FieldValueInvalid", "1-100"));
  EXPECT_TRUE(Has(errs, pref + ".preference.matchExpressions[0].values", "FieldValueRequired"));
  EXPECT_TRUE(Has(errs, "spec.initContainers[0].readinessProbe", "FieldValueForbidden"));
  EXPECT_TRUE(Has(errs, "spec.containers[0].restartPolicy", "FieldValueForbidden"));
  EXPECT_TRUE(Has(errs, "spec.volumes[0].hostPath", "FieldValueForbidden", "may not specify more than 1 volume type"));
}

TEST(PodTest, SpecImmutableExceptImagesAndFriends) {
  const KindInfo& k = Kind("po");
  json old = SamplePod();
  ASSERT_TRUE(Create(k, &old).empty());
  json image = old;
  image["spec"]["containers"][0]["image"] = "nginx:1.26";
  image["spec"]["activeDeadlineSeconds"] = 600;
  image["spec"]["tolerations"] = {{{"key", "k"}, {"operator", "Exists"}}};
  image["spec"]["nodeName"] = "node-1";  // binding an unbound pod
  auto errs = Update(k, &image, old);
  EXPECT_TRUE(errs.empty()) << Dump(errs);

  json ports = old;
  ports["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080;
  errs = Update(k, &ports, old);
  ASSERT_TRUE(Has(errs, "spec", "FieldValueForbidden", "pod updates may not change fields other than")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec", "FieldValueForbidden", "spec.containers"));

  json added = old;
  added["spec"]["containers"].push_back({{"name", "extra"}, {"image", "x"}});
  errs = Update(k, &added, old);
  EXPECT_TRUE(Has(errs, "spec.containers", "FieldValueForbidden", "may not add or remove containers")) << Dump(errs);

  json bound = image;
  json rebind = bound;
  rebind["spec"]["nodeName"] = "node-2";
  errs = Update(k, &rebind, bound);
  EXPECT_TRUE(Has(errs, "spec", "FieldValueForbidden")) << Dump(errs);
  json raise = bound;
  raise["spec"]["activeDeadlineSeconds"] = 900;
  errs = Update(k, &raise, bound);
  EXPECT_TRUE(Has(errs, "spec.activeDeadlineSeconds", "FieldValueInvalid", "less than or equal to previous value"));
}

json Status(const std::string& yaml) { return Yaml(yaml); }

TEST(PodTest, PrinterCells) {
  const KindInfo& k = Kind("po");
  json p = SamplePod();
  ASSERT_TRUE(Create(k, &p).empty());
  EXPECT_EQ(Cell(k, "Ready", p), "0/2");
  EXPECT_EQ(Cell(k, "Status", p), "Pending");
  EXPECT_EQ(Cell(k, "Restarts", p), "0");
  EXPECT_EQ(Cell(k, "IP", p), "<none>");
  EXPECT_EQ(Cell(k, "Node", p), "<none>");
  EXPECT_EQ(Cell(k, "Readiness Gates", p), "<none>");

  std::string finished = FormatRfc3339(NowEpochSeconds() - 125);
  p["spec"]["nodeName"] = "node-1";
  p["status"] = Status(R"(
phase: Running
podIP: 10.0.0.5
podIPs: [{ip: 10.0.0.5}]
conditions: [{type: Ready, status: "False"}]
containerStatuses:
- name: nginx
  ready: true
  restartCount: 0
  image: nginx:1.25
  imageID: ""
  state: {running: {startedAt: "2024-01-01T00:00:00Z"}}
- name: sidecar
  ready: false
  restartCount: 3
  image: busybox
  imageID: ""
  state: {waiting: {reason: CrashLoopBackOff}}
  lastState: {terminated: {exitCode: 1, finishedAt: ")" + finished + R"("}}
)");
  EXPECT_EQ(Cell(k, "Ready", p), "1/2");
  EXPECT_EQ(Cell(k, "Status", p), "CrashLoopBackOff");
  std::string restarts = Cell(k, "Restarts", p).get<std::string>();
  EXPECT_TRUE(restarts == "3 (2m5s ago)" || restarts == "3 (2m6s ago)") << restarts;
  EXPECT_EQ(Cell(k, "IP", p), "10.0.0.5");
  EXPECT_EQ(Cell(k, "Node", p), "node-1");

  // Completed containers next to a running one: NotReady unless the pod is Ready.
  json done = p;
  done["status"]["containerStatuses"][1]["state"] = {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}};
  done["status"]["containerStatuses"][1]["restartCount"] = 0;
  done["status"]["containerStatuses"][1].erase("lastState");
  // containerStatuses are walked last-to-first, so the running container comes after.
  std::swap(done["status"]["containerStatuses"][0], done["status"]["containerStatuses"][1]);
  EXPECT_EQ(Cell(k, "Status", done), "NotReady");
  done["status"]["conditions"][0]["status"] = "True";
  EXPECT_EQ(Cell(k, "Status", done), "Running");
  json gated = p;
  gated["spec"]["readinessGates"] = {{{"conditionType", "example.com/ready"}}};
  gated["status"]["conditions"].push_back({{"type", "example.com/ready"}, {"status", "True"}});
  EXPECT_EQ(Cell(k, "Readiness Gates", gated), "1/1");

  json deleting = p;
  deleting["metadata"]["deletionTimestamp"] = FormatRfc3339(NowEpochSeconds());
  EXPECT_EQ(Cell(k, "Status", deleting), "Terminating");

  json init = SamplePod();
  init["spec"]["initContainers"] = {{{"name", "migrate"}, {"image", "x"}}};
  init["status"] = Status(R"(
phase: Pending
initContainerStatuses:
- {name: migrate, ready: false, restartCount: 0, image: x, imageID: "", state: {running: {}}}
)");
  EXPECT_EQ(Cell(k, "Status", init), "Init:0/1");
  init["status"]["initContainerStatuses"][0]["state"] = {{"terminated", {{"exitCode", 2}}}};
  EXPECT_EQ(Cell(k, "Status", init), "Init:ExitCode:2");

  json succeeded = SamplePod();
  succeeded["status"] = Status(R"(
phase: Succeeded
containerStatuses:
- {name: nginx, ready: false, restartCount: 0, image: x, imageID: "", state: {terminated: {exitCode: 0, reason: Completed}}}
)");
  EXPECT_EQ(Cell(k, "Status", succeeded), "Completed");
}

}  // namespace
}  // namespace capstan::api::kinds
