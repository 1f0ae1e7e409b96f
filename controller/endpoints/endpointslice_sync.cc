#include "controller/endpoints/endpointslice_sync.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "client/json_fields.h"

namespace capstan::controller::endpoints {
namespace {

using client::Field;
using client::MetaString;
using client::StringField;

std::string Str(const json& obj, const char* key) { return StringField(obj, key); }
std::string Meta(const json& obj, const char* key) { return MetaString(obj, key); }

bool Selected(const json& selector, const json& pod) {
  const json& labels = Field(Field(pod, "metadata"), "labels");
  for (auto it = selector.begin(); it != selector.end(); ++it) {
    const json& v = Field(labels, it.key());
    if (!v.is_string() || *it != v) return false;
  }
  return true;
}

bool PodReady(const json& pod) {
  const json& conditions = Field(Field(pod, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const json& c : conditions) {
    if (Str(c, "type") == "Ready") return Str(c, "status") == "True";
  }
  return false;
}

// The host port of `pod` serving `target` (a containerPort number or a container port name).
int HostPort(const json& pod, const json& target) {
  const json& mappings = Field(Field(pod, "status"), "portMappings");
  if (!mappings.is_array()) return 0;
  for (const json& m : mappings) {
    const json& host = Field(m, "hostPort");
    if (!host.is_number_integer() || host.get<int>() <= 0) continue;
    if (target.is_number_integer() && Field(m, "containerPort") == target) return host.get<int>();
    if (target.is_string() && !target.get<std::string>().empty() && Str(m, "name") == target.get<std::string>()) {
      return host.get<int>();
    }
  }
  return 0;
}

struct Endpoint {
  std::string sort_key;  // namespace/name
  std::string address_type;
  json ports;            // [{name, protocol, port}], the group key together with address_type
  json endpoint;         // the Endpoint object
};

// Desired endpoints grouped by (addressType, ports) in a deterministic order, each group cut
// into chunks of kMaxEndpointsPerSlice.
struct Chunk {
  std::string address_type;
  json ports;
  json endpoints = json::array();
};

std::vector<Chunk> DesiredChunks(const json& service, const std::vector<ObjectPtr>& pods,
                                 const std::map<std::string, ObjectPtr>& nodes) {
  std::vector<Endpoint> all;
  for (const ObjectPtr& p : pods) {
    PodEndpoint pe;
    if (!EndpointForPod(service, *p, nodes, &pe)) continue;
    all.push_back(Endpoint{Meta(*p, "namespace") + "/" + Meta(*p, "name"), std::move(pe.address_type),
                           std::move(pe.ports), std::move(pe.endpoint)});
  }
  std::sort(all.begin(), all.end(), [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.address_type, a.ports, a.sort_key) < std::tie(b.address_type, b.ports, b.sort_key);
  });
  std::vector<Chunk> out;
  for (Endpoint& e : all) {
    if (out.empty() || out.back().address_type != e.address_type || out.back().ports != e.ports ||
        out.back().endpoints.size() >= kMaxEndpointsPerSlice) {
      out.push_back(Chunk{e.address_type, e.ports});
    }
    out.back().endpoints.push_back(std::move(e.endpoint));
  }
  return out;
}

json OwnerRef(const json& service) {
  return {{"apiVersion", "v1"}, {"kind", "Service"}, {"name", Meta(service, "name")},
          {"uid", Meta(service, "uid")}, {"controller", true}, {"blockOwnerDeletion", true}};
}

// `base` (an existing slice, or a new one) with the chunk's content and our labels and owner.
json SliceFor(const json& service, const Chunk& chunk, json base) {
  json& meta = base["metadata"];
  meta["namespace"] = Meta(service, "namespace");
  meta["labels"][kServiceNameLabel] = Meta(service, "name");
  meta["labels"][kManagedByLabel] = kManagedByValue;
  meta["ownerReferences"] = json::array({OwnerRef(service)});
  base["apiVersion"] = "discovery.k8s.io/v1";
  base["kind"] = "EndpointSlice";
  base["addressType"] = chunk.address_type;
  base["endpoints"] = chunk.endpoints;
  base["ports"] = chunk.ports;
  return base;
}

}  // namespace

std::string NodeAddress(const json& node) {
  const json& addresses = Field(Field(node, "status"), "addresses");
  if (!addresses.is_array()) return "";
  for (const char* type : {"InternalIP", "ExternalIP"}) {
    for (const json& a : addresses) {
      if (Str(a, "type") == type && !Str(a, "address").empty()) return Str(a, "address");
    }
  }
  return "";
}

bool SelectsPod(const json& service, const json& pod) {
  const json& selector = Field(Field(service, "spec"), "selector");
  return selector.is_object() && !selector.empty() && Selected(selector, pod);
}

bool EndpointForPod(const json& service, const json& pod, const std::map<std::string, ObjectPtr>& nodes,
                    PodEndpoint* out) {
  const json& spec = Field(service, "spec");
  const json& service_ports = Field(spec, "ports");
  const bool publish_not_ready = Field(spec, "publishNotReadyAddresses") == true;
  if (!SelectsPod(service, pod)) return false;
  const std::string node_name = Str(Field(pod, "spec"), "nodeName");
  const std::string phase = Str(Field(pod, "status"), "phase");
  if (node_name.empty() || phase == "Succeeded" || phase == "Failed") return false;
  std::string address;
  if (auto n = nodes.find(node_name); n != nodes.end() && n->second) address = NodeAddress(*n->second);
  if (address.empty()) address = Str(Field(pod, "status"), "hostIP");
  if (address.empty()) return false;
  json ports = json::array();
  if (service_ports.is_array()) {
    for (const json& sp : service_ports) {
      const json& target = Field(sp, "targetPort").is_null() ? Field(sp, "port") : Field(sp, "targetPort");
      int host = HostPort(pod, target);
      if (host == 0) continue;
      ports.push_back({{"name", Str(sp, "name")}, {"protocol", "TCP"}, {"port", host}});
    }
  }
  if (ports.empty()) return false;  // nothing of the Service is served by this Pod
  const bool terminating = !Field(Field(pod, "metadata"), "deletionTimestamp").is_null();
  const bool ready = PodReady(pod);
  out->address_type = address.find(':') != std::string::npos ? "IPv6" : "IPv4";
  out->ports = std::move(ports);
  out->endpoint = {{"addresses", json::array({address})},
                   {"conditions",
                    {{"ready", publish_not_ready || (ready && !terminating)},
                     {"serving", publish_not_ready || ready},
                     {"terminating", terminating}}},
                   {"nodeName", node_name},
                   {"targetRef",
                    {{"kind", "Pod"}, {"namespace", Meta(pod, "namespace")}, {"name", Meta(pod, "name")},
                     {"uid", Meta(pod, "uid")}}}};
  return true;
}

EndpointSlicePlan PlanEndpointSlices(const json& service, const std::vector<ObjectPtr>& pods,
                                     const std::map<std::string, ObjectPtr>& nodes,
                                     const std::vector<ObjectPtr>& existing) {
  EndpointSlicePlan plan;
  std::vector<ObjectPtr> slices = existing;
  std::sort(slices.begin(), slices.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
    return Meta(*a, "name") < Meta(*b, "name");
  });
  const json& selector = Field(Field(service, "spec"), "selector");
  std::vector<Chunk> chunks;
  if (selector.is_object() && !selector.empty()) chunks = DesiredChunks(service, pods, nodes);

