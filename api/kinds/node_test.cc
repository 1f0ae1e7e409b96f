#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"
#include "api/kinds/printing.h"
#include "api/selector/selector.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

// A second host running the docker driver, as manifests/node.yaml shows it, with a status as its
// node agent would report it.
constexpr char kNode[] = R"(
apiVersion: v1
kind: Node
metadata:
  name: worker-2
  labels:
    kubernetes.io/hostname: worker-2
    node-role.kubernetes.io/worker: ""
spec:
  driver:
    name: docker
    endpoint: unix:///var/run/docker.sock
    config:
      network: capstan0
      logOpts: {max-size: 10m, max-file: "3"}
      dns: [10.0.0.2, 10.0.0.3]
  taints:
  - key: dedicated
    value: batch
    effect: NoSchedule
status:
  capacity: {cpu: "4", memory: 16Gi, pods: "110"}
  conditions:
  - type: Ready
    status: "True"
    reason: NodeReady
    lastHeartbeatTime: "2026-01-02T03:04:05Z"
    lastTransitionTime: "2026-01-02T03:00:00Z"
  addresses:
  - {type: InternalIP, address: 10.0.0.12}
  - {type: Hostname, address: worker-2}
  nodeInfo:
    kernelVersion: 6.1.0-18-amd64
    osImage: Debian GNU/Linux 12 (bookworm)
    containerRuntimeVersion: docker://27.3.1
    kubeletVersion: v0.1.0-capstan
    operatingSystem: linux
    architecture: amd64
  daemonEndpoints:
    kubeletEndpoint: {Port: 10250}
)";

json SampleNode() { return Yaml(kNode); }

TEST(NodeTest, Registration) {
  const KindInfo& k = Kind("no");
  EXPECT_EQ(k.kind, "Node");
  EXPECT_EQ(k.resource_name(), "nodes");
  EXPECT_FALSE(k.namespaced);
  EXPECT_TRUE(k.status_subresource);
  EXPECT_FALSE(k.has_generation);
  EXPECT_EQ(k.schema->ref_name, "io.k8s.api.core.v1.Node");
  EXPECT_EQ(&Kind("nodes"), &k);
  EXPECT_EQ(&Kind("node"), &k);
  std::vector<std::string> normal = {"Status", "Roles", "Age", "Version"};
  std::vector<std::string> wide = {"Status",      "Roles",    "Age",            "Version",          "Internal-IP",
                                   "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"};
  EXPECT_EQ(ColumnNames(k, 0), normal);
  EXPECT_EQ(ColumnNames(k, 1), wide);
  // Strategic merge as Kubernetes: conditions and addresses by type, taints replaced whole.
  EXPECT_EQ(SchemaAt(*k.schema, {"status", "conditions"})->merge_key, "type");
  EXPECT_EQ(SchemaAt(*k.schema, {"status", "addresses"})->merge_key, "type");
  EXPECT_EQ(SchemaAt(*k.schema, {"spec", "taints"})->merge_key, "");
  EXPECT_EQ(SchemaAt(*k.schema, {"spec", "taints"})->list_type, "atomic");
  EXPECT_EQ(SchemaAt(*k.schema, {"spec", "podCIDRs"})->list_type, "set");
  EXPECT_EQ(SchemaAt(*k.schema, {"spec", "podCIDRs"})->patch_strategy, "merge");
}

