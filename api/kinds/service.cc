// v1 Service: a stable address (an HAProxy listener; there is no kube-proxy) in front of the Pods
// its selector picks. Shapes follow k8s.io/api core/v1 ServiceSpec / ServiceStatus.
//
// Defaults as Kubernetes' SetDefaults_Service: type ClusterIP, sessionAffinity None (ClientIP
// gets sessionAffinityConfig.clientIP.timeoutSeconds 10800), ports' protocol TCP and targetPort =
// port, externalTrafficPolicy Cluster for NodePort/LoadBalancer, internalTrafficPolicy Cluster.
//
// Validation as Kubernetes' ValidateService for what Capstan serves: the name a DNS-1035 label,
// at least one port (unless headless, clusterIP "None"), port names DNS-1123 labels required and
// unique when there is more than one port, ports/targetPorts/nodePorts in range, (port, protocol)
// and nodePort unique, nodePort only for NodePort/LoadBalancer, the selector's labels; Capstan's
// own limits: protocol TCP only, type ClusterIP|NodePort|LoadBalancer (no ExternalName), and
// spec.clusterIP immutable once set. What needs the server's settings or other objects (the
// clusterIP value, nodePort allocation and range, listener conflicts) is admission's, in
// api/kinds/service_admission.h.
#include <map>
#include <set>

#include "api/kind.h"
#include "api/kinds/haproxy_annotations.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/printing.h"
#include "api/kinds/network_common.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr char kCore[] = "io.k8s.api.core.v1.";
std::string Ref(const char* name) { return std::string(kCore) + name; }

SchemaPtr ServicePortSchema() {
  return Object(
      Ref("ServicePort"),
      {F("name", String("The name of this port within the service (a DNS-1123 label); required when there is more "
                        "than one port.")),
       F("protocol", String("The IP protocol for this port. Capstan supports TCP (the default).")),
       F("appProtocol", String("The application protocol for this port.")),
       R("port", Int32("The port that will be exposed by this service.")),
       F("targetPort", IntOrString("Number or name of the port to access on the pods targeted by the service. "
                                   "Defaults to the value of 'port'.")),
       F("nodePort", Int32("The port on the public address when type is NodePort or LoadBalancer; allocated from "
                           "the server's node port range when not given."))},
      "ServicePort contains information on service's port.");
}

SchemaPtr ServiceSpecSchema() {
  auto ports = Tweak(Array(ServicePortSchema(), "The list of ports that are exposed by this service.", "port", "merge"),
                     [](Schema& sc) { sc.list_type = "map"; });
  auto client_ip = Object(Ref("ClientIPConfig"),
                          {F("timeoutSeconds", Int32("The seconds of ClientIP type session sticky time (1-86400). "
                                                     "Defaults to 10800."))});
  auto affinity_config = Object(Ref("SessionAffinityConfig"), {F("clientIP", client_ip)});
  return Object(
      Ref("ServiceSpec"),
      {F("ports", ports),
       F("selector", StringMap("Route service traffic to pods with label keys and values matching this selector.")),
       F("clusterIP", String("The address of the service: the server's service address, set on create; \"None\" "
                             "for a headless service. Immutable.")),
       F("clusterIPs", AtomicArray(String(), "clusterIP as a list (one entry).")),
       F("type", String("ClusterIP (the default), NodePort or LoadBalancer.")),
       F("externalIPs", AtomicArray(String(), "Stored; Capstan does not listen on them.")),
       F("sessionAffinity", String("None (the default) or ClientIP.")),
       F("loadBalancerIP", String("Deprecated; stored.")),
       F("loadBalancerSourceRanges", AtomicArray(String(), "Stored.")),
       F("externalName", String("Not supported by Capstan (type ExternalName is refused).")),
       F("externalTrafficPolicy", String("Cluster or Local. Defaults to Cluster for NodePort and LoadBalancer.")),
       F("healthCheckNodePort", Int32("Stored.")),
       F("publishNotReadyAddresses", Bool("Endpoints of not-ready pods are published as ready.")),
       F("sessionAffinityConfig", affinity_config),
       F("ipFamilies", AtomicArray(String(), "IPv4 and/or IPv6.")),
       F("ipFamilyPolicy", String("SingleStack, PreferDualStack or RequireDualStack.")),
       F("allocateLoadBalancerNodePorts", Bool("Whether a LoadBalancer service gets node ports. Defaults to true.")),
       F("loadBalancerClass", String("Stored.")),
       F("internalTrafficPolicy", String("Cluster or Local. Defaults to Cluster.")),
       F("trafficDistribution", String("Stored."))},
      "ServiceSpec describes the attributes that a user creates on a service.");
}

