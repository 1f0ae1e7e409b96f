#include "controller/deployment/deployment_sync.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>

#include "api/selector/selector.h"
#include "controller/deployment/pod_template_hash.h"
#include "controller/replicaset/object_util.h"

namespace capstan::controller::deployment {

using replicaset::Annotation;
using replicaset::At;
using replicaset::IntAt;
using replicaset::Meta;
using replicaset::StringAt;

bool SkipCopyAnnotation(const std::string& key) {
  return key == kLastAppliedAnnotation || key == kRevisionAnnotation || key == kRevisionHistoryAnnotation ||
         key == kDesiredReplicasAnnotation || key == kMaxReplicasAnnotation ||
         key == "deprecated.deployment.rollback.to";
}

json ScaleAction::MergePatch() const {
  return json{{"metadata",
               {{"annotations",
                 {{kDesiredReplicasAnnotation, std::to_string(desired_replicas)},
                  {kMaxReplicasAnnotation, std::to_string(max_replicas)}}}}},
              {"spec", {{"replicas", replicas}}}};
}

namespace {

std::optional<int64_t> ParseInt(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || end != s->data() + s->size()) return std::nullopt;
  return v;
}

// One ReplicaSet during planning: the cached object (null for the one this plan creates) and the
// working values the plan changes.
struct Entry {
  std::shared_ptr<const json> obj;
  RsState st;
  std::string uid;
  bool deleting = false;
  int64_t generation = 0;
  int64_t observed_generation = 0;
};

class Planner {
 public:
  Planner(const json& d, TimePoint now) : d_(d), now_(now), params_(RolloutParams::From(d)) {
    const json& s = At(d, "status");
    ws_ = s.is_object() ? s : json::object();
  }

  Result<DeploymentPlan> Run(const ObjectList& replicasets, const ObjectList& pods);

 private:
  void Load(const ObjectList& replicasets);
  void SyncRevision();
  bool Create();  // false on a name collision (status written, nothing else to do)
  void Scale();
  void Rolling();
  void Recreate(const ObjectList& pods);
  void Cleanup();
  void ScaleTo(Entry* e, int32_t n, bool only_if_size_differs);
  void FinishStatus(bool rollout);

  std::vector<RsState*> States(const std::vector<Entry*>& es) const {
    std::vector<RsState*> out;
    for (Entry* e : es) out.push_back(&e->st);
    return out;
  }
  std::vector<Entry*> All() {
    std::vector<Entry*> all = old_;
    if (new_ != nullptr) all.push_back(new_);
    return all;
  }
  static std::vector<Entry*> Active(const std::vector<Entry*>& es) {
    std::vector<Entry*> out;
    for (Entry* e : es) {
      if (e->st.replicas > 0) out.push_back(e);
    }
    return out;
  }
  int32_t MaxReplicas() const { return params_.replicas + params_.max_surge; }
  bool Paused() const {
    const json& p = At(At(d_, "spec"), "paused");
    return p.is_boolean() && p.get<bool>();
  }

  const json& d_;
  const TimePoint now_;
  const RolloutParams params_;
  json ws_;  // the Deployment's status as this sync has updated it so far (conditions)
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<Entry*> old_;
  Entry* new_ = nullptr;
  int64_t max_old_revision_ = 0;
  bool collided_ = false;  // Create() found its name taken; the plan is that status alone
  std::map<std::string, size_t> scale_index_;  // name -> index in plan_.scales
  DeploymentPlan plan_;
};

void Planner::Load(const ObjectList& replicasets) {
  const std::string uid = Meta(d_, "uid");
  for (const auto& p : replicasets) {
    if (p == nullptr) continue;
    const json& rs = *p;
    const json* ref = replicaset::ControllerRef(rs);
    if (ref != nullptr && !uid.empty() && StringAt(*ref, "uid") != uid) continue;  // not ours
    auto e = std::make_unique<Entry>();
    e->obj = p;
    e->uid = Meta(rs, "uid");
    e->deleting = replicaset::IsDeleting(rs);
    e->generation = IntAt(At(rs, "metadata"), "generation");
    const json& status = At(rs, "status");
    e->observed_generation = IntAt(status, "observedGeneration");
    RsState& st = e->st;
    st.name = Meta(rs, "name");
    st.created = replicaset::CreationTime(rs).value_or(TimePoint());
    st.revision = ParseInt(Annotation(rs, kRevisionAnnotation)).value_or(0);
    st.replicas = replicaset::SpecReplicas(rs);
    st.status_replicas = static_cast<int32_t>(IntAt(status, "replicas"));
    st.ready = static_cast<int32_t>(IntAt(status, "readyReplicas"));
    st.available = static_cast<int32_t>(IntAt(status, "availableReplicas"));
    if (auto v = ParseInt(Annotation(rs, kMaxReplicasAnnotation))) st.max_replicas_annotation = static_cast<int32_t>(*v);
    if (auto v = ParseInt(Annotation(rs, kDesiredReplicasAnnotation))) {
      st.desired_replicas_annotation = static_cast<int32_t>(*v);
    }
    entries_.push_back(std::move(e));
  }
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) { return OlderFirst(&a->st, &b->st); });
  const json& tmpl = At(At(d_, "spec"), "template");
  for (auto& e : entries_) {
    if (new_ == nullptr && EqualIgnoreHash(At(At(*e->obj, "spec"), "template"), tmpl)) {
      new_ = e.get();
    } else {
      old_.push_back(e.get());
      max_old_revision_ = std::max(max_old_revision_, e->st.revision);
    }
  }
}

