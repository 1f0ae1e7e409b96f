#include "controller/nodelifecycle/taint_eviction.h"

#include <algorithm>

#include "api/kinds/printing.h"
#include "client/json_fields.h"
#include "controller/scheduler/predicates.h"

namespace capstan::controller::nodelifecycle {

using client::Field;
using client::StringField;

namespace {

const json& Taints(const json& node) {
  static const json kEmpty = json::array();
  const json& taints = Field(Field(node, "spec"), "taints");
  return taints.is_array() ? taints : kEmpty;
}

constexpr int64_t kMaxTolerationSeconds = int64_t{100} * 366 * 24 * 3600;

bool IsControllerKey(const std::string& key) {
  return key == scheduler::kTaintNotReady || key == scheduler::kTaintUnreachable;
}

}  // namespace

bool IsControllerTaint(const json& taint) {
  const std::string effect = StringField(taint, "effect");
  return IsControllerKey(StringField(taint, "key")) && (effect == kEffectNoSchedule || effect == kEffectNoExecute);
}

bool HasControllerNoExecuteTaint(const json& node) {
  const json& taints = Taints(node);
  return std::any_of(taints.begin(), taints.end(), [](const json& t) {
    return IsControllerTaint(t) && StringField(t, "effect") == kEffectNoExecute;
  });
}

bool HasNoExecuteTaint(const json& node) {
  const json& taints = Taints(node);
  return std::any_of(taints.begin(), taints.end(),
                     [](const json& t) { return StringField(t, "effect") == kEffectNoExecute; });
}

json DesiredTaints(const json& node, Readiness r, bool no_execute, const std::string& now) {
  // The controller's taints this node should carry, as (key, effect).
  std::vector<std::pair<std::string, std::string>> wanted;
  const char* key = nullptr;
  if (r == Readiness::kFalse || r == Readiness::kMissing) key = scheduler::kTaintNotReady;
  if (r == Readiness::kUnknown) key = scheduler::kTaintUnreachable;
  if (key != nullptr) {
    wanted.emplace_back(key, kEffectNoSchedule);
    if (no_execute && IsNotReady(r)) wanted.emplace_back(key, kEffectNoExecute);
  }
  json out = json::array();
  for (const json& t : Taints(node)) {
    if (!IsControllerTaint(t)) {
      out.push_back(t);  // the user's (or another controller's): kept as it is
      continue;
    }
    auto it = std::find(wanted.begin(), wanted.end(), std::make_pair(StringField(t, "key"), StringField(t, "effect")));
    if (it == wanted.end()) continue;  // ours, no longer wanted
    out.push_back(t);                  // ours and still wanted: keeps its timeAdded
    wanted.erase(it);
  }
  for (const auto& [k, effect] : wanted) {
    json t = {{"key", k}, {"effect", effect}};
    if (effect == kEffectNoExecute) t["timeAdded"] = now;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<PodToleration> PodTolerations(const json& pod) {
  std::vector<PodToleration> out;
  const json& tolerations = Field(Field(pod, "spec"), "tolerations");
  if (!tolerations.is_array()) return out;
  for (const json& t : tolerations) {
    PodToleration pt;
    pt.toleration = scheduler::Toleration{StringField(t, "key"), StringField(t, "operator"), StringField(t, "value"),
                                          StringField(t, "effect")};
    const json& seconds = Field(t, "tolerationSeconds");
    if (seconds.is_number_integer()) pt.seconds = seconds.get<int64_t>();
    out.push_back(std::move(pt));
  }
  return out;
}

std::vector<NoExecuteTaint> NoExecuteTaints(const json& node,
                                            const std::function<WallTime(const scheduler::Taint&)>& first_seen) {
  std::vector<NoExecuteTaint> out;
  for (const json& t : Taints(node)) {
    if (StringField(t, "effect") != kEffectNoExecute) continue;
    NoExecuteTaint n;
    n.taint = scheduler::Taint{StringField(t, "key"), StringField(t, "value"), kEffectNoExecute};
    n.controller = IsControllerTaint(t);
    std::optional<int64_t> added = api::kinds::ParseRfc3339(StringField(t, "timeAdded"));
    n.since = added ? WallTime(std::chrono::seconds(*added)) : first_seen(n.taint);
    out.push_back(std::move(n));
  }
  return out;
}

std::optional<WallTime> EvictionTime(const std::vector<PodToleration>& tolerations,
                                     const std::vector<NoExecuteTaint>& taints,
                                     std::chrono::milliseconds default_toleration) {
  std::optional<WallTime> earliest;
  auto consider = [&](WallTime t) {
    if (!earliest || t < *earliest) earliest = t;
  };
  for (const NoExecuteTaint& taint : taints) {
    const PodToleration* used = nullptr;
    for (const PodToleration& t : tolerations) {
      if (scheduler::ToleratesTaint(t.toleration, taint.taint)) {
        used = &t;
        break;
      }
    }
    if (used == nullptr) {
      // The admission default for the controller's taints; nothing for anyone else's.
      if (taint.controller) {
        consider(taint.since + std::max(default_toleration, std::chrono::milliseconds(0)));
      } else {
        consider(taint.since);
      }
      continue;
    }
    if (!used->seconds) continue;  // tolerated for ever
    // Clamped to [0, 100 years]: a huge tolerationSeconds must not overflow the time point.
    consider(taint.since + std::chrono::seconds(std::clamp<int64_t>(*used->seconds, 0, kMaxTolerationSeconds)));
  }
  return earliest;
}

}  // namespace capstan::controller::nodelifecycle
