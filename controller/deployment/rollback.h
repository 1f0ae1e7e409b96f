// `rollout undo` and `rollout history` for Deployments: client-side, as kubectl does them.
//
// apps/v1 has no rollback endpoint (extensions/v1beta1's spec.rollbackTo is gone): kubectl finds
// the ReplicaSet of the wanted revision and PATCHes its template (without the pod-template-hash
// label) and its annotations back into the Deployment. The Deployment controller then sees a
// template equal to that old ReplicaSet's, makes it the new ReplicaSet again and gives it the
// next revision number (the old one goes into deployment.kubernetes.io/revision-history).
// These functions are the CLI's half (pure: the caller lists the Deployment's ReplicaSets, then
// sends RollbackPlan::JsonPatch()); kubectl's messages and errors are reproduced for users.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "controller/deployment/deployment_sync.h"

namespace capstan::controller::deployment {

struct RollbackPlan {
  int64_t revision = 0;     // the revision rolled back to
  std::string replicaset;   // its ReplicaSet
  json pod_template;        // its template without the pod-template-hash label
  json annotations;         // the Deployment's annotations after the rollback (kubectl's rule)
  // The Deployment already runs this template: kubectl prints "skipped rollback (current template
  // already matches revision N)" and sends nothing.
  bool skipped = false;

  // The RFC 6902 patch kubectl sends (application/json-patch+json): replace /spec/template and
  // /metadata/annotations.
  json JsonPatch() const;
  // kubectl's result line after "deployment.apps/<name> ": "rolled back" or the skip message.
  std::string Message() const;
};

// Plans `rollout undo [--to-revision=N]` (`to_revision` 0 = the previous revision) over the
// Deployment's ReplicaSets. Errors (kubectl's wording):
//   kBadRequest "you cannot rollback a paused deployment; resume it first with 'kubectl rollout
//               resume' and try again"
//   kNotFound   "unable to find specified revision N in history" (also for a negative N)
//   kNotFound   "no rollout history found for deployment \"web\"" (undo without a previous one)
Result<RollbackPlan> PlanRollback(const json& deployment, const ObjectList& replicasets, int64_t to_revision);

// The template to PATCH into the Deployment: PlanRollback(...).pod_template.
Result<json> RollbackTemplate(const json& deployment, const ObjectList& replicasets, int64_t to_revision);

// One line of `rollout history`.
struct RevisionInfo {
  int64_t revision = 0;
  std::string change_cause;  // kubernetes.io/change-cause of the ReplicaSet, "" when none
  std::string replicaset;
  json pod_template;         // for `rollout history --revision=N`
};

// The revisions of the Deployment's ReplicaSets, ascending; ReplicaSets without a parseable
// revision annotation are left out, and of two with the same revision the later one listed wins
// (as in kubectl's map).
std::vector<RevisionInfo> RevisionHistory(const ObjectList& replicasets);

// kubectl's table: "REVISION  CHANGE-CAUSE" then one line per revision ("<none>" without a
// cause); "No rollout history found." when empty.
std::string FormatRevisionHistory(const std::vector<RevisionInfo>& history);

}  // namespace capstan::controller::deployment
