// GitOpsController's Syncs (gitops_controller.h): when a Sync runs, the no-op check between runs,
// the drift report without selfHeal, and the status a run leaves.
#include <algorithm>

#include "base/log.h"
#include "client/json_fields.h"
#include "controller/gitops/gitops_controller.h"
#include "controller/gitops/live_state.h"
#include "controller/gitops/prune.h"
#include "controller/gitops/status_fields.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;
using namespace std::chrono_literals;

constexpr size_t kHistory = 5;

void ReadInventory(const json& status, std::vector<ObjectRef>* refs, ResourceVersions* versions) {
  for (const json& e : Field(Field(status, "inventory"), "entries")) {
    ObjectRef ref = ObjectRef::FromJson(e);
    if (std::string rv = StringField(e, "resourceVersion"); !rv.empty()) (*versions)[ref] = rv;
    refs->push_back(std::move(ref));
  }
}

json InventoryJson(const std::vector<ObjectRef>& refs, const ResourceVersions& versions) {
  json entries = json::array();
  for (const ObjectRef& r : refs) {
    json e = r.ToJson();
    if (auto it = versions.find(r); it != versions.end() && !it->second.empty()) e["resourceVersion"] = it->second;
    entries.push_back(std::move(e));
  }
  return {{"entries", entries}};
}

int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

