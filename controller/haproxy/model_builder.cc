#include "controller/haproxy/model_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "controller/haproxy/ingress_builder.h"
#include "controller/haproxy/renderer.h"
#include "controller/haproxy/settings.h"

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

std::string Str(const json& obj, const char* a, const char* b = nullptr) {
  const json* cur = &obj;
  for (const char* key : {a, b}) {
    if (key == nullptr) break;
    if (!cur->is_object() || !cur->contains(key)) return "";
    cur = &(*cur)[key];
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

bool HttpPort(const json& port) {
  const std::string app = port.value("appProtocol", "");
  const std::string name = port.value("name", "");
  return app == "http" || name == "http" || name.rfind("http-", 0) == 0;
}

struct Endpoint {
  std::string address;
  int port = 0;
  ServerState state = ServerState::kReady;
  std::string pod, pod_uid;  // targetRef
  bool operator<(const Endpoint& o) const { return std::tie(address, port) < std::tie(o.address, o.port); }
};

// The endpoints of Service port `port_name` from the Service's slices, deduplicated by address
// and port (a ready copy wins over a draining one).
std::vector<Endpoint> EndpointsFor(const std::vector<const json*>& slices, const std::string& port_name) {
  std::map<std::pair<std::string, int>, Endpoint> found;
  for (const json* slice : slices) {
    int port = 0;
    for (const json& p : slice->value("ports", json::array())) {
      if (p.value("name", "") == port_name && p.value("port", 0) > 0 && p.value("port", 0) < 65536) port = p.value("port", 0);
    }
    if (port == 0) continue;
    for (const json& e : slice->value("endpoints", json::array())) {
      const json addrs = e.value("addresses", json::array());
      if (addrs.empty() || !addrs[0].is_string()) continue;
      // Only IP literals reach a server line: the applier writes endpoint-only changes without
      // `haproxy -c`, which is safe because nothing else can change there.
      unsigned char ip[sizeof(in6_addr)];
      const std::string a = addrs[0].get<std::string>();
      if (inet_pton(AF_INET, a.c_str(), ip) != 1 && inet_pton(AF_INET6, a.c_str(), ip) != 1) continue;
      const json cond = e.value("conditions", json::object());
      // As Kubernetes: a nil ready means ready; serving defaults to ready.
      const bool ready = cond.value("ready", true);
      const bool serving = cond.contains("serving") ? cond.value("serving", false) : ready;
      const bool terminating = cond.value("terminating", false);
      ServerState state;
      if (ready && !terminating) state = ServerState::kReady;
      else if (serving && terminating) state = ServerState::kDrain;
      else continue;
      auto key = std::make_pair(addrs[0].get<std::string>(), port);
      auto it = found.find(key);
      if (it == found.end() || state == ServerState::kReady) {
        Endpoint& found_endpoint = found[key];
        found_endpoint = {key.first, key.second, state, "", ""};
        const json ref = e.value("targetRef", json::object());
        if (ref.is_object() && ref.value("kind", "Pod") == "Pod" && ref.value("name", "") != "") {
          found_endpoint.pod = ref.value("namespace", Str(*slice, "metadata", "namespace")) + "/" + ref.value("name", "");
          found_endpoint.pod_uid = ref.value("uid", "");
        }
      }
    }
  }
  std::vector<Endpoint> out;
  for (const auto& [key, endpoint] : found) out.push_back(endpoint);
  return out;
}

// Keeps each endpoint in its previous slot; new ones take the lowest free slots.
void AssignSlots(const Backend* previous, const std::vector<Endpoint>& endpoints, Backend* b) {
  std::map<std::pair<std::string, int>, int> had;
  int slots = SlotCount(endpoints.size());
  if (previous != nullptr) {
    for (const ServerSlot& s : previous->servers) had[{s.address, s.port}] = s.slot;
    slots = std::max(slots, previous->slots);
  }
  std::set<int> used;
  std::vector<const Endpoint*> fresh;
  for (const Endpoint& e : endpoints) {
    auto it = had.find({e.address, e.port});
    if (it != had.end() && it->second <= slots) {
      b->servers.push_back({it->second, e.address, e.port, e.state, e.pod, e.pod_uid});
      used.insert(it->second);
    } else {
      fresh.push_back(&e);
    }
  }
  // New endpoints take slots that were empty before first: a slot freed in this same step may
  // still be draining its old endpoint's sessions.
  std::set<int> freed;
  for (const auto& [key, slot] : had) {
    if (!used.count(slot)) freed.insert(slot);
  }
  std::vector<int> order;
  for (int s = 1; s <= slots; ++s) {
    if (!used.count(s) && !freed.count(s)) order.push_back(s);
  }
  for (int s : freed) order.push_back(s);
  // slots >= the endpoint count and kept endpoints hold distinct slots <= slots, so `order`
  // has room for every new one.
  for (size_t i = 0; i < fresh.size() && i < order.size(); ++i) {
    b->servers.push_back({order[i], fresh[i]->address, fresh[i]->port, fresh[i]->state, fresh[i]->pod, fresh[i]->pod_uid});
  }
  b->slots = slots;
  std::sort(b->servers.begin(), b->servers.end(), [](const ServerSlot& x, const ServerSlot& y) { return x.slot < y.slot; });
}

bool ByName(const std::shared_ptr<const json>& a, const std::shared_ptr<const json>& b) {
  return std::make_tuple(Str(*a, "metadata", "namespace"), Str(*a, "metadata", "name")) <
         std::make_tuple(Str(*b, "metadata", "namespace"), Str(*b, "metadata", "name"));
}

}  // namespace

std::string SourceName(const json& object) {
  const std::string ns = Str(object, "metadata", "namespace");
  return object.value("kind", "Object") + " " + (ns.empty() ? "" : ns + "/") + Str(object, "metadata", "name");
}

bool CheckFromPod(const json& pod, HealthCheck* check) {
  const json containers = pod.contains("spec") ? pod["spec"].value("containers", json::array()) : json::array();
  for (const json& c : containers) {
    if (!c.contains("readinessProbe") || !c["readinessProbe"].contains("httpGet")) continue;
    const json& probe = c["readinessProbe"];
    const json& get = probe["httpGet"];
    // An HTTPS probe cannot become a plain-HTTP check; the TCP check stays.
    if (get.value("scheme", "HTTP") != "HTTP") continue;
    // The probed port, as a number and by name, through the container's declared ports.
    const json port = get.value("port", json());
    for (const json& cp : c.value("ports", json::array())) {
      if ((port.is_string() && cp.value("name", "") == port.get<std::string>()) ||
          (port.is_number_integer() && cp.value("containerPort", 0) == port.get<int>())) {
        check->probe_port = cp.value("containerPort", 0);
        check->probe_port_name = cp.value("name", "");
      }
    }
    if (port.is_number_integer()) check->probe_port = port.get<int>();
    if (check->probe_port == 0 && check->probe_port_name.empty()) continue;
    check->http = true;
    check->path = get.value("path", "/");
    if (check->path.empty() || check->path[0] != '/') check->path = "/" + check->path;
    // httpGet.host is where the kubelet connects, not a header; the Host header comes from
    // httpHeaders, as the kubelet sends it.
    for (const json& h : get.value("httpHeaders", json::array())) {
      std::string n = h.value("name", "");
      std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (n == "host") check->host = h.value("value", "");
    }
    const int period = probe.value("periodSeconds", 10);
    // HAProxy checks more often than the kubelet: a replica turns UP within a second of
    // listening; the kubelet's probe already gates readiness at its own pace.
    check->interval_ms = std::clamp(period * 1000 / 5, 200, 2000);
    check->fall = std::max(1, probe.value("failureThreshold", 3));
    check->rise = std::max(1, std::min(probe.value("successThreshold", 1), 3));
    return true;
  }
  return false;
}

namespace {

// Whether a readiness-probe check probes what this Service port forwards to (its targetPort,
// defaulting to its port): otherwise the check would mark servers DOWN for another port's health.
bool ProbeServesPort(const HealthCheck& check, const json& service_port) {
  const json target = service_port.value("targetPort", json(service_port.value("port", 0)));
  if (target.is_string()) return !check.probe_port_name.empty() && target.get<std::string>() == check.probe_port_name;
  return target.is_number_integer() && check.probe_port != 0 && target.get<int>() == check.probe_port;
}

}  // namespace

ModelResult BuildHaproxyModel(const ModelInputs& in) {
  ModelResult result;
  HaproxyModel& m = result.model;
  std::vector<std::string> defaults_problems;
  const Defaults defaults = ParseDefaults(in.defaults.get(), &defaults_problems);
  for (std::string& p : defaults_problems) result.problems.push_back({in.defaults, std::move(p)});
  m.global = defaults.global;
  if (m.global.threads == 0) m.global.threads = in.threads;

  std::map<std::string, const Backend*> previous;
  if (in.previous != nullptr) {
    for (const Backend& b : in.previous->backends) previous[b.name] = &b;
  }
  // Slices by "<ns>/<service>".
  std::map<std::string, std::vector<const json*>> slices;
  for (const auto& s : in.endpoint_slices) {
    const json labels = s->contains("metadata") ? (*s)["metadata"].value("labels", json::object()) : json::object();
    const std::string svc = labels.value("kubernetes.io/service-name", "");
    if (!svc.empty()) slices[Str(*s, "metadata", "namespace") + "/" + svc].push_back(s.get());
  }
  ObjectList services = in.services;
  std::sort(services.begin(), services.end(), ByName);
  IngressRefs refs = IngressReferencedPorts(in);  // "<ns>/<svc>" -> ports Ingresses route to

  std::map<std::pair<std::string, int>, std::string> bound;  // address:port -> its Service
  std::vector<Backend> backends;
  std::vector<Listener> listeners;
  for (const auto& svc_ptr : services) {
    const json& svc = *svc_ptr;
    const std::string ns = Str(svc, "metadata", "namespace"), name = Str(svc, "metadata", "name");
    const json spec = svc.value("spec", json::object());
    const std::string type = spec.value("type", "ClusterIP");
    if (type == "ExternalName" || spec.value("clusterIP", "") == "None") continue;
    BackendSettings settings = defaults.backend;
    auto parsed = ParseObjectSettings(svc, api::kinds::HaproxySettingsScope::kService);
    if (!parsed.ok()) {
      result.problems.push_back({svc_ptr, parsed.status().message()});
      continue;
    }
    // Annotations override the probe's check; ports the probe does not serve keep the other one.
    BackendSettings without_probe = settings;
    ApplyBackendSettings(*parsed, &without_probe);
    auto probe = in.probe_checks.find(ns + "/" + name);
    if (probe != in.probe_checks.end()) settings.check = probe->second;
    ApplyBackendSettings(*parsed, &settings);
    if (spec.value("sessionAffinity", "None") == "ClientIP") {
      int timeout = 10800;
      if (spec.contains("sessionAffinityConfig") && spec["sessionAffinityConfig"].contains("clientIP")) {
        timeout = spec["sessionAffinityConfig"]["clientIP"].value("timeoutSeconds", 10800);
      }
      settings.client_ip_affinity_seconds = std::max(1, timeout);
    }
    const json ports = spec.value("ports", json::array());
    std::vector<Backend> svc_backends;
    std::vector<Listener> svc_listeners;
    std::vector<std::pair<std::string, int>> svc_binds;
    std::string fault;
    for (size_t i = 0; i < ports.size() && fault.empty(); ++i) {
      const json& p = ports[i];
      const std::string field = "spec.ports[" + std::to_string(i) + "]";
      if (p.value("protocol", "TCP") != "TCP") {
        result.problems.push_back({svc_ptr, field + ".protocol: only TCP is load-balanced; this port is left out"});
        continue;
      }
      const int port = p.value("port", 0);
      Backend b;
      b.name = ns + "_" + name + "_" + std::to_string(port);
      b.source = SourceName(svc);
      auto ref = refs.find(ns + "/" + name);
      b.http = HttpPort(p) || (ref != refs.end() && ref->second.count(port));
      b.settings = settings;
      if (probe != in.probe_checks.end() && !ProbeServesPort(probe->second, p)) b.settings.check = without_probe.check;
      auto prev = previous.find(b.name);
      AssignSlots(prev == previous.end() ? nullptr : prev->second,
                  EndpointsFor(slices[ns + "/" + name], p.value("name", "")), &b);
      // Only when the check is the probe's as the node agent ran it: an annotation's path, or a
      // port the probe does not serve, makes it another check that has not passed yet.
      const bool check_is_probe = probe != in.probe_checks.end() && ProbeServesPort(probe->second, p) &&
                                  !parsed->check_path.has_value();
      auto checked = in.probe_checked_pods.find(ns + "/" + name);
      for (ServerSlot& s : b.servers) {
        s.probed = check_is_probe && s.state == ServerState::kReady && checked != in.probe_checked_pods.end() &&
                   checked->second.count(s.pod_uid) > 0;
      }
      auto listen = [&](const std::string& address, int at, const std::string& tag, const std::string& at_field) {
        for (const auto& [a, pt] : svc_binds) {
          if (a == address && pt == at) return;  // the same socket twice (service address = public)
        }
        auto taken = bound.find({address, at});
        if (taken != bound.end()) {
          fault = at_field + ": port " + std::to_string(at) + " on " + address + " is already served for " + taken->second;
          return;
        }
        svc_binds.push_back({address, at});
        svc_listeners.push_back({b.name + "_" + tag, b.source, address, at, b.http, b.name, settings.timeout_client_ms});
      };
      listen(in.service_address, port, "service", field + ".port");
      if (type == "NodePort" || type == "LoadBalancer") {
        const int node_port = p.value("nodePort", 0);
        if (node_port > 0) listen(in.public_address, node_port, "nodeport", field + ".nodePort");
        if (type == "LoadBalancer") listen(in.public_address, port, "public", field + ".port");
      }
      svc_backends.push_back(std::move(b));
    }
    if (!fault.empty()) {
      result.problems.push_back({svc_ptr, fault});
      continue;
    }
    for (const auto& bind : svc_binds) bound[bind] = SourceName(svc);
    for (Backend& b : svc_backends) backends.push_back(std::move(b));
    for (Listener& l : svc_listeners) listeners.push_back(std::move(l));
  }
  std::set<std::string> backend_names;
  for (const Backend& b : backends) backend_names.insert(b.name);
  m.ingress = BuildIngressModel(in, backend_names, defaults.ssl_redirect, &result.problems);
  std::sort(backends.begin(), backends.end(), [](const Backend& a, const Backend& b) { return a.name < b.name; });
  std::sort(listeners.begin(), listeners.end(), [](const Listener& a, const Listener& b) { return a.name < b.name; });
  m.backends = std::move(backends);
  m.listeners = std::move(listeners);
  return result;
}

}  // namespace capstan::controller::haproxy
