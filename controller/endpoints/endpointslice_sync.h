// PlanEndpointSlices: the EndpointSlices one Service should have, and the writes that get there
// from the slices it has (Kubernetes' endpointslice-controller, for Capstan's host-network Pods).
//
// An endpoint is a selected Pod that is scheduled (spec.nodeName), not finished, and has an
// allocated host port (status.portMappings) for at least one Service port: its address is its
// Node's (status.addresses: InternalIP first, then ExternalIP, Hostname; the Pod's
// status.hostIP when the Node is unknown), and its port per Service port is the host port
// mapped to the targetPort (by containerPort number, or by container port name). Conditions:
// ready = Pod Ready and not terminating (always true with publishNotReadyAddresses), serving =
// Pod Ready, terminating = deletionTimestamp set.
//
// An EndpointSlice's ports hold for every endpoint in it, and every Pod has its own host ports,
// so endpoints are grouped by (addressType, ports) and each group is cut into slices of at most
// 100 endpoints (sorted by Pod namespace/name). Managed slices carry the labels
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by =
// endpointslice-controller.capstan.io and a controller ownerReference to the Service (the
// garbage collector deletes them with it). Existing slices are reused first for the same group,
// then for any other (an update rather than a delete and a create), so a rolling update moves a
// slice instead of replacing it; slices whose content is already right are not written.
// A Service without a selector gets no managed slices (any it had are deleted).
//
// Thread-safety: a pure function.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::controller::endpoints {

using json = nlohmann::json;
using ObjectPtr = std::shared_ptr<const json>;

inline constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";
inline constexpr char kManagedByLabel[] = "endpointslice.kubernetes.io/managed-by";
inline constexpr char kManagedByValue[] = "endpointslice-controller.capstan.io";
inline constexpr size_t kMaxEndpointsPerSlice = 100;

struct EndpointSlicePlan {
  std::vector<json> create;  // new slices (metadata.generateName "<service>-")
  std::vector<json> update;  // existing slices with new content (resourceVersion kept: a CAS write)
  std::vector<json> remove;  // existing slices to delete
  bool empty() const { return create.empty() && update.empty() && remove.empty(); }
};

// `pods`: Pods of the Service's namespace (selection happens here); `nodes`: by name;
// `existing`: the slices this controller manages for the Service.
EndpointSlicePlan PlanEndpointSlices(const json& service, const std::vector<ObjectPtr>& pods,
                                     const std::map<std::string, ObjectPtr>& nodes,
                                     const std::vector<ObjectPtr>& existing);

// The address of a Node for endpoints ("" when it has none).
std::string NodeAddress(const json& node);

// True when `service` has a non-empty selector and it selects `pod`'s labels.
bool SelectsPod(const json& service, const json& pod);

// One Pod's endpoint in `service`'s slices, exactly as PlanEndpointSlices builds it: its slice
// group (addressType, ports) and the Endpoint object. False when the Pod is no endpoint of the
// Service (not selected, not scheduled, finished, no address, no host port for any Service
// port). Consumers that must run ahead of the slices (the HAProxy controller's pending
// endpoints) use it so that they compute what the slices will say, never something else.
struct PodEndpoint {
  std::string address_type;  // "IPv4" | "IPv6"
  json ports;                // [{name, protocol, port}]
  json endpoint;             // {addresses, conditions, nodeName, targetRef}
};
bool EndpointForPod(const json& service, const json& pod, const std::map<std::string, ObjectPtr>& nodes,
                    PodEndpoint* out);

}  // namespace capstan::controller::endpoints