// The Deployment's annotations onto a ReplicaSet's; true when something changed.
bool CopyDeploymentAnnotations(const json& d, json& annotations) {
  bool changed = false;
  const json& from = At(At(d, "metadata"), "annotations");
  if (!from.is_object()) return false;
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (SkipCopyAnnotation(it.key()) || !it->is_string()) continue;
    if (annotations.contains(it.key()) && annotations[it.key()] == *it) continue;
    annotations[it.key()] = *it;
    changed = true;
  }
  return changed;
}

void Planner::SyncRevision() {
  if (new_ == nullptr) return;
  const int64_t new_revision = max_old_revision_ + 1;
  json rs = *new_->obj;
  json& meta = rs["metadata"];
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) meta["annotations"] = json::object();
  json& ann = meta["annotations"];
  bool changed = CopyDeploymentAnnotations(d_, ann);
  std::optional<std::string> old_revision = Annotation(*new_->obj, kRevisionAnnotation);
  if (new_->st.revision < new_revision) {
    ann[kRevisionAnnotation] = std::to_string(new_revision);
    new_->st.revision = new_revision;
    changed = true;
    // Becoming the new ReplicaSet again (a rollback): keep the revisions it had for history.
    if (old_revision && !old_revision->empty()) {
      std::string history = StringAt(ann, kRevisionHistoryAnnotation);
      ann[kRevisionHistoryAnnotation] = history.empty() ? *old_revision : history + "," + *old_revision;
    }
  }
  int64_t min_ready = IntAt(At(d_, "spec"), "minReadySeconds");
  if (IntAt(At(rs, "spec"), "minReadySeconds") != min_ready) {
    if (min_ready == 0) {
      rs["spec"].erase("minReadySeconds");
    } else {
      rs["spec"]["minReadySeconds"] = min_ready;
    }
    changed = true;
  }
  if (changed) plan_.update_replicaset = std::move(rs);

  std::string revision = std::to_string(new_->st.revision);
  if (Annotation(d_, kRevisionAnnotation) != revision) plan_.deployment_revision = revision;
  // Users who set a deadline on an existing Deployment: start measuring from now.
  if (HasProgressDeadline(d_) && replicaset::FindCondition(ws_, "Progressing") == nullptr) {
    SetDeploymentCondition(ws_, NewDeploymentCondition("Progressing", "True", kFoundNewRSReason,
                                                       "Found new replica set \"" + new_->st.name + "\"", now_));
  }
}

