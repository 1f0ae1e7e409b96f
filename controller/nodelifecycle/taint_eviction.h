// Taint-based eviction as pure functions: which taints the node lifecycle controller puts on a
// Node, and when a Pod on a node with NoExecute taints must go.
//
// The controller's taints (Kubernetes' TaintNodesByCondition and taint-based eviction):
//   Ready False   -> node.kubernetes.io/not-ready:NoSchedule   + not-ready:NoExecute
//   Ready Unknown -> node.kubernetes.io/unreachable:NoSchedule + unreachable:NoExecute
//   Ready missing -> node.kubernetes.io/not-ready:NoSchedule (a node that has not reported yet)
//   Ready True    -> none
// A taint with one of those two keys and effect NoSchedule or NoExecute is the controller's; it
// adds and removes only those and keeps every other taint as it is, in its place. A taint already
// present keeps its timeAdded (the eviction countdown runs from it); a new NoExecute taint gets
// timeAdded = now. The NoExecute taint is added only when the caller allows it (the eviction rate
// limiter, full disruption); the NoSchedule one never waits.
//
// Eviction (Kubernetes' taint manager, GetMatchingTolerations + getMinTolerationTime), per NoExecute
// taint of the node (the user's as well as the controller's):
//   - the Pod's first toleration that tolerates the taint is used; for the controller's two taints
//     a Pod without one gets the default toleration the DefaultTolerationSeconds admission plugin
//     would have added (tolerationSeconds = the controller's pod_eviction_timeout);
//   - no toleration (a user's NoExecute taint): the Pod goes at once;
//   - a toleration with tolerationSeconds S: the Pod goes S after the taint's timeAdded (S <= 0: at
//     once); without tolerationSeconds: never, for this taint.
// The Pod's eviction time is the earliest over the taints; none when every taint is tolerated for
// ever.
//
// Thread-safety: stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/nodelifecycle/node_conditions.h"
#include "controller/scheduler/node_info.h"
#include "controller/scheduler/pod_info.h"

namespace capstan::controller::nodelifecycle {

using WallTime = std::chrono::system_clock::time_point;

inline constexpr char kEffectNoSchedule[] = "NoSchedule";
inline constexpr char kEffectNoExecute[] = "NoExecute";

// One of the controller's four taints (see above).
bool IsControllerTaint(const json& taint);
bool HasControllerNoExecuteTaint(const json& node);
bool HasNoExecuteTaint(const json& node);

// The Node's spec.taints (an array, maybe empty) with the controller's taints set for readiness
// `r`: with `no_execute` false the controller's NoExecute taints are removed (or not added).
// `now` (RFC 3339) is the timeAdded of a NoExecute taint added here.
json DesiredTaints(const json& node, Readiness r, bool no_execute, const std::string& now);

// A spec.tolerations entry with its tolerationSeconds (absent: tolerated for ever).
struct PodToleration {
  scheduler::Toleration toleration;
  std::optional<int64_t> seconds;
};
std::vector<PodToleration> PodTolerations(const json& pod);

// A NoExecute taint of a node and when it was added.
struct NoExecuteTaint {
  scheduler::Taint taint;
  WallTime since;
  bool controller = false;  // one of the controller's (gets the default toleration)
};

// The Node's NoExecute taints; `since` is timeAdded, or first_seen(taint) when the taint has none
// (a user's taint written without it) or it does not parse.
std::vector<NoExecuteTaint> NoExecuteTaints(const json& node,
                                            const std::function<WallTime(const scheduler::Taint&)>& first_seen);

// When a Pod with these tolerations must leave a node with these NoExecute taints (see above);
// std::nullopt: never. `default_toleration` is the controller's pod_eviction_timeout.
std::optional<WallTime> EvictionTime(const std::vector<PodToleration>& tolerations,
                                     const std::vector<NoExecuteTaint>& taints,
                                     std::chrono::milliseconds default_toleration);

}  // namespace capstan::controller::nodelifecycle
