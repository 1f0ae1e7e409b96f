// v1 Node (cluster-scoped): a host that runs pods, as the Kubernetes Node API describes it, plus
// Capstan's binding of the host to a container driver.
//
// Kubernetes' fields: spec.unschedulable, taints, podCIDR(s), providerID (externalID and
// configSource are deprecated and only stored); status capacity/allocatable, conditions,
// addresses, daemonEndpoints, nodeInfo, images, volumes (config, runtimeHandlers and features are
// stored unchecked). Capstan's: spec.driver {name, endpoint, config}, where name is a DNS-1123
// label (docker, containerd, process, fake, or a third-party plugin's name; deliberately not a
// fixed list) and config a free-form object handed to the driver plugin as it is.
//
// Defaults: as Kubernetes (allocatable copied from capacity when unset; podCIDR and podCIDRs kept
// in step as the v1 conversion does, podCIDRs being the source of truth), plus spec.unschedulable
// set to false, so that the documented selector spec.unschedulable=false matches schedulable nodes
// (Kubernetes derives selector values from the Go struct, Capstan reads the stored JSON). Create
// keeps the status: a node agent registers its node with it, as the kubelet does.
//
// Validation: Kubernetes' ValidateNode and ValidateNodeUpdate (taints, podCIDRs, capacity and
// allocatable quantities, providerID/podCIDRs set once, duplicate addresses) with paths under
// spec.* (Kubernetes reports taint errors under "metadata.taints", a quirk not copied), plus the
// condition status values, the address types and the driver.
#include <arpa/inet.h>

#include <set>
#include <string_view>
#include <utility>

#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr char kCore[] = "io.k8s.api.core.v1.";
std::string Ref(const char* name) { return std::string(kCore) + name; }

const std::vector<std::string> kTaintEffects = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
const std::vector<std::string> kConditionStatuses = {"True", "False", "Unknown"};
const std::vector<std::string> kAddressTypes = {"Hostname", "InternalIP", "ExternalIP", "InternalDNS",
                                                "ExternalDNS"};

bool OneOf(const std::string& v, const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (a == v) return true;
  }
  return false;
}

// ---- Schema ---------------------------------------------------------------------------------------

SchemaPtr DriverSchema() {
  return Object(
      "io.capstan.api.core.v1.NodeDriver",
      {R("name", String("The driver that runs this node's pods: docker, containerd, process, fake, or the name of a "
                        "third-party driver plugin (a DNS-1123 label).")),
       F("endpoint", String("Where the driver reaches its engine, as a URL (e.g. unix:///var/run/docker.sock); "
                            "empty for the driver's default.")),
       F("config", Map(Any(), "Driver-specific settings, passed to the driver plugin as they are."))},
      "Capstan: the container driver of a node and its settings.");
}

SchemaPtr NodeSpecSchema() {
  auto taint = Object(
      Ref("Taint"),
      {R("key", String("The taint key to be applied to a node.")),
       F("value", String("The taint value corresponding to the taint key.")),
       R("effect", String("The effect of the taint on pods that do not tolerate it: NoSchedule, PreferNoSchedule or "
                          "NoExecute.")),
       F("timeAdded", Time("The time at which the taint was added. It is only written for NoExecute taints."))},
      "The node this Taint is attached to has the \"effect\" on any pod that does not tolerate the Taint.");
  auto pod_cidrs = Tweak(Array(String(), "The IP ranges assigned to the node for pods; at most one per IP family.",
                               "", "merge"),
                         [](Schema& sc) { sc.list_type = "set"; });
  return Object(
      Ref("NodeSpec"),
      {F("podCIDR", String("The pod IP range assigned to the node (the first entry of podCIDRs).")),
       F("podCIDRs", pod_cidrs),
       F("providerID", String("ID of the node assigned by the cloud provider: <ProviderName>://<ProviderSpecificNodeID>.")),
       F("unschedulable", Bool("Controls node schedulability of new pods. Defaults to false.")),
       F("taints", AtomicArray(taint, "If specified, the node's taints.")),
       F("configSource", Any("Deprecated; stored, not used.")),
       F("externalID", String("Deprecated. Not all kubelets will set this field.")),
       F("driver", DriverSchema())},
      "NodeSpec describes the attributes that a node is created with.");
}