TEST(NodeTest, StrictRejectsUnknownAndMistypedWithPath) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  n["spec"]["driver"]["endpont"] = "unix:///x";
  auto errs = Strict(k, n);
  ASSERT_EQ(errs.size(), 1u) << Dump(errs);
  EXPECT_EQ(errs[0].field, "spec.driver.endpont");
  EXPECT_EQ(errs[0].type, "FieldValueUnknown");

  n = SampleNode();
  n["status"]["nodeInfo"]["kernel"] = "6.1";
  n["spec"]["taints"][0]["effects"] = "NoSchedule";
  n["spec"]["unschedulable"] = "yes";
  errs = Strict(k, n);
  EXPECT_TRUE(Has(errs, "status.nodeInfo.kernel", "FieldValueUnknown")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.taints[0].effects", "FieldValueUnknown")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.unschedulable", "FieldValueTypeInvalid")) << Dump(errs);

  // Required by the schema: the driver's name, a taint's key and effect, an address's fields.
  n = SampleNode();
  n["spec"]["driver"].erase("name");
  n["spec"]["taints"][0].erase("effect");
  n["status"]["addresses"][0].erase("address");
  errs = Strict(k, n);
  EXPECT_TRUE(Has(errs, "spec.driver.name", "FieldValueRequired")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.taints[0].effect", "FieldValueRequired")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "status.addresses[0].address", "FieldValueRequired")) << Dump(errs);

  // Quantity syntax.
  n = SampleNode();
  n["status"]["capacity"]["memory"] = "16 GB";
  errs = Strict(k, n);
  EXPECT_TRUE(Has(errs, "status.capacity[memory]", "FieldValueInvalid", "quantities must match")) << Dump(errs);
}

TEST(NodeTest, DriverConfigKeepsArbitraryNestedJson) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  json config = {{"network", "capstan0"},
                 {"nested", {{"deeper", {{"list", {1, "two", nullptr, true, {{"k", 3.5}}}}}}}},
                 {"empty", json::object()}};
  n["spec"]["driver"]["config"] = config;
  auto errs = Create(k, &n);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(n["spec"]["driver"]["config"], config);
  // The config must be an object, though.
  json bad = SampleNode();
  bad["spec"]["driver"]["config"] = json::array({"a"});
  errs = Strict(k, bad);
  EXPECT_TRUE(Has(errs, "spec.driver.config", "FieldValueTypeInvalid")) << Dump(errs);
  // In OpenAPI: an object whose values keep unknown fields, so kubectl validates nothing inside.
  json components = json::object();
  ToOpenApi(*k.schema, &components);
  const json& driver = components["io.capstan.api.core.v1.NodeDriver"];
  EXPECT_EQ(driver["required"], json::array({"name"}));
  EXPECT_EQ(driver["properties"]["config"]["type"], "object");
  EXPECT_EQ(driver["properties"]["config"]["additionalProperties"]["x-kubernetes-preserve-unknown-fields"], true);
}

TEST(NodeTest, Defaults) {
  const KindInfo& k = Kind("no");
  json n = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}}},
            {"spec", {{"podCIDR", "10.244.1.0/24"}}}, {"status", {{"capacity", {{"cpu", "2"}, {"pods", "110"}}}}}};
  auto errs = Create(k, &n);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(n["spec"]["unschedulable"], false);
  EXPECT_EQ(n["spec"]["podCIDRs"], json::array({"10.244.1.0/24"}));
  EXPECT_EQ(n["status"]["allocatable"], n["status"]["capacity"]);
  // Create keeps the status a node agent registers with (Kubernetes does not reset it).
  EXPECT_EQ(n["status"]["capacity"]["cpu"], "2");

  // podCIDRs is the source of truth; an explicit allocatable and unschedulable are kept.
  json m = {{"metadata", {{"name", "n2"}}},
            {"spec", {{"unschedulable", true}, {"podCIDR", "10.0.0.0/24"}, {"podCIDRs", {"10.244.2.0/24", "fd00::/64"}}}},
            {"status", {{"capacity", {{"cpu", "2"}}}, {"allocatable", {{"cpu", "1500m"}}}}}};
  errs = Create(k, &m);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(m["spec"]["unschedulable"], true);
  EXPECT_EQ(m["spec"]["podCIDR"], "10.244.2.0/24");
  EXPECT_EQ(m["status"]["allocatable"], json({{"cpu", "1500m"}}));
}

TEST(NodeTest, SampleIsValid) {
  json n = SampleNode();
  auto errs = Create(Kind("no"), &n);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
}

TEST(NodeTest, MetadataIsClusterScopedSubdomain) {
  json n = SampleNode();
  n["metadata"]["name"] = "Worker_2";
  n["metadata"]["namespace"] = "default";
  auto errs = Create(Kind("no"), &n);
  EXPECT_TRUE(Has(errs, "metadata.name", "FieldValueInvalid", "RFC 1123 subdomain")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "metadata.namespace", "FieldValueForbidden")) << Dump(errs);
  json dotted = SampleNode();
  dotted["metadata"]["name"] = "worker-2.example.com";
  errs = Create(Kind("no"), &dotted);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
}

