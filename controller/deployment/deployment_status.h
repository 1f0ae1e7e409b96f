// Deployment status and conditions, as Kubernetes computes them (sync.go calculateStatus,
// progress.go syncRolloutStatus / requeueStuckDeployment, deployment_util.go's condition helpers).
//
// Conditions (type: reason):
//   Available:   MinimumReplicasAvailable (True) when available >= replicas - maxUnavailable,
//                else MinimumReplicasUnavailable (False).
//   Progressing: NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated (True) while the
//                rollout moves; NewReplicaSetAvailable (True) once complete;
//                ProgressDeadlineExceeded (False) when nothing moved for progressDeadlineSeconds;
//                DeploymentPaused / DeploymentResumed (Unknown); absent when the Deployment has
//                no progress deadline.
//   ReplicaFailure: copied from the new ReplicaSet's (else any ReplicaSet's) ReplicaFailure.
// Times: a condition's lastUpdateTime is when it was last set with a different reason (or, for
// ReplicaSetUpdated, when progress was last seen — that is what the deadline measures from);
// lastTransitionTime changes only when its status changes. Setting a condition with the same
// status and reason changes nothing (not even the message), as in Kubernetes.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/deployment/rollout_math.h"

namespace capstan::controller::deployment {

using TimePoint = std::chrono::system_clock::time_point;

// Reasons (deploymentutil's constants).
inline constexpr char kNewRSAvailableReason[] = "NewReplicaSetAvailable";
inline constexpr char kTimedOutReason[] = "ProgressDeadlineExceeded";
inline constexpr char kReplicaSetUpdatedReason[] = "ReplicaSetUpdated";
inline constexpr char kNewReplicaSetReason[] = "NewReplicaSetCreated";
inline constexpr char kFoundNewRSReason[] = "FoundNewReplicaSet";
inline constexpr char kFailedRSCreateReason[] = "ReplicaSetCreateError";
inline constexpr char kPausedDeployReason[] = "DeploymentPaused";
inline constexpr char kResumedDeployReason[] = "DeploymentResumed";
inline constexpr char kMinimumReplicasAvailable[] = "MinimumReplicasAvailable";
inline constexpr char kMinimumReplicasUnavailable[] = "MinimumReplicasUnavailable";

// A DeploymentCondition with lastUpdateTime = lastTransitionTime = now.
json NewDeploymentCondition(const std::string& type, const std::string& status, const std::string& reason,
                            const std::string& message, TimePoint now);
// SetDeploymentCondition on `status` (a DeploymentStatus object): no-op when a condition of the
// same type, status and reason exists; keeps lastTransitionTime when only the reason changes;
// otherwise replaces the condition, moving it to the end of the list.
void SetDeploymentCondition(json& status, json condition);

// spec.progressDeadlineSeconds is set and not MaxInt32 (Kubernetes' "no deadline").
bool HasProgressDeadline(const json& deployment);
// deploymentutil.DeploymentComplete: updated == replicas == total == available, and the status
// observed the current generation.
bool DeploymentComplete(const json& deployment, const json& status);

// checkPausedConditions: sets Progressing to DeploymentPaused / DeploymentResumed on `status` when
// the paused state changed (never over ProgressDeadlineExceeded). No-op without a deadline.
void CheckPausedConditions(const json& deployment, json& status, TimePoint now);

// calculateStatus: counts from the ReplicaSets (status counts; unavailable from spec replicas),
// observedGeneration, collisionCount from the Deployment, conditions from `working_status` plus
// Available. Zero counts are omitted (Go's omitempty).
json CalculateDeploymentStatus(const json& deployment, const json& working_status, const std::vector<RsState*>& all,
                               const RsState* new_rs, const RolloutParams& params, TimePoint now);

// syncRolloutStatus: CalculateDeploymentStatus plus the Progressing condition (complete /
// progressing / timed out, judged against the Deployment's previous status) and ReplicaFailure
// (`replica_failures`: the new ReplicaSet's ReplicaFailure conditions if any, else all of them).
json CalculateRolloutStatus(const json& deployment, const json& working_status, const std::vector<RsState*>& all,
                            const RsState* new_rs, const std::string& new_rs_name, const RolloutParams& params,
                            const std::vector<json>& replica_failures, TimePoint now);

// requeueStuckDeployment: when a deadline check is pending for `new_status` (a deadline, a
// Progressing condition that is neither timed out nor complete), how long until it is due, plus
// one second so the check lands after it (the comparison is strict). std::nullopt otherwise.
std::optional<std::chrono::milliseconds> ProgressCheckAfter(const json& deployment, const json& new_status,
                                                            TimePoint now);

}  // namespace capstan::controller::deployment
