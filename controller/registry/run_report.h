// What a cleanup run leaves in the API: the policy's status and the ConfigMap of decisions.
//
// The decisions go to a ConfigMap "<policy>-decisions" (same namespace, owned by the policy, so
// the garbage collector removes it with the policy), key decisions.json: one object per tag
// {repository, tag, digest, mediaType, created, size, decision, reason, outcome, error}. Not into
// status: a registry has thousands of tags, and status travels with every watch event and every
// `get`; the ConfigMap is read only by who asks (`capstan describe rcp`, `kubectl get cm`). The
// list is cut before ConfigMap's 1 MiB limit (`truncated` in summary.json says how many were left
// out); removals come first, so they are the last to be cut.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "controller/registry/cleanup_run.h"

namespace capstan::registry {

inline constexpr size_t kMaxStatusErrors = 20;
inline constexpr size_t kMaxDecisionBytes = 900 * 1024;

std::string DecisionsConfigMapName(const std::string& policy_name);

// status after `report` (of a run started by `trigger`), keeping nextRunTime out (the caller sets
// it) and conditions Ready / DeletionAllowed from the result. A run against the managed registry
// adds lastRun.managedRegistry and, when its read-only window ran, lastRun.bytesReclaimed and
// lastRun.garbageCollection {result, readOnlyWindowMillis, collectMillis, storageBytesBefore,
// storageBytesAfter, message}.
nlohmann::json RunStatus(const RunReport& report, const std::string& trigger, const std::string& configmap_name);

// The decision rows of a report (removals first, then kept tags), each as the ConfigMap holds it.
nlohmann::json DecisionRows(const RunReport& report);

// The ConfigMap for `policy` (apiVersion, kind, metadata with the owner reference, data).
nlohmann::json DecisionsConfigMap(const nlohmann::json& policy, const RunReport& report);

}  // namespace capstan::registry