TEST(NodeTest, TaintRules) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  n["spec"]["taints"] = json::array({
      {{"key", "dedicated"}, {"value", "batch"}, {"effect", "NoSchedule"}},
      {{"key", "dedicated"}, {"value", "batch"}, {"effect", "NoExecute"}, {"timeAdded", "2026-01-02T03:04:05Z"}},
      {{"key", "example.com/gpu"}, {"effect", "PreferNoSchedule"}},
  });
  auto errs = Create(k, &n);
  EXPECT_TRUE(errs.empty()) << Dump(errs);

  n = SampleNode();
  n["spec"]["taints"] = json::array({
      {{"key", "a"}, {"effect", "NoScheduleNoAdmit"}},            // 0: unsupported effect
      {{"key", "-bad-"}, {"effect", "NoSchedule"}},               // 1: key not a qualified name
      {{"key", "b"}, {"value", "has space"}, {"effect", "NoExecute"}},  // 2: value not a label value
      {{"key", "c"}, {"effect", ""}},                             // 3: empty effect
      {{"key", "dup"}, {"value", "x"}, {"effect", "NoSchedule"}},  // 4
      {{"key", "dup"}, {"value", "y"}, {"effect", "NoSchedule"}},  // 5: same key and effect as 4
  });
  errs = Create(k, &n);
  EXPECT_TRUE(Has(errs, "spec.taints[0].effect", "FieldValueNotSupported",
                  "supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""))
      << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.taints[1].key", "FieldValueInvalid", "alphanumeric")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.taints[2].value", "FieldValueInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.taints[3].effect", "FieldValueRequired")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.taints[5]", "FieldValueDuplicate", "taints must be unique by key and effect pair"))
      << Dump(errs);
  EXPECT_FALSE(Has(errs, "spec.taints[4]", "FieldValueDuplicate")) << Dump(errs);
  EXPECT_EQ(errs.size(), 5u) << Dump(errs);
}

TEST(NodeTest, ConditionAndAddressRules) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  n["status"]["conditions"].push_back({{"type", "MemoryPressure"}, {"status", "false"}});
  n["status"]["conditions"].push_back({{"type", "DiskPressure"}, {"status", "Unknown"}});
  n["status"]["addresses"].push_back({{"type", "PublicIP"}, {"address", "203.0.113.7"}});
  n["status"]["addresses"].push_back({{"type", "InternalIP"}, {"address", "10.0.0.12"}});  // repeats [0]
  n["status"]["addresses"].push_back({{"type", "InternalIP"}, {"address", "10.0.0.13"}});  // a second one is fine
  auto errs = Create(k, &n);
  EXPECT_TRUE(Has(errs, "status.conditions[1].status", "FieldValueNotSupported",
                  "supported values: \"True\", \"False\", \"Unknown\""))
      << Dump(errs);
  EXPECT_TRUE(Has(errs, "status.addresses[2].type", "FieldValueNotSupported", "\"InternalIP\"")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "status.addresses[3]", "FieldValueDuplicate")) << Dump(errs);
  EXPECT_EQ(errs.size(), 3u) << Dump(errs);
}

TEST(NodeTest, ResourceQuantityRules) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  n["status"]["capacity"] = {{"cpu", "-1"},        {"memory", "16Gi"},         {"pods", "1500m"},
                             {"example.com/gpu", "0.5"}, {"hugepages-2Mi", "1.5"}, {"ephemeral-storage", 1000}};
  n["status"]["allocatable"] = {{"cpu", "3500m"}, {"pods", 110}, {"example.com/gpu", "2"}};
  auto errs = Create(k, &n);
  EXPECT_TRUE(Has(errs, "status.capacity.cpu", "FieldValueInvalid", "must be greater than or equal to 0"))
      << Dump(errs);
  EXPECT_TRUE(Has(errs, "status.capacity.pods", "FieldValueInvalid", "must be an integer")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "status.capacity.example.com/gpu", "FieldValueInvalid", "must be an integer")) << Dump(errs);
  EXPECT_EQ(errs.size(), 3u) << Dump(errs);
}