SchemaPtr ServiceStatusSchema() {
  auto port_status = Object(Ref("PortStatus"), {R("port", Int32()), R("protocol", String()), F("error", String())});
  auto ingress = Object(Ref("LoadBalancerIngress"),
                        {F("ip", String("The address the load balancer listens on.")), F("hostname", String()),
                         F("ipMode", String()), F("ports", AtomicArray(port_status))},
                        "LoadBalancerIngress represents the status of a load-balancer ingress point.");
  auto lb = Object(Ref("LoadBalancerStatus"), {F("ingress", AtomicArray(ingress))},
                   "LoadBalancerStatus represents the status of a load-balancer.");
  return Object(Ref("ServiceStatus"),
                {F("loadBalancer", lb),
                 F("conditions", ConditionsArray(ConditionSchema("io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
                                                                 {F("observedGeneration", Integer())})))},
                "ServiceStatus represents the current status of a service.");
}

// ---- Defaults -------------------------------------------------------------------------------------

void DefaultService(json& obj) {
  if (!obj.is_object()) return;
  json& spec = Ensure(obj, "spec");
  if (GetString(spec, "type").empty()) spec["type"] = "ClusterIP";
  if (GetString(spec, "sessionAffinity").empty()) spec["sessionAffinity"] = "None";
  if (GetString(spec, "sessionAffinity") == "ClientIP") {
    json& client = Ensure(Ensure(spec, "sessionAffinityConfig"), "clientIP");
    if (Get(client, "timeoutSeconds") == nullptr) client["timeoutSeconds"] = 10800;
  }
  if (json* ports = spec.contains("ports") ? &spec["ports"] : nullptr; ports != nullptr && ports->is_array()) {
    for (json& p : *ports) {
      if (!p.is_object()) continue;
      if (GetString(p, "protocol").empty()) p["protocol"] = "TCP";
      const json* target = Get(p, "targetPort");
      bool unset = target == nullptr || (target->is_number() && target->get<int64_t>() == 0) ||
                   (target->is_string() && target->get<std::string>().empty());
      if (unset && Get(p, "port") != nullptr) p["targetPort"] = p["port"];
    }
  }
  const std::string type = GetString(spec, "type");
  if ((type == "NodePort" || type == "LoadBalancer") && GetString(spec, "externalTrafficPolicy").empty()) {
    spec["externalTrafficPolicy"] = "Cluster";
  }
  if (type == "LoadBalancer" && Get(spec, "allocateLoadBalancerNodePorts") == nullptr) {
    spec["allocateLoadBalancerNodePorts"] = true;
  }
  if (GetString(spec, "internalTrafficPolicy").empty()) spec["internalTrafficPolicy"] = "Cluster";
}

// ---- Validation -----------------------------------------------------------------------------------

// `old_node_ports`: the nodePorts the stored Service has; a switch to ClusterIP may keep them in
// the body (kubectl apply patches only the type), and admission drops them, as Kubernetes does.
void ValidatePorts(const json& spec, const std::string& type, const std::set<int64_t>& old_node_ports,
                   FieldErrors* errors) {
  const json& ports = GetArray(spec, "ports");
  const bool headless = GetString(spec, "clusterIP") == "None";
  if (ports.empty() && !headless) AddRequired(errors, "spec.ports");
  const bool require_name = ports.size() > 1;
  std::set<std::string> names;
  std::set<std::pair<int64_t, std::string>> port_protocols;
  std::set<int64_t> node_ports;
  for (size_t i = 0; i < ports.size(); ++i) {
    const json& p = ports[i];
    const std::string path = Index("spec.ports", i);
    const std::string name = GetString(p, "name");
    if (name.empty()) {
      if (require_name) AddRequired(errors, Child(path, "name"));
    } else {
      AddInvalidEach(errors, Child(path, "name"), name, CheckDns1123Label(name));
      if (!names.insert(name).second) AddDuplicate(errors, Child(path, "name"), name);
    }
    const std::string protocol = GetString(p, "protocol");
    if (protocol != "TCP") AddNotSupported(errors, Child(path, "protocol"), protocol, {"TCP"});
    const int64_t port = GetInt(p, "port");
    AddInvalidEach(errors, Child(path, "port"), port, CheckPortNumber(port));
    if (!port_protocols.insert({port, protocol}).second) {
      AddDuplicate(errors, path, json{{"port", port}, {"protocol", protocol}});
    }
    if (const json* target = Get(p, "targetPort")) {
      if (target->is_string()) {
        AddInvalidEach(errors, Child(path, "targetPort"), *target, CheckPortName(target->get<std::string>()));
      } else if (target->is_number()) {
        AddInvalidEach(errors, Child(path, "targetPort"), *target, CheckPortNumber(target->get<int64_t>()));
      }
    }
    if (const json* np = Get(p, "nodePort"); np != nullptr && np->is_number() && np->get<int64_t>() != 0) {
      const int64_t node_port = np->get<int64_t>();
      if (type == "ClusterIP") {
        if (old_node_ports.count(node_port) != 0) continue;
        AddForbidden(errors, Child(path, "nodePort"), "may not be used when `type` is 'ClusterIP'");
      } else {
        AddInvalidEach(errors, Child(path, "nodePort"), node_port, CheckPortNumber(node_port));
        if (!node_ports.insert(node_port).second) AddDuplicate(errors, Child(path, "nodePort"), node_port);
      }
    }
  }
}

