#include "api/service_admission.h"

#include <arpa/inet.h>

#include <map>
#include <random>
#include <set>

#include "api/kinds/validation.h"
#include "api/object_meta.h"
#include "api/resource_service.h"
#include "base/host_address.h"

namespace capstan::api {
namespace {

using kinds::Get;
using kinds::GetArray;
using kinds::GetInt;
using kinds::GetString;

bool IsIp(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

std::string HostPort(const std::string& address, int port) {
  return (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

bool UsesNodePorts(const json& spec) {
  const std::string type = GetString(spec, "type");
  if (type == "NodePort") return true;
  return type == "LoadBalancer" && kinds::GetBool(spec, "allocateLoadBalancerNodePorts", true);
}

class ServiceAdmission : public AdmissionPlugin {
 public:
  explicit ServiceAdmission(ServiceNetworkOptions options) : options_(std::move(options)) {}

  bool Handles(const KindInfo& kind) const override { return kind.group.empty() && kind.kind == "Service"; }

  void Admit(const KindInfo& kind, json& obj, const json* old, ObjectReader& reader, FieldErrors* errors) override {
    (void)kind;
    json& spec = obj["spec"];
    // Switched to ClusterIP: a traffic policy kept from the old type by a patch goes with it
    // (Kubernetes' dropTypeDependentFields; the kind's validation let exactly this case through).
    if (old != nullptr && GetString(spec, "type") == "ClusterIP" && spec.contains("externalTrafficPolicy")) {
      spec.erase("externalTrafficPolicy");
    }
    AssignClusterIp(spec, old, errors);
    AssignNodePorts(obj, old, reader, errors);
    json& lb = obj["status"]["loadBalancer"];
    if (GetString(spec, "type") == "LoadBalancer") {
      // Set when missing, and corrected when it is a lone wildcard (what servers before
      // --lb-advertise-address wrote); an address someone else set stays.
      const std::string advertise = options_.advertise_address.empty() ? options_.public_address : options_.advertise_address;
      const json& ingress = GetArray(lb, "ingress");
      const bool wildcard = ingress.size() == 1 && ingress[0].is_object() && ingress[0].size() == 1 &&
                            ingress[0].contains("ip") && ingress[0]["ip"].is_string() &&
                            base::IsWildcardAddress(ingress[0]["ip"].get<std::string>());
      if (ingress.empty() || wildcard) lb["ingress"] = json::array({{{"ip", advertise}}});
    } else {
      lb = json::object();
    }
    for (const ServiceListener& l : ServiceListeners(obj, options_)) {
      if (l.address != options_.public_address) continue;
      for (int ingress : {options_.ingress_http_port, options_.ingress_https_port}) {
        if (ingress != 0 && l.port == ingress) {
          kinds::AddInvalid(errors, l.field, l.port,
                            HostPort(l.address, l.port) + " is a listener of the Ingresses (the server's ingress "
                                                          "HTTP/HTTPS ports)");
        }
      }
    }
  }

  std::vector<Claim> Claims(const KindInfo& kind, const json& obj) const override {
    (void)kind;
    std::vector<Claim> out;
    for (const ServiceListener& l : ServiceListeners(obj, options_)) {
      std::string where = HostPort(l.address, l.port);
      out.push_back(Claim{"listener/" + where, l.field, l.port, where + " is already used by"});
    }
    return out;
  }

 private:
  void AssignClusterIp(json& spec, const json* old, FieldErrors* errors) const {
    std::string ip = GetString(spec, "clusterIP");
    if (old == nullptr) {
      if (ip.empty()) ip = options_.service_address;
      if (ip != options_.service_address && ip != "None") {
        kinds::AddInvalid(errors, "spec.clusterIP", ip,
                          "must be empty, \"None\" or the server's service address " + options_.service_address);
        return;
      }
      spec["clusterIP"] = ip;
    }
    if (ip.empty() && old != nullptr) {
      // An update that leaves it out (kubectl replace of a manifest without it) keeps the
      // allocated one, as Kubernetes' patchAllocatedValues does.
      const json* old_spec = kinds::Get(*old, "spec");
      ip = old_spec != nullptr ? GetString(*old_spec, "clusterIP") : "";
      if (!ip.empty()) spec["clusterIP"] = ip;
    }
    if (ip.empty()) return;
    spec["clusterIPs"] = json::array({ip});
    if (ip != "None") spec["ipFamilies"] = json::array({ip.find(':') != std::string::npos ? "IPv6" : "IPv4"});
    if (GetString(spec, "ipFamilyPolicy").empty()) spec["ipFamilyPolicy"] = "SingleStack";
  }

  void AssignNodePorts(json& obj, const json* old, ObjectReader& reader, FieldErrors* errors) const {
    json& spec = obj["spec"];
    if (!spec.contains("ports") || !spec["ports"].is_array()) return;
    if (GetString(spec, "type") == "ClusterIP") {
      // Left over from the type it had (the kind's validation allowed only those): dropped.
      for (json& p : spec["ports"]) {
        if (p.is_object()) p.erase("nodePort");
      }
      return;
    }
    if (!UsesNodePorts(spec)) return;
    // What the port had before (an update keeps allocations), and which nodePorts are new.
    std::map<std::pair<int64_t, std::string>, int64_t> before;
    std::set<int64_t> before_any;
    if (old != nullptr) {
      if (const json* old_spec = Get(*old, "spec")) {
        for (const json& p : GetArray(*old_spec, "ports")) {
          if (GetInt(p, "nodePort") == 0) continue;
          before[{GetInt(p, "port"), GetString(p, "protocol")}] = GetInt(p, "nodePort");
          before_any.insert(GetInt(p, "nodePort"));
        }
      }
    }
    json& ports = spec["ports"];
    std::set<int64_t> mine;
    bool need_allocation = false;
    for (size_t i = 0; i < ports.size(); ++i) {
      json& p = ports[i];
      int64_t node_port = GetInt(p, "nodePort");
      if (node_port == 0) {
        auto it = before.find({GetInt(p, "port"), GetString(p, "protocol")});
        if (it != before.end() && mine.count(it->second) == 0) p["nodePort"] = node_port = it->second;
      } else if (before_any.count(node_port) == 0 &&
                 (node_port < options_.node_port_min || node_port > options_.node_port_max)) {
        kinds::AddInvalid(errors, kinds::Index("spec.ports", i) + ".nodePort", node_port,
                          "provided port is not in the valid range. The range of valid ports is " +
                              std::to_string(options_.node_port_min) + "-" + std::to_string(options_.node_port_max));
      }
      if (node_port != 0) mine.insert(node_port);
      else need_allocation = true;
    }
    if (!need_allocation) return;
    // Ports other Services listen on at the public address (their claims make the final choice
    // race-free; this only picks candidates that are likely free).
    std::set<int64_t> used = mine;
    const KindInfo* svc_kind = FindKind("", "v1", "services");
    if (svc_kind != nullptr) {
      auto all = reader.List(*svc_kind, "");
      if (all.ok()) {
        const std::string uid = MetaString(obj, "uid");
        for (const json& other : *all) {
          if (MetaString(other, "uid") == uid) continue;
          for (const ServiceListener& l : ServiceListeners(other, options_)) {
            if (l.address == options_.public_address) used.insert(l.port);
          }
        }
      }
    }
    for (int ingress : {options_.ingress_http_port, options_.ingress_https_port}) used.insert(ingress);
    static thread_local std::mt19937 rng{std::random_device{}()};
    const int64_t span = options_.node_port_max - options_.node_port_min + 1;
    for (size_t i = 0; i < ports.size(); ++i) {
      json& p = ports[i];
      if (GetInt(p, "nodePort") != 0) continue;
      const int64_t start = std::uniform_int_distribution<int64_t>(0, span - 1)(rng);
      int64_t chosen = 0;
      for (int64_t k = 0; k < span && chosen == 0; ++k) {
        int64_t candidate = options_.node_port_min + (start + k) % span;
        if (used.count(candidate) == 0) chosen = candidate;
      }
      if (chosen == 0) {
        kinds::AddInvalid(errors, kinds::Index("spec.ports", i) + ".nodePort", 0,
                          "failed to allocate a nodePort: the range " + std::to_string(options_.node_port_min) + "-" +
                              std::to_string(options_.node_port_max) + " is full");
        continue;
      }
      p["nodePort"] = chosen;
      used.insert(chosen);
    }
  }

  const ServiceNetworkOptions options_;
};

}  // namespace

Status CheckServiceNetworkOptions(const ServiceNetworkOptions& o) {
  if (!IsIp(o.service_address)) return Status::Invalid("service address \"" + o.service_address + "\" is not an IP address");
  if (!IsIp(o.public_address)) return Status::Invalid("public address \"" + o.public_address + "\" is not an IP address");
  if (!o.advertise_address.empty() && !IsIp(o.advertise_address)) {
    return Status::Invalid("advertise address \"" + o.advertise_address + "\" is not an IP address");
  }
  if (o.node_port_min < 1 || o.node_port_max > 65535 || o.node_port_min > o.node_port_max) {
    return Status::Invalid("node port range " + std::to_string(o.node_port_min) + "-" + std::to_string(o.node_port_max) +
                           " is not within 1-65535 with min <= max");
  }
  for (int p : {o.ingress_http_port, o.ingress_https_port}) {
    if (p < 0 || p > 65535) return Status::Invalid("ingress port " + std::to_string(p) + " is not within 0-65535");
  }
  if (o.ingress_http_port != 0 && o.ingress_http_port == o.ingress_https_port) {
    return Status::Invalid("the ingress HTTP and HTTPS ports are both " + std::to_string(o.ingress_http_port));
  }
  return Status::Ok();
}

std::vector<ServiceListener> ServiceListeners(const json& service, const ServiceNetworkOptions& options) {
  std::vector<ServiceListener> out;
  const json* spec = Get(service, "spec");
  if (spec == nullptr) return out;
  const std::string type = GetString(*spec, "type");
  const std::string cluster_ip = GetString(*spec, "clusterIP");
  std::set<std::pair<std::string, int>> seen;
  auto add = [&](const std::string& address, int port, size_t i, bool node_port) {
    if (port <= 0 || !seen.insert({address, port}).second) return;
    out.push_back(ServiceListener{address, port, i, node_port,
                                  kinds::Index("spec.ports", i) + (node_port ? ".nodePort" : ".port")});
  };
  const json& ports = GetArray(*spec, "ports");
  for (size_t i = 0; i < ports.size(); ++i) {
    const int port = static_cast<int>(GetInt(ports[i], "port"));
    if (!cluster_ip.empty() && cluster_ip != "None") add(cluster_ip, port, i, false);
    if (type == "NodePort" || type == "LoadBalancer") {
      add(options.public_address, static_cast<int>(GetInt(ports[i], "nodePort")), i, true);
    }
    if (type == "LoadBalancer") add(options.public_address, port, i, false);
  }
  return out;
}

std::shared_ptr<AdmissionPlugin> NewServiceAdmission(ServiceNetworkOptions options) {
  return std::make_shared<ServiceAdmission>(std::move(options));
}

Status EnsureDefaultIngressClass(ResourceService* service) {
  const KindInfo* kind = FindKind("networking.k8s.io", "v1", "ingressclasses");
  if (kind == nullptr) return Status::Internal("the IngressClass kind is not registered");
  auto got = service->Get(*kind, "", kHaproxyIngressClass);
  if (got.ok()) return Status::Ok();
  if (!got.status().IsNotFound()) return got.status();
  json ic = {{"apiVersion", "networking.k8s.io/v1"},
             {"kind", "IngressClass"},
             {"metadata",
              {{"name", kHaproxyIngressClass},
               {"annotations", {{"ingressclass.kubernetes.io/is-default-class", "true"}}}}},
             {"spec", {{"controller", kHaproxyIngressController}}}};
  auto created = service->Create(*kind, "", ic, WriteOptions{});
  if (!created.ok() && !created.status().IsAlreadyExists()) return created.status();
  return Status::Ok();
}

}  // namespace capstan::api