ReconcileResult GitOpsController::ReconcileSync(const std::string& ns_name) {
  const std::string key = kSyncPrefix + ns_name;
  client::ObjectPtr sync = syncs_->Get(ns_name);
  if (sync == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    states_.erase(key);
    return ReconcileResult::Done();  // gone: its finalizer (prune: true) has run, or it had none
  }
  if (!StringField(Field(*sync, "metadata"), "deletionTimestamp").empty()) return FinalizeSync(*sync, key);
  if (Status st = KeepFinalizer(*sync, BoolField(Field(*sync, "spec"), "prune")); !st.ok()) {
    return st.IsNotFound() ? ReconcileResult::Done() : ReconcileResult::Retry(st);
  }
  const std::string ns = ns_name.substr(0, ns_name.find('/'));
  const std::string name = ns_name.substr(ns_name.find('/') + 1);
  const std::string path = GitOpsObjectPath("syncs", ns_name);
  const json& spec = Field(*sync, "spec");
  const json& status = Field(*sync, "status");
  const int64_t generation = client::IntField(Field(*sync, "metadata"), "generation");
  const auto interval = DurationField(spec, "interval", 300s);
  const std::string requested = AnnotationOf(*sync, kRequestedAtAnnotation);
  json conditions = Field(status, "conditions");
  const json* ready = ReadyCondition(*sync);

  // A condition-only status write, skipped when nothing would change.
  auto set_ready = [&](bool ok, const std::string& reason, const std::string& message) -> Status {
    if (ready != nullptr && StringField(*ready, "reason") == reason && StringField(*ready, "message") == message &&
        StringField(*ready, "status") == (ok ? "True" : "False")) {
      return Status::Ok();
    }
    json next = {{"conditions", SetCondition(conditions, "Ready", ok, reason, message, generation)}};
    return PatchStatus(path, next);
  };

  if (BoolField(spec, "suspend")) {
    Status st = set_ready(false, "Suspended", "reconciliation is suspended");
    return st.ok() || st.IsNotFound() ? ReconcileResult::Done() : ReconcileResult::Retry(st);
  }
  for (const json& dep : Field(spec, "dependsOn")) {
    std::string dep_ns = StringField(dep, "namespace").empty() ? ns : StringField(dep, "namespace");
    client::ObjectPtr other = syncs_->Get(dep_ns + "/" + StringField(dep, "name"));
    const json* dep_ready = other != nullptr ? ReadyCondition(*other) : nullptr;
    if (dep_ready == nullptr || StringField(*dep_ready, "status") != "True") {
      Status st = set_ready(false, "DependencyNotReady", "dependency " + dep_ns + "/" + StringField(dep, "name") + " is not ready");
      if (!st.ok() && !st.IsNotFound()) return ReconcileResult::Retry(st);
      return ReconcileResult::RequeueAfter(std::min<std::chrono::milliseconds>(interval, 10s));
    }
  }
  const json& source_ref = Field(spec, "sourceRef");
  const std::string source_key =
      (StringField(source_ref, "namespace").empty() ? ns : StringField(source_ref, "namespace")) + "/" +
      StringField(source_ref, "name");
  client::ObjectPtr repo = repositories_->Get(source_key);
  const std::string revision = repo != nullptr ? StringField(Field(Field(*repo, "status"), "artifact"), "revision") : "";
  if (revision.empty()) {
    Status st = set_ready(false, "SourceNotReady", "GitRepository " + source_key + " has no fetched revision yet");
    if (!st.ok() && !st.IsNotFound()) return ReconcileResult::Retry(st);
    return ReconcileResult::Done();  // the repository's status update enqueues this Sync again
  }

  KeyState state = State(key);
  const auto now = std::chrono::steady_clock::now();
  const bool self_heal = BoolField(spec, "selfHeal");
  const bool news = revision != StringField(status, "lastAttemptedRevision") ||
                    client::IntField(status, "observedGeneration") != generation;
  const bool asked = !requested.empty() && requested != StringField(status, "lastHandledReconcileAt");
  const bool failed_before = ready != nullptr && StringField(*ready, "status") != "True";
  // Settled: the last run applied this very revision and spec, and succeeded.
  const bool settled = !news && !failed_before && ready != nullptr && StringField(*ready, "reason") == "Succeeded" &&
                       StringField(status, "lastAppliedRevision") == revision;
  // A restart (no run remembered) runs at once, except that a settled Sync is only at its interval:
  // without selfHeal a restart must report drift, not revert it.
  const bool changed = news || asked || (state.last_run == std::chrono::steady_clock::time_point{} && !settled);
  std::vector<ObjectRef> inventory;
  ResourceVersions versions;
  ReadInventory(status, &inventory, &versions);
  if (!changed && state.health_deadline != std::chrono::steady_clock::time_point{}) {
    Result<std::string> unhealthy = FirstUnhealthy(*ctx_.api, inventory);
    if (!unhealthy.ok()) return ReconcileResult::Retry(unhealthy.status());
    Status st;
    ReconcileResult next = ReconcileResult::RequeueAfter(1s);
    if (unhealthy->empty()) {
      state.health_deadline = {};
      st = set_ready(true, "Succeeded", "Applied revision " + revision + "; all workloads are healthy");
      next = ReconcileResult::RequeueAfter(interval);
    } else if (now >= state.health_deadline) {
      state.health_deadline = {};
      ++state.failures;
      st = set_ready(false, "HealthCheckFailed", "timed out waiting for " + *unhealthy);
      events_->Event(*sync, "Warning", "HealthCheckFailed", revision + ": timed out waiting for " + *unhealthy);
      next = ReconcileResult::RequeueAfter(Backoff(key, interval));
    } else {
      st = set_ready(false, "Progressing", "Applied revision " + revision + "; waiting for " + *unhealthy);
    }
    state.last_run = now;
    SetState(key, state);
    if (!st.ok() && !st.IsNotFound()) return ReconcileResult::Retry(st);
    return next;
  }
  const auto wait = failed_before ? Backoff(key, interval) : interval;
  const bool interval_passed = now - state.last_run >= wait;
  if (!changed && !interval_passed) {
    return ReconcileResult::RequeueAfter(std::chrono::duration_cast<std::chrono::milliseconds>(wait - (now - state.last_run)));
  }
  const std::string owner = SyncLabelValue(ns, name);

  // Settled, and no object moved since (one list per kind and namespace): nothing to read from
  // git, to compare or to apply. The interval, a restart and a requested run at the same revision
  // all end here.
  if (settled) {
    const auto started = std::chrono::steady_clock::now();
    Result<std::vector<ObjectRef>> moved = MovedSinceSeen(*ctx_.api, owner, inventory, versions);
    if (moved.ok() && moved->empty()) {
      const int64_t took = MillisSince(started);
      log::Info("gitops sync checked: nothing moved",
                {{"sync", ns_name}, {"objects", std::to_string(inventory.size())}, {"took_ms", std::to_string(took)}});
      if (asked) {
        SyncOutcome outcome;
        outcome.ok = true;
        outcome.reason = "Succeeded";
        outcome.unchanged = static_cast<int>(inventory.size());
        outcome.message = "Applied: 0 created, 0 configured, " + std::to_string(outcome.unchanged) + " unchanged, 0 pruned";
        outcome.inventory = inventory;
        outcome.versions = versions;
        return RecordRun(*sync, revision, outcome, took, state);
      }
      state.last_run = now;
      SetState(key, state);
      return ReconcileResult::RequeueAfter(interval);
    }
  }

  Result<std::shared_ptr<GitSource>> source = SourceFor(source_key);
  if (!source.ok()) return ReconcileResult::Retry(source.status());
  SyncRequest request;
  request.sync_namespace = ns;
  request.sync_name = name;
  request.target_namespace = StringField(spec, "targetNamespace");
  request.prune = BoolField(spec, "prune");
  request.allow_empty = BoolField(spec, "allowEmpty");
  request.previous_inventory = inventory;
  request.previous_versions = versions;
  Result<std::vector<ManifestFile>> files = (*source)->ReadManifests(CommitOf(revision), StringField(spec, "path"));

  // The interval without selfHeal and without news: only look for drift, and report it.
  if (!changed && !failed_before && !self_heal) {
    state.last_run = now;
    SetState(key, state);
    if (!files.ok()) return ReconcileResult::RequeueAfter(interval);
    request.files = std::move(*files);
    std::vector<DesiredObject> objects;
    SyncOutcome failure;
    if (!BuildObjects(*ctx_.api, request, &objects, &failure)) return ReconcileResult::RequeueAfter(interval);
    ResourceVersions seen = versions;
    Result<std::vector<Drift>> drift = DetectDrift(*ctx_.api, owner, objects, &seen);
    if (!drift.ok()) return ReconcileResult::RequeueAfter(interval);
    json entries = json::array();
    for (const Drift& d : *drift) {
      json e = d.ref.ToJson();
      e["patch"] = d.patch;
      entries.push_back(std::move(e));
    }
    json next = json::object();
    if (entries != Field(status, "drift") && !(entries.empty() && Field(status, "drift").is_null())) {
      if (!entries.empty()) {
        events_->Event(*sync, "Warning", "DriftDetected",
                       std::to_string(entries.size()) + " object(s) differ from " + revision + ", first " +
                           (*drift)[0].ref.Display() + ": " + (*drift)[0].patch);
      }
      next["drift"] = entries;
    }
    // Objects found in sync at a new resourceVersion (a controller wrote them): recorded, so the
    // next check of them is a list again.
    if (seen != versions) next["inventory"] = InventoryJson(inventory, seen);
    if (!next.empty()) (void)PatchStatus(path, next);
    return ReconcileResult::RequeueAfter(interval);
  }

  const auto started = std::chrono::steady_clock::now();
  SyncOutcome outcome;
  if (!files.ok()) {
    outcome.reason = "BuildFailed";
    outcome.message = files.status().message();
    outcome.inventory = request.previous_inventory;
    outcome.versions = request.previous_versions;
  } else {
    request.files = std::move(*files);
    outcome = RunSync(*ctx_.api, request);
  }
  return RecordRun(*sync, revision, outcome, MillisSince(started), state);
}

