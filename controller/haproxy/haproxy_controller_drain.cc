// The termination order's I/O for HaproxyController (the decisions are DrainTracker's): `show
// stat` when a terminating server needs a decision, and the Pods' Drained conditions, written as
// strategic merge patches of pods/<name>/status keyed by condition type, so the node agent's own
// conditions (Ready, ...) are never touched, with the Pod's uid as a precondition.
#include <nlohmann/json.hpp>

#include "api/kinds/haproxy_annotations.h"
#include "base/log.h"
#include "client/json_fields.h"
#include "controller/haproxy/haproxy_controller.h"

namespace capstan::controller::haproxy {

std::chrono::milliseconds HaproxyController::AdjustDrains(HaproxyModel* model) {
  const auto now = std::chrono::steady_clock::now();
  if (!DrainTracker::NeedsStats(*model)) return drains_.Adjust(model, applier_->applied(), nullptr, now);
  auto stats = applier_->WorkerStats();
  if (!stats.ok()) log::Debug("haproxy: show stat failed; drains wait", {{"error", stats.status().ToString()}});
  return drains_.Adjust(model, applier_->applied(), stats.ok() ? &*stats : nullptr, now);
}

std::chrono::milliseconds HaproxyController::ReportDrains() {
  bool failed = false;
  ObjectList pods;
  if (drains_.NeedsAllPods()) {
    pods = pods_->List();
  } else {
    for (const std::string& key : drains_.PodsToExamine(applier_->applied())) {
      if (auto pod = pods_->Get(key)) pods.push_back(std::move(pod));
    }
  }
  for (const PodConditionWrite& w : drains_.Conditions(applier_->applied(), applier_->leaving(), pods)) {
    nlohmann::json condition = {{"type", api::kinds::kHaproxyDrainedCondition},
                                {"status", w.drained ? "True" : "False"},
                                {"reason", w.reason},
                                {"message", w.message},
                                {"lastTransitionTime", client::FormatRfc3339(std::chrono::system_clock::now())}};
    nlohmann::json patch = {{"metadata", {{"uid", w.uid}}},
                            {"status", {{"conditions", nlohmann::json::array({condition})}}}};
    const std::string path = "/api/v1/namespaces/" + w.namespace_ + "/pods/" + w.name + "/status";
    auto r = api_->Patch(path, client::PatchType::kStrategic, patch);
    if (r.ok() || r.status().IsNotFound() || r.status().IsConflict()) {  // gone or replaced: nothing waits
      drains_.Written(w);
      continue;
    }
    failed = true;
    log::Warn("haproxy: cannot set the Pod's drain condition", {{"pod", path}, {"error", r.status().ToString()}});
  }
  return failed ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(0);
}

}  // namespace capstan::controller::haproxy