  std::vector<bool> used(slices.size(), false);
  std::vector<const Chunk*> unplaced;
  // First pass: a chunk goes into an existing slice of the same group (in name order).
  for (const Chunk& c : chunks) {
    bool placed = false;
    for (size_t i = 0; i < slices.size() && !placed; ++i) {
      if (used[i] || Str(*slices[i], "addressType") != c.address_type || Field(*slices[i], "ports") != c.ports) continue;
      used[i] = placed = true;
      json next = SliceFor(service, c, *slices[i]);
      if (next != *slices[i]) plan.update.push_back(std::move(next));
    }
    if (!placed) unplaced.push_back(&c);
  }
  // Second pass: the rest reuse any leftover slice of the same address type (addressType is
  // immutable), else are created.
  for (const Chunk* c : unplaced) {
    bool placed = false;
    for (size_t i = 0; i < slices.size() && !placed; ++i) {
      if (used[i] || Str(*slices[i], "addressType") != c->address_type) continue;
      used[i] = placed = true;
      plan.update.push_back(SliceFor(service, *c, *slices[i]));
    }
    if (!placed) {
      json fresh = {{"metadata", {{"generateName", Meta(service, "name") + "-"}}}};
      plan.create.push_back(SliceFor(service, *c, std::move(fresh)));
    }
  }
  for (size_t i = 0; i < slices.size(); ++i) {
    if (!used[i]) plan.remove.push_back(*slices[i]);
  }
  return plan;
}

}  // namespace capstan::controller::endpoints
