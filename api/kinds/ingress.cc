// networking.k8s.io/v1 Ingress and IngressClass, as k8s.io/api networking/v1 describes them.
// Capstan's HAProxy serves Ingresses of the class `haproxy` (controller
// haproxy.capstan.io/ingress-controller; the default class) on the server's HTTP/HTTPS listeners.
//
// Validation as Kubernetes' ValidateIngressCreate/Update and ValidateIngressClass: either rules
// or defaultBackend; hosts DNS-1123 subdomains or wildcards ("*.example.com"), never IPs; pathType
// required, Exact|Prefix|ImplementationSpecific, Exact and Prefix paths absolute without "//",
// "/./", "/../", "%2f" or a "/." or "/.." ending; a backend is a service with a DNS-1035 name and
// exactly one of port.number (1-65535) and port.name; TLS hosts as rule hosts and secretName a
// DNS-1123 subdomain; ingressClassName a DNS-1123 subdomain, and not together with the legacy
// kubernetes.io/ingress.class annotation on create. Resource backends are stored by Kubernetes
// but nothing in Capstan serves them, so they are refused (422) rather than silently ignored.
// IngressClass: spec.controller a domain-prefixed path of at most 250 characters, immutable;
// parameters with kind and name, scope Cluster|Namespace (namespace exactly when Namespace).
#include <arpa/inet.h>

#include <cctype>

#include "api/kind.h"
#include "api/kinds/haproxy_annotations.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/network_common.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr char kNetworking[] = "io.k8s.api.networking.v1.";
std::string Ref(const char* name) { return std::string(kNetworking) + name; }

SchemaPtr BackendSchema() {
  auto port = Object(Ref("ServiceBackendPort"),
                     {F("name", String("The name of the port on the Service.")),
                      F("number", Int32("The numerical port number on the Service."))});
  auto service = Object(Ref("IngressServiceBackend"),
                        {R("name", String("The referenced service (in the Ingress' namespace).")), F("port", port)});
  auto resource = Object("io.k8s.api.core.v1.TypedLocalObjectReference",
                         {F("apiGroup", String()), R("kind", String()), R("name", String())});
  return Object(Ref("IngressBackend"), {F("service", service), F("resource", resource)},
                "IngressBackend describes all endpoints for a given service and port.");
}

SchemaPtr IngressSchema() {
  auto path = Object(Ref("HTTPIngressPath"),
                     {F("path", String("Matched against the path of an incoming request.")),
                      R("pathType", String("Exact, Prefix or ImplementationSpecific.")),
                      R("backend", BackendSchema())});
  auto http = Object(Ref("HTTPIngressRuleValue"), {R("paths", AtomicArray(path))});
  auto rule = Object(Ref("IngressRule"), {F("host", String("A DNS name or a wildcard (*.example.com).")),
                                          F("http", http)});
  auto tls = Object(Ref("IngressTLS"),
                    {F("hosts", AtomicArray(String(), "Hosts included in the TLS certificate.")),
                     F("secretName", String("A kubernetes.io/tls Secret in the Ingress' namespace."))});
  auto spec = Object(Ref("IngressSpec"),
                     {F("ingressClassName", String("The IngressClass; the default class when unset.")),
                      F("defaultBackend", BackendSchema()),
                      F("tls", AtomicArray(tls)),
                      F("rules", AtomicArray(rule))},
                     "IngressSpec describes the Ingress the user wishes to exist.");
  auto port_status = Object(Ref("IngressPortStatus"), {R("port", Int32()), R("protocol", String()), F("error", String())});
  auto lb_ingress = Object(Ref("IngressLoadBalancerIngress"),
                           {F("ip", String()), F("hostname", String()), F("ports", AtomicArray(port_status))});
  auto lb = Object(Ref("IngressLoadBalancerStatus"), {F("ingress", AtomicArray(lb_ingress))});
  auto status = Object(Ref("IngressStatus"), {F("loadBalancer", lb)});
  return KindSchema(Ref("Ingress"), {F("spec", spec), F("status", status)},
                    "Ingress is a collection of rules that allow inbound connections to reach the endpoints defined "
                    "by a backend.");
}