Status GitOpsController::KeepFinalizer(const json& sync, bool wanted) {
  json finalizers = json::array();
  bool has = false;
  for (const json& f : Field(Field(sync, "metadata"), "finalizers")) {
    if (f == kPruneFinalizer) has = true;
    else finalizers.push_back(f);
  }
  if (has == wanted) return Status::Ok();
  if (wanted) finalizers.push_back(kPruneFinalizer);
  // The resourceVersion makes it a compare-and-swap: finalizers another client set meanwhile survive.
  json patch = {{"metadata", {{"finalizers", finalizers},
                              {"resourceVersion", StringField(Field(sync, "metadata"), "resourceVersion")}}}};
  Result<json> patched = ctx_.api->Patch(GitOpsObjectPath("syncs", client::ObjectKey(sync)), client::PatchType::kMerge, patch);
  return patched.ok() ? Status::Ok() : patched.status();
}

ReconcileResult GitOpsController::FinalizeSync(const json& sync, const std::string& key) {
  constexpr int kAttempts = 5;
  bool has = false;
  for (const json& f : Field(Field(sync, "metadata"), "finalizers")) has = has || f == kPruneFinalizer;
  if (!has) return ReconcileResult::Done();
  const std::string ns_name = client::ObjectKey(sync);
  const json& spec = Field(sync, "spec");
  std::vector<ObjectRef> inventory;
  ResourceVersions versions;
  ReadInventory(Field(sync, "status"), &inventory, &versions);
  std::string message;
  if (BoolField(spec, "suspend")) {
    message = "suspended: left the " + std::to_string(inventory.size()) + " object(s) it applied";
  } else if (!inventory.empty()) {
    client::Discovery discovery(ctx_.api);
    PruneResult pruned = PruneObjects(*ctx_.api, discovery, SyncLabelValue(ns_name.substr(0, ns_name.find('/')),
                                                                            ns_name.substr(ns_name.find('/') + 1)),
                                      inventory, {}, 500);
    message = "deleted with prune: pruned " + std::to_string(pruned.pruned) + " of " + std::to_string(inventory.size()) +
              " object(s)";
    for (const ObjectRef& k : pruned.kept_namespaces) message += "; kept " + k.Display() + " (it holds objects this Sync does not manage)";
    if (!pruned.errors.empty() || !pruned.changed.empty()) {
      KeyState state = State(key);
      ++state.prune_attempts;
      SetState(key, state);
      const std::string problem = !pruned.errors.empty() ? pruned.errors.front()
                                                         : pruned.changed.front().Display() + " kept changing while checked";
      if (state.prune_attempts < kAttempts) {
        events_->Event(sync, "Warning", "PruneFailed", "deleting the Sync: " + problem + " (retrying)");
        return ReconcileResult::RequeueAfter(BackoffAfter(state.prune_attempts, 30s));
      }
      message += "; gave up on the rest after " + std::to_string(kAttempts) + " attempts: " + problem;
    }
  }
  if (Status st = KeepFinalizer(sync, false); !st.ok() && !st.IsNotFound()) return ReconcileResult::Retry(st);
  events_->Event(sync, "Normal", "Finalized", message.empty() ? "deleted with prune: nothing to prune" : message);
  log::Info("gitops sync deleted", {{"sync", ns_name}, {"result", message}});
  return ReconcileResult::Done();
}