TEST(NodeTest, DriverRules) {
  const KindInfo& k = Kind("no");
  for (const char* name : {"docker", "containerd", "process", "fake", "acme-firecracker"}) {
    json n = SampleNode();
    n["spec"]["driver"] = {{"name", name}};
    auto errs = Create(k, &n);
    EXPECT_TRUE(errs.empty()) << name << Dump(errs);
  }
  json n = SampleNode();
  n["spec"]["driver"]["name"] = "Docker.io";
  n["spec"]["driver"]["endpoint"] = "/var/run/docker.sock";
  auto errs = Create(k, &n);
  EXPECT_TRUE(Has(errs, "spec.driver.name", "FieldValueInvalid", "RFC 1123 label")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.driver.endpoint", "FieldValueInvalid", "must be a URL")) << Dump(errs);
  n["spec"]["driver"]["name"] = "";
  n["spec"]["driver"]["endpoint"] = "tcp://10.0.0.5:2376";
  errs = Create(k, &n);
  EXPECT_TRUE(Has(errs, "spec.driver.name", "FieldValueRequired")) << Dump(errs);
  EXPECT_EQ(errs.size(), 1u) << Dump(errs);
  // Kubernetes nodes (no driver at all) are accepted too.
  json plain = SampleNode();
  plain["spec"].erase("driver");
  EXPECT_TRUE(Create(k, &plain).empty());
}

TEST(NodeTest, PodCidrRules) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  n["spec"]["podCIDRs"] = json::array({"10.244.1.0/33", "10.244.2.0/24"});
  auto errs = Create(k, &n);
  EXPECT_TRUE(Has(errs, "spec.podCIDRs[0]", "FieldValueInvalid", "must be a valid CIDR value")) << Dump(errs);
  n["spec"]["podCIDRs"] = json::array({"10.244.1.0/24", "10.244.2.0/24"});
  errs = Create(k, &n);
  EXPECT_TRUE(Has(errs, "spec.podCIDRs", "FieldValueInvalid", "no more than one CIDR for each IP family"))
      << Dump(errs);
  n["spec"]["podCIDRs"] = json::array({"10.244.1.0/24", "fd00:10:244:1::/64"});
  errs = Create(k, &n);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
}

TEST(NodeTest, UpdateRules) {
  const KindInfo& k = Kind("no");
  json old = SampleNode();
  ASSERT_TRUE(Create(k, &old).empty());
  // Unset podCIDR and providerID may be set once; taints and unschedulable change freely.
  json next = old;
  next["spec"]["podCIDR"] = "10.244.1.0/24";
  next["spec"]["providerID"] = "capstan://worker-2";
  next["spec"]["unschedulable"] = true;
  next["spec"]["taints"] = json::array();
  auto errs = Update(k, &next, old);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  // Once set, they are fixed.
  json again = next;
  again["spec"]["podCIDRs"] = json::array({"10.244.9.0/24"});
  again["spec"]["providerID"] = "capstan://other";
  again["spec"]["externalID"] = "x";
  errs = Update(k, &again, next);
  EXPECT_TRUE(Has(errs, "spec.podCIDRs", "FieldValueForbidden", "may not change podCIDR")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.providerID", "FieldValueForbidden", "may not change providerID")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.externalID", "FieldValueForbidden")) << Dump(errs);
  // Taints are validated on update too.
  json tainted = next;
  tainted["spec"]["taints"] = json::array({{{"key", "a"}, {"effect", "Never"}}});
  errs = Update(k, &tainted, next);
  EXPECT_TRUE(Has(errs, "spec.taints[0].effect", "FieldValueNotSupported")) << Dump(errs);
}