void ValidateService(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors, NameRule::kLabel);
  if (const json* meta = Get(obj, "metadata")) {
    // ValidateServiceName is DNS-1035: the name becomes environment variable names and hosts.
    const std::string name = GetString(*meta, "name");
    if (!name.empty() && IsDns1123Label(name) && !(name[0] >= 'a' && name[0] <= 'z')) {
      AddInvalid(errors, "metadata.name", name, kDns1035LabelMessage);
    }
    if (const json* ann = Get(*meta, "annotations")) {
      ParseHaproxyAnnotations(*ann, HaproxySettingsScope::kService, errors);
    }
  }
  static const json kEmpty = json::object();
  const json* spec_p = Get(obj, "spec");
  const json& spec = spec_p != nullptr ? *spec_p : kEmpty;
  const std::string type = GetString(spec, "type");
  if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer") {
    AddNotSupported(errors, "spec.type", type, {"ClusterIP", "NodePort", "LoadBalancer"});
  }
  std::set<int64_t> old_node_ports;
  if (old != nullptr) {
    if (const json* old_spec = Get(*old, "spec")) {
      for (const json& p : GetArray(*old_spec, "ports")) old_node_ports.insert(GetInt(p, "nodePort"));
    }
  }
  ValidatePorts(spec, type, old_node_ports, errors);
  if (const json* selector = Get(spec, "selector")) ValidateLabels(*selector, "spec.selector", errors);
  const std::string affinity = GetString(spec, "sessionAffinity");
  if (affinity != "None" && affinity != "ClientIP") {
    AddNotSupported(errors, "spec.sessionAffinity", affinity, {"ClientIP", "None"});
  }
  if (const json* config = Get(spec, "sessionAffinityConfig")) {
    if (affinity != "ClientIP") {
      AddForbidden(errors, "spec.sessionAffinityConfig",
                   "must not be set when session affinity is " + affinity);
    } else if (const json* client = Get(*config, "clientIP")) {
      int64_t timeout = GetInt(*client, "timeoutSeconds");
      if (timeout <= 0 || timeout > 86400) {
        AddInvalid(errors, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                   "must be greater than 0 and less than 86400");
      }
    }
  }
  const std::string cluster_ip = GetString(spec, "clusterIP");
  if (type != "ClusterIP" && cluster_ip == "None") {
    AddInvalid(errors, "spec.clusterIP", cluster_ip, "may not be set to 'None' for " + type + " services");
  }
  for (const char* policy : {"externalTrafficPolicy", "internalTrafficPolicy"}) {
    const std::string value = GetString(spec, policy);
    if (!value.empty() && value != "Cluster" && value != "Local") {
      AddNotSupported(errors, std::string("spec.") + policy, value, {"Cluster", "Local"});
    }
  }
  const json* old_spec = old != nullptr ? Get(*old, "spec") : nullptr;
  if (type == "ClusterIP" && !GetString(spec, "externalTrafficPolicy").empty()) {
    // Unless it is the old type's value, left in by a patch that changed the type: admission
    // drops it then, as Kubernetes does.
    const bool left_over = old_spec != nullptr && GetString(*old_spec, "type") != "ClusterIP" &&
                           GetString(*old_spec, "externalTrafficPolicy") == GetString(spec, "externalTrafficPolicy");
    if (!left_over) {
      AddInvalid(errors, "spec.externalTrafficPolicy", GetString(spec, "externalTrafficPolicy"),
                 "may only be set for externally-accessible services");
    }
  }
  if (old_spec != nullptr) {
    // Empty on update: admission keeps the allocated address.
    const std::string old_ip = GetString(*old_spec, "clusterIP");
    if (!old_ip.empty() && !cluster_ip.empty() && cluster_ip != old_ip) {
      AddInvalid(errors, "spec.clusterIP", cluster_ip, "field is immutable");
    }
  }
}

