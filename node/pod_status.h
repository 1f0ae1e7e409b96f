// Pod status as the node agent reports it: pure functions from (the cached pod, what the driver
// says of its current run, what the agent remembers of earlier runs) to the status fields the
// agent owns, plus the comparison that keeps the agent from writing a status that did not change.
//
// Fields the agent owns (Kubernetes' kubelet-owned fields): phase, hostIP, hostIPs, podIP, podIPs
// (the node's address: workloads use host networking), startTime, containerStatuses,
// portMappings (Capstan's: the host port of each containerPort), and the
// conditions PodScheduled, Initialized, ContainersReady and Ready. Other conditions (readiness
// gates, DisruptionTarget, ...) and qosClass belong to others and are left alone: the patch is a
// strategic merge, conditions keyed by type, containerStatuses replaced as a whole.
//
// Phase follows the kubelet's getPhase: Pending while a container has never started; Running
// while one runs or is restarting; once all have stopped, Succeeded when all exited 0, Failed
// when one failed and restartPolicy is Never (Running again under Always/OnFailure, which
// restart). A pod already Succeeded or Failed stays so.
//
// lastTransitionTime of a condition changes only when its status does, so recomputing an
// unchanged pod yields exactly its current status and StatusUpToDate() is true.
//
// Thread-safety: stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "node/pod_launch.h"
#include "node/runtime_driver.h"

namespace capstan::node {

// What the agent knows of a pod beyond the cached object.
struct PodRunInfo {
  // The current run's containers; null when there is no run (not started yet, between restarts).
  const PodState* state = nullptr;
  int32_t restart_count = 0;
  // Container name -> ContainerStateTerminated of its previous run (reported as lastState).
  std::map<std::string, nlohmann::json> last_terminated;
  // How containers without a current state are shown: waiting with this reason and message
  // (ContainerCreating; CrashLoopBackOff during a restart back-off; CreateContainerError).
  std::string waiting_reason = "ContainerCreating";
  std::string waiting_message;
  // status.portMappings (pod_launch.h); null or empty: the field is not written.
  const std::vector<PortMapping>* ports = nullptr;
};

struct PodStatusContext {
  std::string host_ip;     // hostIP and podIP
  std::string runtime;     // scheme of containerID: "fake" -> "fake://<id>"
  std::chrono::system_clock::time_point now;  // for startTime and new transitions
};

// The owned status fields of `pod` (a cached v1 Pod), as an object to merge into status.
nlohmann::json ComputePodStatus(const nlohmann::json& pod, const PodRunInfo& run, const PodStatusContext& ctx);

// True when `current` (a pod's status, possibly null) already holds every field of `desired`
// (a ComputePodStatus result) with the same value; conditions are matched by type.
bool StatusUpToDate(const nlohmann::json& current, const nlohmann::json& desired);

// The strategic merge patch for pods/<name>/status that writes `desired`: metadata.uid as a
// precondition (a pod re-created under the same name answers 409), and in each condition a null
// reason/message where `desired` has none, so that stale ones are deleted.
nlohmann::json StatusPatch(const std::string& uid, const nlohmann::json& desired);

// ContainerStateTerminated of a container state (for lastState), with containerID.
nlohmann::json TerminatedJson(const ContainerState& state, const std::string& runtime);

bool IsTerminalPhase(const std::string& phase);  // Succeeded or Failed

// metav1.Time ("2006-01-02T15:04:05Z") and metav1.MicroTime ("2006-01-02T15:04:05.000000Z"), UTC.
std::string FormatTime(std::chrono::system_clock::time_point t);
std::string FormatMicroTime(std::chrono::system_clock::time_point t);

}  // namespace capstan::node
