// The pure halves of `capstan rollout`: kubectl's rollout status messages, the patches of
// pause/resume/restart with kubectl's refusals, and the text of `rollout history`. rollout.cc
// fetches and sends; these decide what is said and sent, so they are tested without a server.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "controller/deployment/rollback.h"

namespace capstan::cli {

// One look at a Deployment, as kubectl's DeploymentStatusViewer sees it.
struct RolloutStatus {
  std::string message;  // one line with its '\n', e.g. "deployment \"web\" successfully rolled out\n"
  bool done = false;    // the rollout is complete: stop waiting
};

// kubectl's messages, in its order, once status.observedGeneration >= metadata.generation:
//   Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...
//   Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...
//   Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...
//   deployment "web" successfully rolled out                                    (done)
// before it: "Waiting for deployment spec update to be observed...". Errors (kBadRequest, the
// message kubectl prints after "error: "):
//   deployment "web" exceeded its progress deadline   (Progressing has reason ProgressDeadlineExceeded)
//   desired revision (2) is different from the running revision (3)   (`revision` > 0 only)
//   cannot get the revision of deployment "web": ...   (an unparsable revision annotation)
Result<RolloutStatus> DeploymentRolloutStatus(const nlohmann::json& deployment, int64_t revision = 0);

// The strategic merge patch of `rollout pause` (`pause` true) or `rollout resume`:
// {"spec":{"paused":true|false}}. kBadRequest "is already paused" / "is not paused" when there
// is nothing to change (kubectl prints them after `deployments.apps "web" `).
Result<nlohmann::json> PausePatch(const nlohmann::json& deployment, bool pause);

// The strategic merge patch of `rollout restart`: the pod template's
// kubectl.kubernetes.io/restartedAt annotation set to `now_rfc3339`. kBadRequest "can't restart
// paused deployment (run rollout resume first)" for a paused Deployment.
Result<nlohmann::json> RestartPatch(const nlohmann::json& deployment, const std::string& now_rfc3339);

inline constexpr char kRestartedAtAnnotation[] = "kubectl.kubernetes.io/restartedAt";

// Go's time.Format(time.RFC3339) of `t` in the local time zone: "2024-01-02T15:04:05+01:00",
// "...Z" when the zone is UTC.
std::string Rfc3339Local(std::time_t t);

// `rollout history` as kubectl prints it for `display` ("deployment.apps/web"): without a
// revision, "deployment.apps/web \n" then the REVISION/CHANGE-CAUSE table and an empty line;
// with `revision` > 0, "deployment.apps/web with revision #N\nPod Template:\n" then that
// revision's template as YAML, indented by two (with its change-cause among the template's
// annotations, as kubectl shows it). kNotFound "unable to find the specified revision".
Result<std::string> FormatRolloutHistory(const std::string& display,
                                         const std::vector<controller::deployment::RevisionInfo>& history,
                                         int64_t revision);

}  // namespace capstan::cli
