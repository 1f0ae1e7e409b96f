// Node health as the node lifecycle controller reads and writes it: pure functions over Node,
// Lease and Pod objects (no I/O, no clock of their own).
//
//   - NodeReadiness: the Node's Ready condition (True, False, Unknown, or missing).
//   - ObservedHeartbeat: what changes when a node agent is alive: the Ready condition's
//     lastHeartbeatTime and the heartbeat Lease's spec.renewTime. The controller never compares
//     these times with its own clock (hosts' clocks disagree); it notes *when it saw them change*,
//     as Kubernetes' node lifecycle controller does (its probeTimestamp).
//   - UnknownConditionsPatch: the strategic-merge patch of nodes/<name>/status that Kubernetes'
//     monitorNodeHealth writes once a node stopped posting: every condition the agent posts among
//     Ready, MemoryPressure, DiskPressure and PIDPressure becomes Unknown with reason
//     NodeStatusUnknown and "Kubelet stopped posting node status."; a node that never posted Ready
//     gets Ready Unknown, NodeStatusNeverUpdated, "Kubelet never posted node status.".
//     lastHeartbeatTime is left as it was (the merge keeps it), so the controller's own write is
//     never mistaken for a heartbeat. NetworkUnavailable is left alone, as in Kubernetes.
//   - PodNotReadyPatch: Kubernetes' MarkPodsNotReady for one Pod: Ready False (reason and message
//     kept), so Services stop routing to it.
//
// Every patch carries metadata.resourceVersion (and a Pod's uid): the API refuses it with 409 if
// the object changed since it was read, so a heartbeat or agent write that raced the controller
// is never overwritten.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace capstan::controller::nodelifecycle {

using json = nlohmann::json;

// Kubernetes' reasons and messages (k8s.io/kubernetes/pkg/controller/nodelifecycle).
inline constexpr char kReasonNodeStatusUnknown[] = "NodeStatusUnknown";
inline constexpr char kReasonNodeStatusNeverUpdated[] = "NodeStatusNeverUpdated";
inline constexpr char kMessageStoppedPosting[] = "Kubelet stopped posting node status.";
inline constexpr char kMessageNeverPosted[] = "Kubelet never posted node status.";

enum class Readiness { kTrue, kFalse, kUnknown, kMissing };

const char* ReadinessName(Readiness r);  // "True", "False", "Unknown", "Missing"

// The condition of `type` in obj.status.conditions, or nullptr.
const json* FindCondition(const json& obj, std::string_view type);

// The Node's Ready condition; an unrecognised status reads as False (only True is ready).
Readiness NodeReadiness(const json& node);
// Ready is False or Unknown: the node is tainted and its Pods are marked not ready. A missing
// Ready (a node still starting) is neither.
inline bool IsNotReady(Readiness r) { return r == Readiness::kFalse || r == Readiness::kUnknown; }

// What a live node agent changes: Ready's lastHeartbeatTime and the Lease's renewTime (either may
// be empty). Compared for change only, never as times.
struct Heartbeat {
  std::string ready_heartbeat;
  std::string lease_renew;
  bool operator==(const Heartbeat&) const = default;
};
// `lease` may be null (no Lease).
Heartbeat ObservedHeartbeat(const json& node, const json* lease);

// The patch that marks the node's agent-posted conditions Unknown (see above), with
// lastTransitionTime `now` (RFC 3339) on the conditions that change; null when every such
// condition is Unknown already.
json UnknownConditionsPatch(const json& node, const std::string& now);

// Whether the Pod is Succeeded or Failed (nothing runs; nothing to mark or evict).
bool IsTerminalPod(const json& pod);
bool IsDeletingPod(const json& pod);  // metadata.deletionTimestamp is set

// The patch of pods/<name>/status that sets Ready False with lastTransitionTime `now`; null when
// the Pod's Ready condition is not True (nothing to do).
json PodNotReadyPatch(const json& pod, const std::string& now);

}  // namespace capstan::controller::nodelifecycle