SchemaPtr NodeStatusSchema() {
  auto condition = ConditionSchema(Ref("NodeCondition"),
                                   {F("lastHeartbeatTime", Time("Last time we got an update on a given condition."))});
  auto address = Object(Ref("NodeAddress"),
                        {R("type", String("Node address type: Hostname, ExternalIP, InternalIP, ExternalDNS or "
                                          "InternalDNS.")),
                         R("address", String("The node address."))},
                        "NodeAddress contains information for the node's address.");
  auto daemon_endpoint = Object(Ref("DaemonEndpoint"), {R("Port", Int32("Port number of the given endpoint."))});
  auto daemon_endpoints = Object(Ref("NodeDaemonEndpoints"),
                                 {F("kubeletEndpoint", daemon_endpoint)},
                                 "NodeDaemonEndpoints lists ports opened by daemons running on the Node.");
  auto swap = Object(Ref("NodeSwapStatus"), {F("capacity", Integer("Total amount of swap memory in bytes."))});
  auto info = Object(
      Ref("NodeSystemInfo"),
      {F("machineID", String("MachineID reported by the node (/etc/machine-id).")),
       F("systemUUID", String("SystemUUID reported by the node.")),
       F("bootID", String("Boot ID reported by the node.")),
       F("kernelVersion", String("Kernel Version reported by the node from 'uname -r'.")),
       F("osImage", String("OS Image reported by the node from /etc/os-release.")),
       F("containerRuntimeVersion", String("ContainerRuntime Version reported by the node (e.g. docker://27.3.1).")),
       F("kubeletVersion", String("Version of the node agent.")),
       F("kubeProxyVersion", String("Deprecated.")),
       F("operatingSystem", String("The Operating System reported by the node.")),
       F("architecture", String("The Architecture reported by the node.")),
       F("swap", swap)},
      "NodeSystemInfo is a set of ids/uuids to uniquely identify the node.");
  auto image = Object(Ref("ContainerImage"),
                      {F("names", AtomicArray(String(), "Names by which this image is known.")),
                       F("sizeBytes", Integer("The size of the image in bytes."))},
                      "Describe a container image");
  auto volume = Object(Ref("AttachedVolume"),
                       {R("name", String("Name of the attached volume.")),
                        R("devicePath", String("Where the volume should be available."))},
                       "AttachedVolume describes a volume attached to a node");
  return Object(
      Ref("NodeStatus"),
      {F("capacity", Map(Quantity(), "The total resources of the node (cpu, memory, pods, ...).")),
       F("allocatable", Map(Quantity(), "The resources of the node available for scheduling. Defaults to capacity.")),
       F("phase", String("Deprecated; never set.")),
       F("conditions", ConditionsArray(condition)),
       F("addresses", Array(address, "List of addresses reachable to the node.", "type")),
       F("daemonEndpoints", daemon_endpoints),
       F("nodeInfo", info),
       F("images", AtomicArray(image, "List of container images on this node.")),
       F("volumesInUse", AtomicArray(String(), "List of attachable volumes in use (mounted) by the node.")),
       F("volumesAttached", AtomicArray(volume, "List of volumes that are attached to the node.")),
       F("config", Any("Status of the config assigned to the node; stored, not used.")),
       F("runtimeHandlers", AtomicArray(Any(), "The available runtime handlers; stored, not used.")),
       F("features", Any("Features supported by the node agent; stored, not used."))},
      "NodeStatus is information about the current status of a node.");
}

SchemaPtr NodeSchema() {
  return KindSchema(Ref("Node"), {F("spec", NodeSpecSchema()), F("status", NodeStatusSchema())},
                    "Node is a worker node in Capstan; each node runs its pods through one driver.");
}

// ---- Defaults -------------------------------------------------------------------------------------