SchemaPtr IngressClassSchema() {
  auto params = Object(Ref("IngressClassParametersReference"),
                       {F("apiGroup", String()), R("kind", String()), R("name", String()),
                        F("scope", String("Cluster or Namespace.")), F("namespace", String())});
  auto spec = Object(Ref("IngressClassSpec"),
                     {F("controller", String("The controller that implements this class "
                                             "(haproxy.capstan.io/ingress-controller for Capstan's).")),
                      F("parameters", params)});
  return KindSchema(Ref("IngressClass"), {F("spec", spec)},
                    "IngressClass represents the class of the Ingress, referenced by the Ingress Spec.");
}

// ---- Validation -----------------------------------------------------------------------------------

bool IsIpAddress(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

void ValidateHost(const std::string& host, const std::string& path, FieldErrors* errors) {
  if (host.find('*') != std::string::npos) {
    if (host.size() < 3 || host.compare(0, 2, "*.") != 0 || !IsDns1123Subdomain(host.substr(2))) {
      AddInvalid(errors, path, host,
                 "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
                 "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character "
                 "(e.g. '*.example.com', regex used for validation is "
                 "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    }
    return;
  }
  AddInvalidEach(errors, path, host, CheckDns1123Subdomain(host));
}

void ValidateBackend(const json& backend, const std::string& path, FieldErrors* errors) {
  const json* service = Get(backend, "service");
  if (Get(backend, "resource") != nullptr) {
    if (service != nullptr) return AddInvalid(errors, path, "", "cannot set both resource and service backends");
    return AddForbidden(errors, Child(path, "resource"), "resource backends are not supported by Capstan");
  }
  if (service == nullptr) return AddInvalid(errors, path, "", "resource or service backend is required");
  const std::string name = GetString(*service, "name");
  const std::string name_path = Child(Child(path, "service"), "name");
  if (name.empty()) {
    AddRequired(errors, name_path);
  } else if (!IsDns1123Label(name) || !(name[0] >= 'a' && name[0] <= 'z')) {
    AddInvalid(errors, name_path, name, kDns1035LabelMessage);
  }
  static const json kEmpty = json::object();
  const json* port_p = Get(*service, "port");
  const json& port = port_p != nullptr ? *port_p : kEmpty;
  const std::string port_name = GetString(port, "name");
  const int64_t number = GetInt(port, "number");
  const std::string port_path = Child(Child(path, "service"), "port");
  if (!port_name.empty() && number != 0) {
    AddInvalid(errors, path, "", "cannot set both port name & port number");
  } else if (!port_name.empty()) {
    AddInvalidEach(errors, Child(port_path, "name"), port_name, CheckPortName(port_name));
  } else if (number != 0) {
    AddInvalidEach(errors, Child(port_path, "number"), number, CheckPortNumber(number));
  } else {
    AddRequired(errors, path, "port name or number is required");
  }
}

void ValidateHttpPath(const json& p, const std::string& path, FieldErrors* errors) {
  const std::string type = GetString(p, "pathType");
  const std::string value = GetString(p, "path");
  const std::string value_path = Child(path, "path");
  if (type == "Exact" || type == "Prefix") {
    if (value.empty() || value[0] != '/') AddInvalid(errors, value_path, value, "must be an absolute path");
    for (const char* seq : {"//", "/./", "/../", "%2f", "%2F"}) {
      if (value.find(seq) != std::string::npos) {
        AddInvalid(errors, value_path, value, std::string("must not contain '") + seq + "'");
      }
    }
    for (const std::string suffix : {"/..", "/."}) {
      if (value.size() >= suffix.size() && value.compare(value.size() - suffix.size(), suffix.size(), suffix) == 0) {
        AddInvalid(errors, value_path, value, "cannot end with '" + suffix + "'");
      }
    }
  } else if (type == "ImplementationSpecific") {
    if (!value.empty() && value[0] != '/') AddInvalid(errors, value_path, value, "must be an absolute path");
  } else if (type.empty()) {
    AddRequired(errors, Child(path, "pathType"), "pathType must be specified");
  } else {
    AddNotSupported(errors, Child(path, "pathType"), type, {"Exact", "ImplementationSpecific", "Prefix"});
  }
  static const json kEmpty = json::object();
  const json* backend = Get(p, "backend");
  ValidateBackend(backend != nullptr ? *backend : kEmpty, Child(path, "backend"), errors);
}

void ValidateIngress(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  if (const json* meta = Get(obj, "metadata")) {
    if (const json* ann = Get(*meta, "annotations")) {
      ParseHaproxyAnnotations(*ann, HaproxySettingsScope::kIngress, errors);
    }
  }
  static const json kEmpty = json::object();
  const json* spec_p = Get(obj, "spec");
  const json& spec = spec_p != nullptr ? *spec_p : kEmpty;
  const json& rules = GetArray(spec, "rules");
  const json* default_backend = Get(spec, "defaultBackend");
  if (rules.empty() && default_backend == nullptr) {
    AddInvalid(errors, "spec", json::array(), "either `defaultBackend` or `rules` must be specified");
  }
  if (default_backend != nullptr) ValidateBackend(*default_backend, "spec.defaultBackend", errors);
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string path = Index("spec.rules", i);
    const std::string host = GetString(rules[i], "host");
    if (!host.empty()) {
      if (IsIpAddress(host)) AddInvalid(errors, Child(path, "host"), host, "must be a DNS name, not an IP address");
      ValidateHost(host, Child(path, "host"), errors);
    }
    if (const json* http = Get(rules[i], "http")) {
      const json& paths = GetArray(*http, "paths");
      const std::string paths_path = Child(Child(path, "http"), "paths");
      if (paths.empty()) AddRequired(errors, paths_path);
      for (size_t j = 0; j < paths.size(); ++j) ValidateHttpPath(paths[j], Index(paths_path, j), errors);
    }
  }
  const json& tls = GetArray(spec, "tls");
  for (size_t i = 0; i < tls.size(); ++i) {
    const std::string path = Index("spec.tls", i);
    const json& hosts = GetArray(tls[i], "hosts");
    for (size_t j = 0; j < hosts.size(); ++j) {
      ValidateHost(hosts[j].is_string() ? hosts[j].get<std::string>() : "", Index(Child(path, "hosts"), j), errors);
    }
    if (const std::string secret = GetString(tls[i], "secretName"); !secret.empty()) {
      AddInvalidEach(errors, Child(path, "secretName"), secret, CheckDns1123Subdomain(secret));
    }
  }
  const std::string class_name = GetString(spec, "ingressClassName");
  if (Get(spec, "ingressClassName") != nullptr) {
    AddInvalidEach(errors, "spec.ingressClassName", class_name, CheckDns1123Subdomain(class_name));
  }
  if (old == nullptr && Get(spec, "ingressClassName") != nullptr) {
    const json* meta = Get(obj, "metadata");
    const json* ann = meta != nullptr ? Get(*meta, "annotations") : nullptr;
    if (ann != nullptr && Get(*ann, "kubernetes.io/ingress.class") != nullptr) {
      AddInvalid(errors, "metadata.annotations[kubernetes.io/ingress.class]", (*ann)["kubernetes.io/ingress.class"],
                 "can not be set when the class field is also set");
    }
  }
}

// ValidateDomainPrefixedPath: "example.com/path".
void ValidateController(const std::string& controller, FieldErrors* errors) {
  const std::string path = "spec.controller";
  if (controller.empty()) return AddRequired(errors, path);
  if (controller.size() > 250) AddTooLong(errors, path, 250);
  auto slash = controller.find('/');
  if (slash == std::string::npos || slash == 0) {
    return AddInvalid(errors, path, controller, "must be a domain-prefixed path (such as \"acme.io/foo\")");
  }
  AddInvalidEach(errors, path, controller.substr(0, slash), CheckDns1123Subdomain(controller.substr(0, slash)));
  for (char c : controller.substr(slash + 1)) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~';
    if (!ok) {
      AddInvalid(errors, path, controller, "segment of the path may only contain alphanumeric characters, '-', "
                                           "'_', '.', '~' and '/'");
      break;
    }
  }
}

void ValidateIngressClass(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, false, errors);
  static const json kEmpty = json::object();
  const json* spec_p = Get(obj, "spec");
  const json& spec = spec_p != nullptr ? *spec_p : kEmpty;
  const std::string controller = GetString(spec, "controller");
  ValidateController(controller, errors);
  if (old != nullptr) {
    const json* old_spec = Get(*old, "spec");
    if (old_spec != nullptr && GetString(*old_spec, "controller") != controller) {
      AddInvalid(errors, "spec.controller", controller, "field is immutable");
    }
  }
  if (const json* params = Get(spec, "parameters")) {
    if (GetString(*params, "kind").empty()) AddRequired(errors, "spec.parameters.kind");
    if (GetString(*params, "name").empty()) AddRequired(errors, "spec.parameters.name");
    const std::string scope = GetString(*params, "scope");
    const bool has_ns = !GetString(*params, "namespace").empty();
    if (scope.empty() || scope == "Cluster") {
      if (has_ns) AddForbidden(errors, "spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'");
    } else if (scope == "Namespace") {
      if (!has_ns) AddRequired(errors, "spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'");
    } else {
      AddNotSupported(errors, "spec.parameters.scope", scope, {"Cluster", "Namespace"});
    }
  }
}

