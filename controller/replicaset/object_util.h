// Reading Pods, ReplicaSets and their metadata as Kubernetes' controllers do, over plain JSON.
//
// Shared by the ReplicaSet and Deployment decision logic. Every function here is pure: it reads
// its arguments (never mutates them) and never throws on odd input — objects come from a cache
// that holds whatever the API accepted, so a missing or mistyped field reads as absent.
//
// Times: metav1.Time is RFC 3339 with second precision ("2024-01-02T03:04:05Z"); fractions and
// offsets are accepted when parsing. Formatting always writes whole seconds in UTC, as
// Kubernetes does, so a time written and read back compares equal.
//
// Thread-safety: stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace capstan::controller::replicaset {

using json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

// ---- Field access (never throws) --------------------------------------------------------------

// obj[key] when obj is an object holding it; else a shared null.
const json& At(const json& obj, std::string_view key);
std::string StringAt(const json& obj, std::string_view key);
// An integer field; `fallback` when absent or not an integer.
int64_t IntAt(const json& obj, std::string_view key, int64_t fallback = 0);
// metadata.<key> as a string ("" when absent).
std::string Meta(const json& obj, std::string_view key);
// metadata.annotations[key], or std::nullopt.
std::optional<std::string> Annotation(const json& obj, std::string_view key);
// spec.replicas, defaulted to 1 as the API server does when it is absent.
int32_t SpecReplicas(const json& obj);

// ---- Time -------------------------------------------------------------------------------------

std::optional<TimePoint> ParseTime(const json& value);
std::string FormatTime(TimePoint t);
// metadata.creationTimestamp, or std::nullopt.
std::optional<TimePoint> CreationTime(const json& obj);
bool IsDeleting(const json& obj);  // metadata.deletionTimestamp is set

// True when `cur` differs from `old` in its status only: the same spec, labels, annotations,
// owners, finalizers and deletion state (resourceVersion and managedFields aside).
bool StatusOnlyChange(const json& old, const json& cur);
// As StatusOnlyChange, for a Pod whose spec.nodeName may also have changed: a binding, which
// changes none of its owner's counts or decisions (a scale-down ranks Pods by the cache at its
// own time), so the owner's reconcile may wait out kStatusBatchWindow as for a status change.
bool BindingOrStatusOnlyChange(const json& old_pod, const json& pod);

// How long an owner's reconcile waits after a status-only change of one of its children (a Pod
// turning Ready, a ReplicaSet's counts moving), so that the changes of a burst of children make
// one status write of the owner instead of one each. Changes that need action (a deletion, new
// labels, another owner) are never delayed. Kubernetes has no such window; its controllers' client
// rate limits (20 QPS) batch far more coarsely.
inline constexpr std::chrono::milliseconds kStatusBatchWindow{50};

// ---- Owner references -------------------------------------------------------------------------

// The ownerReferences entry with controller=true, or nullptr.
const json* ControllerRef(const json& obj);
// True when obj's controller reference names `owner_uid`.
bool IsControlledBy(const json& obj, const std::string& owner_uid);
// metav1.NewControllerRef: apiVersion, kind, name, uid of `owner`, controller and
// blockOwnerDeletion true.
json NewControllerRef(const json& owner, std::string_view api_version, std::string_view kind);

// ---- Labels -----------------------------------------------------------------------------------

// Every key/value of `subset` (an object of strings, or null = empty) is in `labels`.
bool LabelsContain(const json& labels, const json& subset);

// ---- Pods -------------------------------------------------------------------------------------

// controller.IsPodActive: not Succeeded, not Failed, and not being deleted.
bool IsPodActive(const json& pod);
// podutil.IsPodReady: the Ready condition has status "True".
bool IsPodReady(const json& pod);
// The Ready condition's lastTransitionTime when the pod is ready (std::nullopt when not ready or
// the time is absent: a zero time in Kubernetes).
std::optional<TimePoint> PodReadySince(const json& pod);
// podutil.IsPodAvailable: ready, and either min_ready_seconds is 0 or the pod has been ready
// since strictly more than min_ready_seconds before `now` (Kubernetes compares with Before()).
bool IsPodAvailable(const json& pod, int64_t min_ready_seconds, TimePoint now);
// When a ready but not yet available pod becomes available; std::nullopt if not applicable.
std::optional<TimePoint> PodAvailableAt(const json& pod, int64_t min_ready_seconds);
// The largest restartCount among status.containerStatuses (0 when none).
int64_t MaxContainerRestarts(const json& pod);

// ---- Conditions (status.conditions arrays) ----------------------------------------------------

// The condition of `type` in status.conditions, or nullptr.
const json* FindCondition(const json& status, std::string_view type);
// Removes every condition of `type` from status.conditions (drops the key when it becomes empty,
// as Go's omitempty would).
void RemoveCondition(json& status, std::string_view type);

}  // namespace capstan::controller::replicaset