bool Planner::Create() {
  const json& spec = At(d_, "spec");
  const json& collisions = At(At(d_, "status"), "collisionCount");
  std::optional<int32_t> collision_count;
  if (collisions.is_number_integer()) collision_count = collisions.get<int32_t>();
  const std::string hash = ComputePodTemplateHash(At(spec, "template"), collision_count);
  const std::string name = Meta(d_, "name") + "-" + hash;
  for (auto& e : entries_) {
    if (e->st.name == name) {
      // Ours, but with another template (a hash collision): move to the next name.
      plan_.status = StatusAfterHashCollision(d_);
      collided_ = true;
      return false;
    }
  }

  json tmpl = At(spec, "template");
  tmpl["metadata"]["labels"][kPodTemplateHashLabel] = hash;
  json selector = At(spec, "selector");
  selector["matchLabels"][kPodTemplateHashLabel] = hash;

  auto e = std::make_unique<Entry>();
  e->st.name = name;
  e->st.created = now_;
  e->st.revision = max_old_revision_ + 1;
  new_ = e.get();
  entries_.push_back(std::move(e));
  new_->st.replicas = NewRSNewReplicas(params_, States(All()), new_->st);
  new_->st.desired_replicas_annotation = params_.replicas;
  new_->st.max_replicas_annotation = MaxReplicas();

  json annotations = json::object();
  CopyDeploymentAnnotations(d_, annotations);
  annotations[kRevisionAnnotation] = std::to_string(new_->st.revision);
  annotations[kDesiredReplicasAnnotation] = std::to_string(params_.replicas);
  annotations[kMaxReplicasAnnotation] = std::to_string(MaxReplicas());
  json meta = {{"name", name},
               {"labels", tmpl["metadata"]["labels"]},
               {"annotations", std::move(annotations)},
               {"ownerReferences", json::array({replicaset::NewControllerRef(d_, "apps/v1", "Deployment")})}};
  if (std::string ns = Meta(d_, "namespace"); !ns.empty()) meta["namespace"] = ns;
  json rs_spec = {{"replicas", new_->st.replicas}, {"selector", std::move(selector)}, {"template", std::move(tmpl)}};
  if (int64_t mrs = IntAt(spec, "minReadySeconds"); mrs != 0) rs_spec["minReadySeconds"] = mrs;
  plan_.create_replicaset =
      json{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"metadata", std::move(meta)}, {"spec", std::move(rs_spec)}};

  std::string revision = std::to_string(new_->st.revision);
  if (Annotation(d_, kRevisionAnnotation) != revision) plan_.deployment_revision = revision;
  if (HasProgressDeadline(d_)) {
    SetDeploymentCondition(ws_, NewDeploymentCondition("Progressing", "True", kNewReplicaSetReason,
                                                       "Created new replica set \"" + name + "\"", now_));
  }
  return true;
}

// scaleReplicaSetAndRecordEvent (only_if_size_differs) or scaleReplicaSet (also when only the
// annotations are stale). Repeated scales of one ReplicaSet coalesce into one action.
void Planner::ScaleTo(Entry* e, int32_t n, bool only_if_size_differs) {
  RsState& st = e->st;
  bool size = st.replicas != n;
  bool annotations = st.desired_replicas_annotation != params_.replicas || st.max_replicas_annotation != MaxReplicas();
  if (only_if_size_differs ? !size : !(size || annotations)) return;
  st.replicas = n;
  st.desired_replicas_annotation = params_.replicas;
  st.max_replicas_annotation = MaxReplicas();
  if (e->obj == nullptr) {  // created by this plan: create it at this size instead
    (*plan_.create_replicaset)["spec"]["replicas"] = n;
    return;
  }
  ScaleAction action{st.name, n, params_.replicas, MaxReplicas()};
  auto [it, inserted] = scale_index_.emplace(st.name, plan_.scales.size());
  if (inserted) {
    plan_.scales.push_back(std::move(action));
  } else {
    plan_.scales[it->second] = std::move(action);
  }
}

void Planner::Scale() {
  // FindActiveOrLatest: with one active ReplicaSet (or none: the newest), scale it directly.
  std::vector<Entry*> all = All();
  std::vector<Entry*> active = Active(all);
  Entry* target = nullptr;
  if (active.size() == 1) {
    target = active[0];
  } else if (active.empty() && !all.empty()) {
    if (new_ != nullptr) {
      target = new_;
    } else {
      target = *std::max_element(old_.begin(), old_.end(), [](Entry* a, Entry* b) { return OlderFirst(&a->st, &b->st); });
    }
  }
  if (target != nullptr) {
    ScaleTo(target, params_.replicas, true);
    return;
  }
  if (active.empty()) return;
  // IsSaturated: the new ReplicaSet alone already serves the full, available size.
  if (new_ != nullptr && new_->st.desired_replicas_annotation == params_.replicas &&
      new_->st.replicas == params_.replicas && new_->st.available == params_.replicas) {
    for (Entry* e : Active(old_)) ScaleTo(e, 0, true);
    return;
  }
  if (!params_.rolling) return;
  std::vector<int32_t> before;
  for (Entry* e : active) before.push_back(e->st.replicas);
  ScaleProportionally(params_, States(active));
  for (size_t i = 0; i < active.size(); ++i) {
    int32_t target_size = active[i]->st.replicas;
    active[i]->st.replicas = before[i];
    ScaleTo(active[i], target_size, false);
  }
}