// ---- Printing -------------------------------------------------------------------------------------

const json& SpecOf(const json& o) {
  static const json kEmpty = json::object();
  const json* s = Get(o, "spec");
  return s != nullptr ? *s : kEmpty;
}

// kubectl's formatHosts.
json HostsCell(const json& o) {
  const json& rules = GetArray(SpecOf(o), "rules");
  constexpr size_t kMax = 3;
  std::string out;
  size_t listed = 0;
  bool more = false;
  for (const json& r : rules) {
    if (listed == kMax) more = true;
    const std::string host = GetString(r, "host");
    if (!more && !host.empty()) {
      out += (listed ? "," : "") + host;
      ++listed;
    }
  }
  if (listed == 0) return "*";
  if (more) return out + " + " + std::to_string(rules.size() - kMax) + " more...";
  return out;
}

json AddressCell(const json& o) {
  const json* status = Get(o, "status");
  const json* lb = status != nullptr ? Get(*status, "loadBalancer") : nullptr;
  return lb != nullptr ? LoadBalancerIngressString(*lb, false) : "";
}

void RegisterIngressKind() {
  KindInfo k;
  k.group = "networking.k8s.io";
  k.version = "v1";
  k.kind = "Ingress";
  k.plural = "ingresses";
  k.singular = "ingress";
  k.short_names = {"ing"};
  k.status_subresource = true;
  k.has_generation = true;
  k.schema = IngressSchema();
  k.prepare_create = [](json& obj) { obj["status"] = json::object(); };
  k.validate = ValidateIngress;
  k.columns = {
      PrinterColumn{"Class", "string", "", 0, "The name of the IngressClass resource that should be used.",
                    [](const json& o) -> json {
                      std::string c = GetString(SpecOf(o), "ingressClassName");
                      return c.empty() ? "<none>" : c;
                    }},
      PrinterColumn{"Hosts", "string", "", 0, "Hosts that incoming requests are matched against.", HostsCell},
      PrinterColumn{"Address", "string", "", 0, "Address is a list of IPs and hostnames the ingress is reachable at.",
                    AddressCell},
      PrinterColumn{"Ports", "string", "", 0, "Ports of TLS configurations that open",
                    [](const json& o) -> json { return GetArray(SpecOf(o), "tls").empty() ? "80" : "80, 443"; }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  RegisterKind(std::move(k));
}

void RegisterIngressClassKind() {
  KindInfo k;
  k.group = "networking.k8s.io";
  k.version = "v1";
  k.kind = "IngressClass";
  k.plural = "ingressclasses";
  k.singular = "ingressclass";
  k.namespaced = false;
  k.schema = IngressClassSchema();
  k.validate = ValidateIngressClass;
  k.columns = {
      PrinterColumn{"Controller", "string", "", 0, "Controller that is responsible for handling this class",
                    [](const json& o) -> json { return GetString(SpecOf(o), "controller"); }},
      PrinterColumn{"Parameters", "string", "", 0, "A reference to a resource with additional parameters",
                    [](const json& o) -> json {
                      const json* p = Get(SpecOf(o), "parameters");
                      if (p == nullptr) return "<none>";
                      std::string out = GetString(*p, "kind");
                      if (!GetString(*p, "apiGroup").empty()) out += "." + GetString(*p, "apiGroup");
                      return out + "/" + GetString(*p, "name");
                    }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  RegisterKind(std::move(k));
}

}  // namespace

void RegisterIngress() {
  RegisterIngressKind();
  RegisterIngressClassKind();
}

}  // namespace capstan::api::kinds