void Defaults(json& obj) {
  json& spec = Ensure(obj, "spec");
  if (Get(spec, "unschedulable") == nullptr) spec["unschedulable"] = false;
  // Convert_v1_NodeSpec_To_core_NodeSpec and back: podCIDRs is the source of truth.
  const json& cidrs = GetArray(spec, "podCIDRs");
  std::string cidr = GetString(spec, "podCIDR");
  if (!cidrs.empty()) {
    if (cidrs[0].is_string()) spec["podCIDR"] = cidrs[0];
  } else if (!cidr.empty()) {
    spec["podCIDRs"] = json::array({cidr});
  }
  // SetDefaults_NodeStatus.
  if (const json* status = Get(obj, "status")) {
    const json* capacity = Get(*status, "capacity");
    if (capacity != nullptr && Get(*status, "allocatable") == nullptr) obj["status"]["allocatable"] = *capacity;
  }
}

// ---- Validation -----------------------------------------------------------------------------------

std::string JoinMessages(const std::vector<std::string>& msgs) {
  std::string out;
  for (const auto& m : msgs) out += (out.empty() ? "" : ";") + m;
  return out;
}

// validateNodeTaints: qualified keys, label values, a supported effect, unique (key, effect).
void ValidateTaints(const json& taints, const std::string& path, FieldErrors* errors) {
  std::set<std::pair<std::string, std::string>> seen;  // (effect, key)
  for (size_t i = 0; i < taints.size(); ++i) {
    const json& t = taints[i];
    std::string ip = Index(path, i);
    std::string key = GetString(t, "key");
    AddInvalidEach(errors, Child(ip, "key"), key, CheckQualifiedName(key));
    std::string value = GetString(t, "value");
    if (auto msgs = CheckLabelValue(value); !msgs.empty()) {
      AddInvalid(errors, Child(ip, "value"), value, JoinMessages(msgs));
    }
    std::string effect = GetString(t, "effect");
    if (effect.empty()) {
      AddRequired(errors, Child(ip, "effect"));
    } else if (!OneOf(effect, kTaintEffects)) {
      AddNotSupported(errors, Child(ip, "effect"), effect, kTaintEffects);
    }
    if (!seen.emplace(effect, key).second) {
      errors->push_back(FieldError{"FieldValueDuplicate", ip,
                                   "Duplicate value: " + t.dump() + ": taints must be unique by key and effect pair"});
    }
  }
}

// A CIDR ("10.244.1.0/24", "fd00:10:244::/64"); *family is 4 or 6.
bool ParseCidr(const std::string& text, int* family) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return false;
  std::string bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3) return false;
  int prefix = 0;
  for (char c : bits) {
    if (c < '0' || c > '9') return false;
    prefix = prefix * 10 + (c - '0');
  }
  std::string ip = text.substr(0, slash);
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    *family = 4;
    return prefix <= 32;
  }
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    *family = 6;
    return prefix <= 128;
  }
  return false;
}