void Planner::Rolling() {
  std::vector<Entry*> old_active = Active(old_);
  // reconcileNewReplicaSet: grow the new ReplicaSet as far as maxSurge allows (or shrink it to
  // spec.replicas); one step per sync.
  int32_t target = new_->st.replicas > params_.replicas ? params_.replicas
                                                          : NewRSNewReplicas(params_, States(All()), new_->st);
  if (target != new_->st.replicas) {
    ScaleTo(new_, target, true);
    return;
  }
  // reconcileOldReplicaSets.
  std::vector<int32_t> before;
  for (Entry* e : old_active) before.push_back(e->st.replicas);
  int32_t removed = ReconcileOldReplicaSets(params_, States(old_active), &new_->st);
  for (size_t i = 0; i < old_active.size(); ++i) {
    int32_t size = old_active[i]->st.replicas;
    old_active[i]->st.replicas = before[i];
    ScaleTo(old_active[i], size, true);
  }
  if (removed > 0) return;
  if (DeploymentComplete(d_, At(d_, "status"))) Cleanup();
}

void Planner::Recreate(const ObjectList& pods) {
  bool scaled = false;
  for (Entry* e : Active(old_)) {
    ScaleTo(e, 0, true);
    scaled = true;
  }
  if (scaled) return;
  // Wait for every old Pod to be gone: a terminating Pod may still be serving, and Recreate
  // promises the old and the new version never run at once.
  int32_t old_pods = 0;
  std::vector<std::string> old_uids;
  for (Entry* e : old_) {
    old_pods += e->st.status_replicas;
    old_uids.push_back(e->uid);
  }
  if (old_pods > 0) return;
  for (const auto& p : pods) {
    if (p == nullptr) continue;
    const json* ref = replicaset::ControllerRef(*p);
    if (ref == nullptr) continue;
    std::string owner = StringAt(*ref, "uid");
    if (owner.empty() || std::find(old_uids.begin(), old_uids.end(), owner) == old_uids.end()) continue;
    std::string phase = StringAt(At(*p, "status"), "phase");
    if (phase != "Failed" && phase != "Succeeded") return;
  }
  if (new_ == nullptr && !Create()) return;
  ScaleTo(new_, params_.replicas, true);
  if (DeploymentComplete(d_, At(d_, "status"))) Cleanup();
}

void Planner::Cleanup() {
  const json& limit_v = At(At(d_, "spec"), "revisionHistoryLimit");
  if (!limit_v.is_number_integer() || limit_v.get<int64_t>() == std::numeric_limits<int32_t>::max()) return;
  std::vector<Entry*> alive;
  for (Entry* e : old_) {
    if (!e->deleting) alive.push_back(e);
  }
  int64_t diff = static_cast<int64_t>(alive.size()) - limit_v.get<int64_t>();
  if (diff <= 0) return;
  std::sort(alive.begin(), alive.end(), [](Entry* a, Entry* b) { return LowerRevisionFirst(&a->st, &b->st); });
  for (int64_t i = 0; i < diff; ++i) {
    const Entry* e = alive[static_cast<size_t>(i)];
    // Only ReplicaSets that are empty and whose emptiness the ReplicaSet controller confirmed.
    if (e->st.status_replicas != 0 || e->st.replicas != 0 || e->generation > e->observed_generation) continue;
    plan_.delete_replicasets.push_back(e->st.name);
  }
}

