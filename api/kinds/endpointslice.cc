// discovery.k8s.io/v1 EndpointSlice: the endpoints of a Service, as k8s.io/api discovery/v1
// describes them. Capstan's EndpointSlice controller (controller/endpoints) writes them: one
// address per endpoint (the Node's address; Pods use host networking with allocated host ports),
// the host port per Service port, and the ready / serving / terminating conditions.
//
// Validation as Kubernetes' ValidateEndpointSlice: addressType IPv4|IPv6|FQDN (immutable), at
// most 1000 endpoints of 1 to 100 addresses each (valid for the address type), hostname a DNS-1123
// label, nodeName a DNS-1123 subdomain, at most 20000 ports with unique DNS-1123 label names,
// protocol TCP|UDP|SCTP and port 1-65535.
#include <arpa/inet.h>

#include <set>

#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr char kDiscovery[] = "io.k8s.api.discovery.v1.";
std::string Ref(const char* name) { return std::string(kDiscovery) + name; }

constexpr size_t kMaxEndpoints = 1000;
constexpr size_t kMaxAddresses = 100;
constexpr size_t kMaxPorts = 20000;

SchemaPtr ObjectReferenceSchema() {
  return Object("io.k8s.api.core.v1.ObjectReference",
                {F("kind", String()), F("namespace", String()), F("name", String()), F("uid", String()),
                 F("apiVersion", String()), F("resourceVersion", String()), F("fieldPath", String())},
                "ObjectReference contains enough information to let you inspect or modify the referred object.");
}

SchemaPtr EndpointSliceSchema() {
  auto conditions = Object(
      Ref("EndpointConditions"),
      {F("ready", Bool("The endpoint is ready to receive traffic (its Pod is Ready and not terminating).")),
       F("serving", Bool("Like ready, regardless of termination.")),
       F("terminating", Bool("The endpoint is terminating (its Pod has a deletionTimestamp)."))},
      "EndpointConditions represents the current condition of an endpoint.");
  auto for_zone = Object(Ref("ForZone"), {R("name", String())});
  auto for_node = Object(Ref("ForNode"), {R("name", String())});
  auto hints = Object(Ref("EndpointHints"),
                      {F("forZones", AtomicArray(for_zone)), F("forNodes", AtomicArray(for_node))});
  auto endpoint = Object(
      Ref("Endpoint"),
      {R("addresses", Tweak(AtomicArray(String(), "The addresses of this endpoint (1 to 100)."),
                            [](Schema& sc) { sc.list_type = "set"; })),
       F("conditions", conditions),
       F("hostname", String()),
       F("targetRef", ObjectReferenceSchema()),
       F("deprecatedTopology", StringMap()),
       F("nodeName", String("The Node hosting this endpoint.")),
       F("zone", String()),
       F("hints", hints)},
      "Endpoint represents a single logical \"backend\" implementing a service.");
  auto port = Object(Ref("EndpointPort"),
                     {F("name", String("The name of the Service port this port serves.")),
                      F("protocol", String("TCP, UDP or SCTP. Defaults to TCP.")),
                      F("port", Int32("The port number of the endpoint (the Pod's host port).")),
                      F("appProtocol", String())},
                     "EndpointPort represents a Port used by an EndpointSlice");
  return KindSchema(Ref("EndpointSlice"),
                    {R("addressType", String("IPv4, IPv6 or FQDN. Immutable.")),
                     R("endpoints", AtomicArray(endpoint, "At most 1000 endpoints.")),
                     F("ports", AtomicArray(port, "The ports of every endpoint of the slice."))},
                    "EndpointSlice represents a subset of the endpoints that implement a service.");
}

void DefaultEndpointSlice(json& obj) {
  if (!obj.is_object() || !obj.contains("ports") || !obj["ports"].is_array()) return;
  for (json& p : obj["ports"]) {
    if (p.is_object() && GetString(p, "protocol").empty()) p["protocol"] = "TCP";
  }
}

bool IsIp(const std::string& text, int family) {
  unsigned char buf[16];
  return inet_pton(family, text.c_str(), buf) == 1;
}

void ValidateAddress(const std::string& type, const std::string& address, const std::string& path,
                     FieldErrors* errors) {
  if (type == "IPv4" && !IsIp(address, AF_INET)) {
    AddInvalid(errors, path, address, "must be a valid IPv4 address");
  } else if (type == "IPv6" && !IsIp(address, AF_INET6)) {
    AddInvalid(errors, path, address, "must be a valid IPv6 address");
  } else if (type == "FQDN") {
    AddInvalidEach(errors, path, address, CheckDns1123Subdomain(address));
  }
}