TEST(NodeTest, StatusColumnLikeKubectl) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  EXPECT_EQ(Cell(k, "Status", n), "Ready");
  n["spec"]["unschedulable"] = true;
  EXPECT_EQ(Cell(k, "Status", n), "Ready,SchedulingDisabled");
  n["status"]["conditions"][0]["status"] = "False";
  EXPECT_EQ(Cell(k, "Status", n), "NotReady,SchedulingDisabled");
  n["spec"]["unschedulable"] = false;
  n["status"]["conditions"][0]["status"] = "Unknown";  // kubectl: anything but True is NotReady
  EXPECT_EQ(Cell(k, "Status", n), "NotReady");
  // Other conditions do not show; without a Ready condition the node is Unknown.
  n["status"]["conditions"] = json::array({{{"type", "MemoryPressure"}, {"status", "False"}}});
  EXPECT_EQ(Cell(k, "Status", n), "Unknown");
  n.erase("status");
  n["spec"]["unschedulable"] = true;
  EXPECT_EQ(Cell(k, "Status", n), "Unknown,SchedulingDisabled");
}

TEST(NodeTest, RolesColumnLikeKubectl) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  EXPECT_EQ(Cell(k, "Roles", n), "worker");
  n["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = "";
  n["metadata"]["labels"]["kubernetes.io/role"] = "ingress";  // the legacy label, by value
  EXPECT_EQ(Cell(k, "Roles", n), "control-plane,ingress,worker");
  n["metadata"]["labels"] = {{"node-role.kubernetes.io/", "x"}, {"kubernetes.io/role", ""}, {"app", "x"}};
  EXPECT_EQ(Cell(k, "Roles", n), "<none>");
  n["metadata"].erase("labels");
  EXPECT_EQ(Cell(k, "Roles", n), "<none>");
}

TEST(NodeTest, OtherColumns) {
  const KindInfo& k = Kind("no");
  json n = SampleNode();
  n["metadata"]["creationTimestamp"] = FormatRfc3339(NowEpochSeconds() - 3 * 86400);
  EXPECT_EQ(Cell(k, "Age", n), "3d");
  EXPECT_EQ(Cell(k, "Version", n), "v0.1.0-capstan");
  EXPECT_EQ(Cell(k, "Internal-IP", n), "10.0.0.12");
  EXPECT_EQ(Cell(k, "External-IP", n), "<none>");
  EXPECT_EQ(Cell(k, "OS-Image", n), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(Cell(k, "Kernel-Version", n), "6.1.0-18-amd64");
  EXPECT_EQ(Cell(k, "Container-Runtime", n), "docker://27.3.1");
  n["status"]["addresses"].push_back({{"type", "ExternalIP"}, {"address", "203.0.113.7"}});
  EXPECT_EQ(Cell(k, "External-IP", n), "203.0.113.7");
  n.erase("status");
  EXPECT_EQ(Cell(k, "Version", n), "");
  EXPECT_EQ(Cell(k, "Internal-IP", n), "<none>");
  EXPECT_EQ(Cell(k, "OS-Image", n), "<unknown>");
  EXPECT_EQ(Cell(k, "Kernel-Version", n), "<unknown>");
  EXPECT_EQ(Cell(k, "Container-Runtime", n), "<unknown>");
}

TEST(NodeTest, FieldSelectorSpecUnschedulable) {
  const KindInfo& k = Kind("no");
  auto supported = k.field_selectors;
  supported.push_back("metadata.name");
  json schedulable = Defaulted(k, SampleNode());
  json cordoned = SampleNode();
  cordoned["spec"]["unschedulable"] = true;
  auto matches = [&](const std::string& text, const json& node) {
    auto sel = FieldSelector::Parse(text);
    EXPECT_TRUE(sel.ok()) << text;
    EXPECT_TRUE(sel->CheckSupported(supported).ok()) << text;
    return sel->Matches([&](const std::string& f) { return FieldValue(node, f); });
  };
  EXPECT_TRUE(matches("spec.unschedulable=false", schedulable));
  EXPECT_FALSE(matches("spec.unschedulable=true", schedulable));
  EXPECT_TRUE(matches("spec.unschedulable=true", cordoned));
  EXPECT_TRUE(matches("spec.unschedulable!=true", schedulable));
  EXPECT_TRUE(matches("metadata.name=worker-2,spec.unschedulable=false", schedulable));
  auto unsupported = FieldSelector::Parse("spec.providerID=x");
  ASSERT_TRUE(unsupported.ok());
  EXPECT_FALSE(unsupported->CheckSupported(supported).ok());
}

}  // namespace
}  // namespace capstan::api::kinds