void Planner::FinishStatus(bool rollout) {
  std::vector<RsState*> all = States(All());
  if (!rollout) {
    plan_.status = CalculateDeploymentStatus(d_, ws_, all, new_ ? &new_->st : nullptr, params_, now_);
    return;
  }
  std::vector<json> failures;
  auto collect = [&failures](const Entry* e) {
    if (e == nullptr || e->obj == nullptr) return;
    const json& conds = At(At(*e->obj, "status"), "conditions");
    if (!conds.is_array()) return;
    for (const json& c : conds) {
      if (StringAt(c, "type") == "ReplicaFailure") failures.push_back(c);
    }
  };
  collect(new_);
  if (failures.empty()) {
    for (Entry* e : All()) collect(e);
  }
  plan_.status = CalculateRolloutStatus(d_, ws_, all, new_ ? &new_->st : nullptr, new_ ? new_->st.name : "", params_,
                                        failures, now_);
  plan_.requeue_after = ProgressCheckAfter(d_, plan_.status, now_);
}

Result<DeploymentPlan> Planner::Run(const ObjectList& replicasets, const ObjectList& pods) {
  const json& spec = At(d_, "spec");
  Result<api::LabelSelector> selector = api::LabelSelector::FromObject(At(spec, "selector"));
  if (!selector.ok()) return selector.status().Annotate("deployment " + Meta(d_, "name"));
  std::string type = StringAt(At(spec, "strategy"), "type");
  if (!type.empty() && type != "RollingUpdate" && type != "Recreate") {
    return Status::Invalid("deployment " + Meta(d_, "name") + ": unexpected strategy type: " + type);
  }
  const json& old_status = At(d_, "status");
  const json old = old_status.is_object() ? old_status : json::object();
  if (selector->Empty()) {
    // Selecting every Pod is never what the user meant; only record that the spec was seen.
    plan_.status = old;
    int64_t generation = IntAt(At(d_, "metadata"), "generation");
    if (IntAt(old, "observedGeneration") < generation) plan_.status["observedGeneration"] = generation;
    plan_.status_changed = plan_.status != old;
    return std::move(plan_);
  }

  Load(replicasets);
  if (replicaset::IsDeleting(d_)) {
    SyncRevision();
    FinishStatus(false);
  } else {
    CheckPausedConditions(d_, ws_, now_);
    SyncRevision();
    bool scaling_event = false;
    for (Entry* e : Active(All())) {
      if (e->st.desired_replicas_annotation && *e->st.desired_replicas_annotation != params_.replicas) {
        scaling_event = true;
      }
    }
    if (Paused() || scaling_event) {
      Scale();
      if (Paused()) Cleanup();
      FinishStatus(false);
    } else {
      if (params_.rolling) {
        if (new_ != nullptr || Create()) Rolling();
      } else {
        Recreate(pods);
      }
      if (!collided_) FinishStatus(true);
    }
  }
  plan_.status_changed = plan_.status != old;
  return std::move(plan_);
}

}  // namespace

Result<DeploymentPlan> PlanDeployment(const json& deployment, const ObjectList& replicasets, const ObjectList& pods,
                                      TimePoint now) {
  // The cache holds whatever the API accepted; a field of an unexpected type must not throw
  // through the controller (nlohmann throws on, say, labels that are a string).
  try {
    Planner planner(deployment, now);
    return planner.Run(replicasets, pods);
  } catch (const json::exception& e) {
    return Status::Invalid("deployment " + Meta(deployment, "name") + ": malformed object: " + e.what());
  }
}

bool ReadsPods(const json& deployment) {
  return StringAt(At(At(deployment, "spec"), "strategy"), "type") == "Recreate";
}

bool IsNewReplicaSetOf(const json& deployment, const json& rs) {
  return replicaset::IsControlledBy(rs, Meta(deployment, "uid")) &&
         EqualIgnoreHash(At(At(rs, "spec"), "template"), At(At(deployment, "spec"), "template"));
}

json StatusAfterHashCollision(const json& deployment) {
  const json& s = At(deployment, "status");
  json status = s.is_object() ? s : json::object();
  status["collisionCount"] = IntAt(status, "collisionCount") + 1;
  return status;
}

json StatusAfterCreateFailure(const json& deployment, const std::string& rs_name, const std::string& error,
                              TimePoint now) {
  const json& s = At(deployment, "status");
  json status = s.is_object() ? s : json::object();
  if (HasProgressDeadline(deployment)) {
    SetDeploymentCondition(status, NewDeploymentCondition("Progressing", "False", kFailedRSCreateReason,
                                                          "Failed to create new replica set \"" + rs_name +
                                                              "\": " + error,
                                                          now));
  }
  return status;
}

}  // namespace capstan::controller::deployment