void ValidatePodCidrs(const json& cidrs, const std::string& path, FieldErrors* errors) {
  std::set<int> families;
  std::set<std::string> seen;
  bool all_valid = true;
  for (size_t i = 0; i < cidrs.size(); ++i) {
    std::string v = cidrs[i].is_string() ? cidrs[i].get<std::string>() : "";
    int family = 0;
    if (!ParseCidr(v, &family)) {
      AddInvalid(errors, Index(path, i), v, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
      all_valid = false;
      continue;
    }
    families.insert(family);
  }
  if (cidrs.size() < 2) return;
  if (all_valid && (families.size() != 2 || cidrs.size() > 2)) {
    AddInvalid(errors, path, cidrs, "may specify no more than one CIDR for each IP family");
  }
  for (size_t i = 0; i < cidrs.size(); ++i) {
    if (cidrs[i].is_string() && !seen.insert(cidrs[i].get<std::string>()).second) {
      AddDuplicate(errors, Index(path, i), cidrs[i]);
    }
  }
}

// "scheme://rest", scheme as RFC 3986 ([a-z][a-z0-9+.-]*).
bool IsEndpointUrl(const std::string& v) {
  size_t sep = v.find("://");
  if (sep == std::string::npos || sep == 0 || sep + 3 == v.size()) return false;
  for (size_t i = 0; i < sep; ++i) {
    char c = v[i];
    bool ok = (c >= 'a' && c <= 'z') || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

void ValidateDriver(const json& driver, const std::string& path, FieldErrors* errors) {
  std::string name = GetString(driver, "name");
  if (name.empty()) {
    AddRequired(errors, Child(path, "name"));
  } else {
    AddInvalidEach(errors, Child(path, "name"), name, CheckDns1123Label(name));
  }
  std::string endpoint = GetString(driver, "endpoint");
  if (!endpoint.empty() && !IsEndpointUrl(endpoint)) {
    AddInvalid(errors, Child(path, "endpoint"), endpoint,
               "must be a URL with a scheme (e.g. unix:///var/run/docker.sock or tcp://10.0.0.5:2376)");
  }
}

// helper.IsIntegerResourceName: counted resources and extended resources ("example.com/gpu").
bool IsIntegerResourceName(const std::string& name) {
  if (name == "pods") return true;
  bool native = name.find('/') == std::string::npos || name.find("kubernetes.io/") != std::string::npos;
  return !native && name.rfind("requests.", 0) != 0 && IsQualifiedName("requests." + name);
}

// ValidateNodeResources: each quantity ≥ 0, integral for integer resources. Syntax was checked by
// the schema; a value too large for milli-units is left alone (only its sign is checked).
void ValidateResourceList(const json& status, const char* field, FieldErrors* errors) {
  const json* list = Get(status, field);
  if (list == nullptr || !list->is_object()) return;
  for (auto it = list->begin(); it != list->end(); ++it) {
    std::string p = Child(Child("status", field), it.key());
    Result<int64_t> milli = ParseQuantity(*it);
    bool negative = milli.ok() ? *milli < 0
                               : (it->is_string() && it->get_ref<const std::string&>().rfind('-', 0) == 0) ||
                                     (it->is_number() && it->get<double>() < 0);
    if (negative) AddInvalid(errors, p, *it, "must be greater than or equal to 0");
    if (milli.ok() && IsIntegerResourceName(it.key()) && *milli % 1000 != 0) {
      AddInvalid(errors, p, *it, "must be an integer");
    }
  }
}

void ValidateConditions(const json& conditions, const std::string& path, FieldErrors* errors) {
  for (size_t i = 0; i < conditions.size(); ++i) {
    std::string status = GetString(conditions[i], "status");
    if (!OneOf(status, kConditionStatuses)) {
      AddNotSupported(errors, Child(Index(path, i), "status"), status, kConditionStatuses);
    }
  }
}

void ValidateAddresses(const json& addresses, const std::string& path, FieldErrors* errors) {
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const json& a = addresses[i];
    std::string type = GetString(a, "type");
    if (!OneOf(type, kAddressTypes)) AddNotSupported(errors, Child(Index(path, i), "type"), type, kAddressTypes);
    if (!seen.emplace(type, GetString(a, "address")).second) AddDuplicate(errors, Index(path, i), a);
  }
}

// ValidateNodeUpdate: podCIDRs and providerID may only be set once; externalID never changes.
void ValidateSpecUpdate(const json& spec, const json& old_spec, FieldErrors* errors) {
  const json& old_cidrs = GetArray(old_spec, "podCIDRs");
  if (!old_cidrs.empty() && GetArray(spec, "podCIDRs") != old_cidrs) {
    AddForbidden(errors, "spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid");
  }
  std::string old_provider = GetString(old_spec, "providerID");
  if (!old_provider.empty() && GetString(spec, "providerID") != old_provider) {
    AddForbidden(errors, "spec.providerID", "node updates may not change providerID except from \"\" to valid");
  }
  if (GetString(spec, "externalID") != GetString(old_spec, "externalID")) {
    AddForbidden(errors, "spec.externalID", "may not be updated");
  }
}

const json& Member(const json& obj, const char* key) {
  static const json* const kEmpty = new json(json::object());
  const json* v = Get(obj, key);
  return v != nullptr ? *v : *kEmpty;
}

void Validate(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, /*namespaced=*/false, errors);
  const json& spec = Member(obj, "spec");
  const json& status = Member(obj, "status");
  ValidateTaints(GetArray(spec, "taints"), "spec.taints", errors);
  ValidatePodCidrs(GetArray(spec, "podCIDRs"), "spec.podCIDRs", errors);
  if (const json* driver = Get(spec, "driver")) ValidateDriver(*driver, "spec.driver", errors);
  ValidateResourceList(status, "capacity", errors);
  ValidateResourceList(status, "allocatable", errors);
  ValidateConditions(GetArray(status, "conditions"), "status.conditions", errors);
  ValidateAddresses(GetArray(status, "addresses"), "status.addresses", errors);
  if (old != nullptr) ValidateSpecUpdate(spec, Member(*old, "spec"), errors);
}

// ---- kubectl's printNode --------------------------------------------------------------------------

json StatusCell(const json& node) {
  std::string out;
  for (const json& c : GetArray(Member(node, "status"), "conditions")) {
    // Only the Ready condition is shown; any status but True reads NotReady.
    if (GetString(c, "type") == "Ready") out = GetString(c, "status") == "True" ? "Ready" : "NotReady";
  }
  if (out.empty()) out = "Unknown";
  if (GetBool(Member(node, "spec"), "unschedulable")) out += ",SchedulingDisabled";
  return out;
}

// findNodeRoles: node-role.kubernetes.io/<role> labels and the legacy kubernetes.io/role=<role>.
json RolesCell(const json& node) {
  constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
  std::set<std::string> roles;
  const json* labels = Get(Member(node, "metadata"), "labels");
  if (labels != nullptr && labels->is_object()) {
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      const std::string& k = it.key();
      if (k.size() > kPrefix.size() && k.compare(0, kPrefix.size(), kPrefix) == 0) {
        roles.insert(k.substr(kPrefix.size()));
      } else if (k == "kubernetes.io/role" && it->is_string() && !it->get<std::string>().empty()) {
        roles.insert(it->get<std::string>());
      }
    }
  }
  std::string out;
  for (const auto& r : roles) out += (out.empty() ? "" : ",") + r;
  return out.empty() ? "<none>" : out;
}