void ValidateEndpointSlice(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  const std::string type = GetString(obj, "addressType");
  if (type != "IPv4" && type != "IPv6" && type != "FQDN") {
    AddNotSupported(errors, "addressType", type, {"FQDN", "IPv4", "IPv6"});
  }
  if (old != nullptr && GetString(*old, "addressType") != type) {
    AddInvalid(errors, "addressType", type, "field is immutable");
  }
  const json& endpoints = GetArray(obj, "endpoints");
  if (endpoints.size() > kMaxEndpoints) {
    AddInvalid(errors, "endpoints", endpoints.size(), "must have at most 1000 items");
  }
  for (size_t i = 0; i < endpoints.size() && i < kMaxEndpoints; ++i) {
    const json& ep = endpoints[i];
    const std::string path = Index("endpoints", i);
    const json& addresses = GetArray(ep, "addresses");
    if (addresses.empty()) {
      AddRequired(errors, Child(path, "addresses"), "must contain at least 1 address");
    } else if (addresses.size() > kMaxAddresses) {
      AddInvalid(errors, Child(path, "addresses"), addresses.size(), "must have at most 100 items");
    }
    for (size_t a = 0; a < addresses.size() && a < kMaxAddresses; ++a) {
      ValidateAddress(type, addresses[a].is_string() ? addresses[a].get<std::string>() : "",
                      Index(Child(path, "addresses"), a), errors);
    }
    if (const std::string host = GetString(ep, "hostname"); !host.empty()) {
      AddInvalidEach(errors, Child(path, "hostname"), host, CheckDns1123Label(host));
    }
    if (const std::string node = GetString(ep, "nodeName"); !node.empty()) {
      AddInvalidEach(errors, Child(path, "nodeName"), node, CheckDns1123Subdomain(node));
    }
  }
  const json& ports = GetArray(obj, "ports");
  if (ports.size() > kMaxPorts) AddInvalid(errors, "ports", ports.size(), "must have at most 20000 items");
  std::set<std::string> names;
  for (size_t i = 0; i < ports.size() && i < kMaxPorts; ++i) {
    const json& p = ports[i];
    const std::string path = Index("ports", i);
    const std::string name = GetString(p, "name");
    if (!name.empty()) AddInvalidEach(errors, Child(path, "name"), name, CheckDns1123Label(name));
    if (!names.insert(name).second) AddDuplicate(errors, Child(path, "name"), name);
    const std::string protocol = GetString(p, "protocol");
    if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
      AddNotSupported(errors, Child(path, "protocol"), protocol, {"SCTP", "TCP", "UDP"});
    }
    if (Get(p, "port") != nullptr) {
      AddInvalidEach(errors, Child(path, "port"), GetInt(p, "port"), CheckPortNumber(GetInt(p, "port")));
    }
  }
}

// kubectl's listWithMoreString over at most three items.
std::string ListWithMore(const std::vector<std::string>& all) {
  constexpr size_t kMax = 3;
  std::string out;
  for (size_t i = 0; i < all.size() && i < kMax; ++i) out += (i ? "," : "") + all[i];
  if (all.size() > kMax) return out + " + " + std::to_string(all.size() - kMax) + " more...";
  return out.empty() ? "<unset>" : out;
}

json PortsCell(const json& o) {
  std::vector<std::string> all;
  for (const json& p : GetArray(o, "ports")) {
    if (Get(p, "port") != nullptr) all.push_back(std::to_string(GetInt(p, "port")));
    else all.push_back(GetString(p, "name").empty() ? "*" : GetString(p, "name"));
  }
  return ListWithMore(all);
}

json EndpointsCell(const json& o) {
  std::vector<std::string> all;
  for (const json& ep : GetArray(o, "endpoints")) {
    for (const json& a : GetArray(ep, "addresses")) all.push_back(a.is_string() ? a.get<std::string>() : "");
  }
  return ListWithMore(all);
}

}  // namespace

void RegisterEndpointSlice() {
  KindInfo k;
  k.group = "discovery.k8s.io";
  k.version = "v1";
  k.kind = "EndpointSlice";
  k.plural = "endpointslices";
  k.singular = "endpointslice";
  k.schema = EndpointSliceSchema();
  k.defaults = DefaultEndpointSlice;
  k.validate = ValidateEndpointSlice;
  k.columns = {
      PrinterColumn{"AddressType", "string", "", 0, "Type of address contained in this endpoint slice.",
                    [](const json& o) -> json { return GetString(o, "addressType"); }},
      PrinterColumn{"Ports", "string", "", 0, "Ports of the endpoints in this slice.", PortsCell},
      PrinterColumn{"Endpoints", "string", "", 0, "Addresses of the endpoints in this slice.", EndpointsCell},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