ReconcileResult GitOpsController::RecordRun(const json& sync, const std::string& revision, const SyncOutcome& outcome,
                                            int64_t took_ms, KeyState state) {
  const std::string ns_name = client::ObjectKey(sync);
  const std::string key = kSyncPrefix + ns_name;
  const std::string path = GitOpsObjectPath("syncs", ns_name);
  const json& spec = Field(sync, "spec");
  const json& status = Field(sync, "status");
  const int64_t generation = client::IntField(Field(sync, "metadata"), "generation");
  const auto interval = DurationField(spec, "interval", 300s);
  const std::string requested = AnnotationOf(sync, kRequestedAtAnnotation);
  const json* ready = ReadyCondition(sync);
  const bool failed_before = ready != nullptr && StringField(*ready, "status") != "True";

  json next = json::object();
  next["observedGeneration"] = generation;
  next["lastAttemptedRevision"] = revision;
  if (!requested.empty()) next["lastHandledReconcileAt"] = requested;
  if (outcome.ok || outcome.reason == "PruneFailed") next["lastAppliedRevision"] = revision;
  next["inventory"] = InventoryJson(outcome.inventory, outcome.versions);
  json history = json::array({{{"revision", revision}, {"reason", outcome.reason}, {"message", outcome.message},
                               {"time", NowRfc3339()}, {"durationMilliseconds", took_ms}}});
  for (const json& h : Field(status, "history")) {
    if (history.size() < kHistory) history.push_back(h);
  }
  next["history"] = history;
  if (outcome.ok) next["drift"] = json::array();
  const bool wait_health = outcome.ok && BoolField(spec, "wait");
  next["conditions"] =
      wait_health ? SetCondition(Field(status, "conditions"), "Ready", false, "Progressing",
                                 "Applied revision " + revision + "; waiting for the workloads to be healthy", generation)
                  : SetCondition(Field(status, "conditions"), "Ready", outcome.ok, outcome.reason, outcome.message, generation);
  state.last_run = std::chrono::steady_clock::now();
  state.failures = outcome.ok ? 0 : state.failures + 1;
  state.health_deadline = wait_health ? state.last_run + DurationField(spec, "timeout", 300s) : std::chrono::steady_clock::time_point{};
  SetState(key, state);
  if (Status st = PatchStatus(path, next); !st.ok() && !st.IsNotFound()) return ReconcileResult::Retry(st);

  const bool news = revision != StringField(status, "lastAttemptedRevision") || !failed_before != outcome.ok;
  if (!outcome.ok) {
    if (news) events_->Event(sync, "Warning", outcome.reason, revision + ": " + outcome.message);
    log::Warn("gitops sync failed", {{"sync", ns_name}, {"revision", revision}, {"reason", outcome.reason},
                                     {"error", outcome.message}});
    return ReconcileResult::RequeueAfter(Backoff(key, interval));
  }
  if (news) events_->Event(sync, "Normal", "ReconciliationSucceeded", revision + ": " + outcome.message);
  return ReconcileResult::RequeueAfter(wait_health ? 500ms : interval);
}

}  // namespace capstan::controller::gitops