json AddressCell(const json& node, const char* type) {
  for (const json& a : GetArray(Member(node, "status"), "addresses")) {
    if (GetString(a, "type") == type) return GetString(a, "address");
  }
  return "<none>";
}

std::string InfoField(const json& node, const char* field) {
  return GetString(Member(Member(node, "status"), "nodeInfo"), field);
}

json InfoCell(const json& node, const char* field) {
  std::string v = InfoField(node, field);
  return v.empty() ? "<unknown>" : v;
}

}  // namespace

void RegisterNode() {
  KindInfo k;
  k.version = "v1";
  k.kind = "Node";
  k.plural = "nodes";
  k.singular = "node";
  k.short_names = {"no"};
  k.namespaced = false;
  k.status_subresource = true;
  k.schema = NodeSchema();
  k.defaults = Defaults;
  k.validate = Validate;
  k.field_selectors = {"spec.unschedulable"};
  k.columns = {
      PrinterColumn{"Status", "string", "", 0, "The status of the node", StatusCell},
      PrinterColumn{"Roles", "string", "", 0, "The roles of the node", RolesCell},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
      PrinterColumn{"Version", "string", "", 0, "Version of the node agent (status.nodeInfo.kubeletVersion).",
                    [](const json& n) -> json { return InfoField(n, "kubeletVersion"); }},
      PrinterColumn{"Internal-IP", "string", "", 1, "The node's first InternalIP address.",
                    [](const json& n) { return AddressCell(n, "InternalIP"); }},
      PrinterColumn{"External-IP", "string", "", 1, "The node's first ExternalIP address.",
                    [](const json& n) { return AddressCell(n, "ExternalIP"); }},
      PrinterColumn{"OS-Image", "string", "", 1, "OS Image reported by the node from /etc/os-release.",
                    [](const json& n) { return InfoCell(n, "osImage"); }},
      PrinterColumn{"Kernel-Version", "string", "", 1, "Kernel Version reported by the node from 'uname -r'.",
                    [](const json& n) { return InfoCell(n, "kernelVersion"); }},
      PrinterColumn{"Container-Runtime", "string", "", 1, "ContainerRuntime Version reported by the node.",
                    [](const json& n) { return InfoCell(n, "containerRuntimeVersion"); }},
  };
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
