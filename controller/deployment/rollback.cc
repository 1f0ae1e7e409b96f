#include "controller/deployment/rollback.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "controller/deployment/pod_template_hash.h"
#include "controller/replicaset/object_util.h"

namespace capstan::controller::deployment {

using replicaset::Annotation;
using replicaset::At;
using replicaset::Meta;
using replicaset::StringAt;

namespace {

std::optional<int64_t> Revision(const json& rs) {
  std::optional<std::string> v = Annotation(rs, kRevisionAnnotation);
  if (!v) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

Status RevisionNotFound(int64_t revision) {
  return Status::NotFound("unable to find specified revision " + std::to_string(revision) + " in history");
}

// The ReplicaSets kubectl considers: those the Deployment controls (or, without a uid to
// compare, all given).
std::vector<const json*> Owned(const json& deployment, const ObjectList& replicasets) {
  std::string uid = Meta(deployment, "uid");
  std::vector<const json*> out;
  for (const auto& p : replicasets) {
    if (p == nullptr) continue;
    if (!uid.empty() && !replicaset::IsControlledBy(*p, uid)) continue;
    out.push_back(p.get());
  }
  return out;
}

json WithoutHashLabel(json pod_template) {
  if (pod_template.contains("metadata") && pod_template["metadata"].is_object()) {
    json& meta = pod_template["metadata"];
    if (meta.contains("labels") && meta["labels"].is_object()) meta["labels"].erase(kPodTemplateHashLabel);
  }
  return pod_template;
}

}  // namespace

json RollbackPlan::JsonPatch() const {
  return json::array({json{{"op", "replace"}, {"path", "/spec/template"}, {"value", pod_template}},
                      json{{"op", "replace"}, {"path", "/metadata/annotations"}, {"value", annotations}}});
}

std::string RollbackPlan::Message() const {
  if (skipped) {
    return "skipped rollback (current template already matches revision " + std::to_string(revision) + ")";
  }
  return "rolled back";
}

Result<RollbackPlan> PlanRollback(const json& deployment, const ObjectList& replicasets, int64_t to_revision) {
  const json& paused = At(At(deployment, "spec"), "paused");
  if (paused.is_boolean() && paused.get<bool>()) {
    return Status::BadRequest(
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again");
  }
  if (to_revision < 0) return RevisionNotFound(to_revision);

  // kubectl's rsForRevision: the exact revision, or (for 0) the second highest one.
  const json* chosen = nullptr;
  int64_t chosen_revision = 0;
  const json* latest = nullptr;
  int64_t latest_revision = -1;
  const json* previous = nullptr;
  int64_t previous_revision = -1;
  for (const json* rs : Owned(deployment, replicasets)) {
    std::optional<int64_t> v = Revision(*rs);
    if (!v) continue;
    if (to_revision > 0) {
      if (*v == to_revision) {
        chosen = rs;
        chosen_revision = *v;
        break;
      }
      continue;
    }
    if (latest_revision < *v) {
      previous = latest;
      previous_revision = latest_revision;
      latest = rs;
      latest_revision = *v;
    } else if (previous_revision < *v) {
      previous = rs;
      previous_revision = *v;
    }
  }
  if (to_revision > 0 && chosen == nullptr) return RevisionNotFound(to_revision);
  if (to_revision == 0) {
    if (previous == nullptr) {
      return Status::NotFound("no rollout history found for deployment \"" + Meta(deployment, "name") + "\"");
    }
    chosen = previous;
    chosen_revision = previous_revision;
  }

  RollbackPlan plan;
  plan.revision = chosen_revision;
  plan.replicaset = Meta(*chosen, "name");
  const json& rs_template = At(At(*chosen, "spec"), "template");
  plan.skipped = EqualIgnoreHash(rs_template, At(At(deployment, "spec"), "template"));
  plan.pod_template = WithoutHashLabel(rs_template.is_object() ? rs_template : json::object());
  // The controller's own annotations stay as the Deployment has them; the user's come back from
  // the revision (its change-cause, for one).
  plan.annotations = json::object();
  const json& d_ann = At(At(deployment, "metadata"), "annotations");
  if (d_ann.is_object()) {
    for (auto it = d_ann.begin(); it != d_ann.end(); ++it) {
      if (SkipCopyAnnotation(it.key())) plan.annotations[it.key()] = *it;
    }
  }
  const json& rs_ann = At(At(*chosen, "metadata"), "annotations");
  if (rs_ann.is_object()) {
    for (auto it = rs_ann.begin(); it != rs_ann.end(); ++it) {
      if (!SkipCopyAnnotation(it.key())) plan.annotations[it.key()] = *it;
    }
  }
  return plan;
}

Result<json> RollbackTemplate(const json& deployment, const ObjectList& replicasets, int64_t to_revision) {
  Result<RollbackPlan> plan = PlanRollback(deployment, replicasets, to_revision);
  if (!plan.ok()) return plan.status();
  return std::move(plan->pod_template);
}

std::vector<RevisionInfo> RevisionHistory(const ObjectList& replicasets) {
  std::map<int64_t, RevisionInfo> by_revision;
  for (const auto& p : replicasets) {
    if (p == nullptr) continue;
    std::optional<int64_t> v = Revision(*p);
    if (!v) continue;
    RevisionInfo info;
    info.revision = *v;
    info.change_cause = Annotation(*p, kChangeCauseAnnotation).value_or("");
    info.replicaset = Meta(*p, "name");
    info.pod_template = At(At(*p, "spec"), "template");
    by_revision[*v] = std::move(info);
  }
  std::vector<RevisionInfo> out;
  for (auto& [rev, info] : by_revision) out.push_back(std::move(info));
  return out;
}

std::string FormatRevisionHistory(const std::vector<RevisionInfo>& history) {
  if (history.empty()) return "No rollout history found.\n";
  // text/tabwriter with padding 2, as kubectl's tabbedString.
  size_t width = std::string("REVISION").size();
  for (const auto& h : history) width = std::max(width, std::to_string(h.revision).size());
  auto row = [width](const std::string& a, const std::string& b) {
    return a + std::string(width + 2 - a.size(), ' ') + b + "\n";
  };
  std::string out = row("REVISION", "CHANGE-CAUSE");
  for (const auto& h : history) out += row(std::to_string(h.revision), h.change_cause.empty() ? "<none>" : h.change_cause);
  return out;
}

}  // namespace capstan::controller::deployment
