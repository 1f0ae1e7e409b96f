// DrainTracker: the termination order of Pods behind HAProxy (docs/haproxy.md, "Termination
// order"): a terminating Pod's servers are drained before its containers get SIGTERM. The
// tracker decides; the controller reads `show stat`, applies the model and writes the Pod
// condition kHaproxyDrainedCondition (api/kinds/haproxy_annotations.h) that the node agent waits
// for (node/termination_gate.h).
//
// Adjust(): the model builder gives every terminating endpoint (serving, terminating) the state
// kDrain. The tracker turns each one's server into
//   kReady    (held) while its backend has endpoints that are not terminating but none of them is
//             UP in HAProxy yet (a rolling update's replacement not yet passing its check): a
//             drain now would leave the backend no server, and clients a 503. Without any
//             non-terminating endpoint (a scale to zero) nothing is held. With `stats` unknown a
//             server HAProxy still runs ready stays ready (no decision without knowledge). A hold
//             lasts drain_timeout at most, then the drain starts anyway.
//   kDrain    otherwise: state drain, no new requests;
//   kDrained  once the drain is in effect (the applied model, which HAProxy runs, has it draining,
//             so `stats` were read after the drain) and `stats` shows no current session on it,
//             or `drain_timeout` passed since the drain was first seen in effect. Then state
//             maint. Sticky for as long as the endpoint stays terminating. A terminating
//             endpoint HAProxy never ran is in MAINT already (runtime_plan.h): kDrained at once.
// It returns how soon to look again while a terminating server is held or draining (HAProxy is
// asked, the API is not), else 0.
//
// Conditions(): after an apply, which Pods get the condition:
//   False, reason Routed   a Pod, not terminating, without the condition whose server HAProxy
//                          runs ready: from now on its node agent waits for the drain.
//   True, reason Drained   a terminating Pod with the condition False none of whose servers (in
//                          any backend) is anything but kDrained, and none of whose earlier slots
//                          is still draining after its endpoint left (`leaving`, the applier's).
// A Pod never routed carries no condition, so its node agent waits for nothing.
//
// Thread-safety: not thread-safe; the controller's reconcile (one worker) owns it.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "controller/haproxy/haproxy_model.h"
#include "controller/haproxy/model_builder.h"
#include "controller/haproxy/runtime_client.h"

namespace capstan::controller::haproxy {

// One condition to write on a Pod's status.
struct PodConditionWrite {
  std::string namespace_, name, uid;
  bool drained = false;  // True (Drained) or False (Routed)
  std::string reason, message;
  bool operator==(const PodConditionWrite&) const = default;
};

class DrainTracker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DrainTracker(std::chrono::milliseconds drain_timeout = std::chrono::seconds(30))
      : drain_timeout_(drain_timeout) {}

  // True when `desired` has a terminating server: Adjust() wants `show stat` then.
  static bool NeedsStats(const HaproxyModel& desired);
  // See above. `stats` null: unknown (HAProxy did not answer, or not asked).
  std::chrono::milliseconds Adjust(HaproxyModel* desired, const HaproxyModel& applied,
                                   const std::vector<ServerStat>* stats, Clock::time_point now);
  // See above; `pods` are v1 Pods (the controller's cache), `applied` what HAProxy runs now.
  // A write that `pods` does not show yet but was made (Written) is not asked for again.
  std::vector<PodConditionWrite> Conditions(const HaproxyModel& applied,
                                            const std::set<std::pair<std::string, int>>& leaving,
                                            const ObjectList& pods);
  // The controller made `write` (the cache shows it later).
  void Written(const PodConditionWrite& write) { written_[write.uid] = write.drained; }

 private:
  const std::chrono::milliseconds drain_timeout_;
  std::map<std::string, Clock::time_point> drain_since_;  // server key -> drain first seen in effect
  std::map<std::string, Clock::time_point> hold_since_;   // server key -> first held ready (bounded)
  std::set<std::string> drained_;                         // server keys decided kDrained
  // Pod uid -> the slots (backend, slot) its servers had in the last applied model: a slot whose
  // endpoint left is drained by the applier (kLeave) and still counts until it is in maint.
  std::map<std::string, std::set<std::pair<std::string, int>>> pod_slots_;
  std::map<std::string, bool> written_;  // pod uid -> the Drained status last written
};

// The condition type on a Pod (nullptr when absent) in a v1 Pod.
const nlohmann::json* FindPodCondition(const nlohmann::json& pod, const std::string& type);

// Whether an event of this Pod can change what the controller does, so that it is worth a
// reconcile (each one looks at every Pod: with one per Pod event, 10,000 Pods coming up cost
// 10,000 scans). A Pod matters while it has an httpGet readinessProbe (the model's HTTP checks)
// or the Drained condition (the termination order: a Pod gets it False once a server routes to
// it, which an EndpointSlice event reconciles). An update matters when its labels change, when
// a Pod that matters starts terminating, or when its Drained condition changes (the controller's
// own write reaching the cache: a decision may have waited for it).
bool PodMatters(const nlohmann::json& pod);
bool PodUpdateMatters(const nlohmann::json& old_pod, const nlohmann::json& pod);

}  // namespace capstan::controller::haproxy