// ---- Printing (kubectl's printService) ------------------------------------------------------------

const json& SpecOf(const json& o) {
  static const json kEmpty = json::object();
  const json* s = Get(o, "spec");
  return s != nullptr ? *s : kEmpty;
}

std::string Join(const json& strings) {
  std::string out;
  for (const json& v : strings) {
    if (!v.is_string()) continue;
    out += (out.empty() ? "" : ",") + v.get<std::string>();
  }
  return out;
}

json ExternalIpCell(const json& o, bool wide) {
  const json& spec = SpecOf(o);
  const std::string external = Join(GetArray(spec, "externalIPs"));
  const std::string type = GetString(spec, "type");
  if (type == "ClusterIP" || type == "NodePort") return external.empty() ? "<none>" : external;
  if (type == "LoadBalancer") {
    const json* status = Get(o, "status");
    const json* lb = status != nullptr ? Get(*status, "loadBalancer") : nullptr;
    std::string ips = lb != nullptr ? LoadBalancerIngressString(*lb, wide) : "";
    if (!external.empty()) return ips.empty() ? external : ips + "," + external;
    return ips.empty() ? "<pending>" : ips;
  }
  if (type == "ExternalName") return GetString(spec, "externalName");
  return "<unknown>";
}

json PortsCell(const json& o) {
  std::string out;
  for (const json& p : GetArray(SpecOf(o), "ports")) {
    std::string piece = std::to_string(GetInt(p, "port"));
    if (GetInt(p, "nodePort") > 0) piece += ":" + std::to_string(GetInt(p, "nodePort"));
    piece += "/" + GetString(p, "protocol");
    out += (out.empty() ? "" : ",") + piece;
  }
  return out.empty() ? "<none>" : out;
}

json SelectorCell(const json& o) {
  const json* sel = Get(SpecOf(o), "selector");
  if (sel == nullptr || !sel->is_object() || sel->empty()) return "<none>";
  std::map<std::string, std::string> sorted;
  for (auto it = sel->begin(); it != sel->end(); ++it) sorted[it.key()] = it->is_string() ? it->get<std::string>() : "";
  std::string out;
  for (const auto& [k, v] : sorted) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace

const char kDns1035LabelMessage[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
    "'[a-z]([-a-z0-9]*[a-z0-9])?')";

std::string LoadBalancerIngressString(const json& load_balancer, bool wide) {
  std::string out;
  for (const json& in : GetArray(load_balancer, "ingress")) {
    std::string v = !GetString(in, "ip").empty() ? GetString(in, "ip") : GetString(in, "hostname");
    if (v.empty()) continue;
    out += (out.empty() ? "" : ",") + v;
  }
  if (!wide && out.size() > 16) out = out.substr(0, 13) + "...";
  return out;
}

void RegisterService() {
  KindInfo k;
  k.version = "v1";
  k.kind = "Service";
  k.plural = "services";
  k.singular = "service";
  k.short_names = {"svc"};
  k.categories = {"all"};
  k.status_subresource = true;
  k.schema = KindSchema(Ref("Service"), {F("spec", ServiceSpecSchema()), F("status", ServiceStatusSchema())},
                        "Service is a named abstraction of software service (for example, mysql) consisting of local "
                        "port (for example 3306) that the proxy listens on, and the selector that determines which "
                        "pods will answer requests sent through the proxy.");
  k.defaults = DefaultService;
  k.prepare_create = [](json& obj) { obj["status"] = json{{"loadBalancer", json::object()}}; };
  k.validate = ValidateService;
  k.field_selectors = {"spec.clusterIP", "spec.type"};
  k.columns = {
      PrinterColumn{"Type", "string", "", 0, "The type of service.",
                    [](const json& o) -> json { return GetString(SpecOf(o), "type"); }},
      PrinterColumn{"Cluster-IP", "string", "", 0, "The address of the service.",
                    [](const json& o) -> json {
                      std::string ip = GetString(SpecOf(o), "clusterIP");
                      return ip.empty() ? "<none>" : ip;
                    }},
      PrinterColumn{"External-IP", "string", "", 0, "The external address of the service.",
                    [](const json& o) -> json { return ExternalIpCell(o, false); }},
      PrinterColumn{"Port(s)", "string", "", 0, "The ports of the service.", PortsCell},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
      PrinterColumn{"Selector", "string", "", 1, "The label selector of the service.", SelectorCell},
  };
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
