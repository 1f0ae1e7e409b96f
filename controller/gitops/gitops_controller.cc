#include "controller/gitops/gitops_controller.h"

#include <algorithm>

#include "base/base64.h"
#include "base/duration.h"
#include "base/log.h"
#include "client/json_fields.h"
#include "controller/gitops/sync_engine.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;
using namespace std::chrono_literals;

constexpr char kGroupVersion[] = "/apis/gitops.capstan.io/v1alpha1";
constexpr char kRepoPrefix[] = "GitRepository/";
constexpr char kSyncPrefix[] = "Sync/";
constexpr size_t kHistory = 5;

std::string ObjectPathOf(const char* plural, const std::string& ns_name) {
  size_t slash = ns_name.find('/');
  return std::string(kGroupVersion) + "/namespaces/" + ns_name.substr(0, slash) + "/" + plural + "/" +
         ns_name.substr(slash + 1);
}

std::string Now() { return client::FormatRfc3339(std::chrono::system_clock::now()); }

std::chrono::milliseconds DurationField(const json& spec, const char* field, std::chrono::milliseconds fallback) {
  auto d = ParseDuration(StringField(spec, field));
  return d && d->count() > 0 ? *d : fallback;
}

// `conditions` with `type` set; lastTransitionTime moves only when the status does.
json SetCondition(json conditions, const std::string& type, bool status, const std::string& reason,
                  const std::string& message, int64_t generation) {
  if (!conditions.is_array()) conditions = json::array();
  std::string value = status ? "True" : "False";
  for (json& c : conditions) {
    if (StringField(c, "type") != type) continue;
    if (StringField(c, "status") != value) c["lastTransitionTime"] = Now();
    c["status"] = value;
    c["reason"] = reason;
    c["message"] = message;
    c["observedGeneration"] = generation;
    return conditions;
  }
  conditions.push_back({{"type", type}, {"status", value}, {"reason", reason}, {"message", message},
                        {"lastTransitionTime", Now()}, {"observedGeneration", generation}});
  return conditions;
}

json RemoveCondition(json conditions, const std::string& type) {
  if (!conditions.is_array()) return json::array();
  json out = json::array();
  for (json& c : conditions) {
    if (StringField(c, "type") != type) out.push_back(std::move(c));
  }
  return out;
}

const json* ReadyCondition(const json& obj) {
  for (const json& c : Field(Field(obj, "status"), "conditions")) {
    if (StringField(c, "type") == "Ready") return &c;
  }
  return nullptr;
}

std::string CommitOf(const std::string& revision) {
  size_t at = revision.rfind("sha1:");
  return at == std::string::npos ? "" : revision.substr(at + 5);
}

std::string Annotation(const json& obj, const char* key) {
  return StringField(Field(Field(obj, "metadata"), "annotations"), key);
}

}  // namespace

GitOpsController::GitOpsController(GitOpsControllerOptions options)
    : QueuedController("gitops", options.workers), options_(std::move(options)) {}

GitOpsController::~GitOpsController() { Stop(); }

void GitOpsController::Stop() {
  QueuedController::Stop();
  if (events_) events_->Stop();
}

Status GitOpsController::Setup(const ControllerContext& ctx) {
  ctx_ = ctx;
  InitQueue(ctx);
  events_ = std::make_unique<client::EventRecorder>(ctx.api, "gitops-controller");
  repositories_ = ctx.informers->ForResource(std::string(kGroupVersion) + "/gitrepositories");
  syncs_ = ctx.informers->ForResource(std::string(kGroupVersion) + "/syncs");
  client::ResourceEventHandler repo_events;
  repo_events.on_add = [this](const client::ObjectPtr& o) { queue().Add(kRepoPrefix + client::ObjectKey(*o)); };
  repo_events.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
    queue().Add(kRepoPrefix + client::ObjectKey(*o));
    EnqueueDependents(*o, true);
  };
  repo_events.on_delete = [this](const client::ObjectPtr& o) { queue().Add(kRepoPrefix + client::ObjectKey(*o)); };
  CAPSTAN_RETURN_IF_ERROR(repositories_->AddEventHandler(std::move(repo_events)));
  client::ResourceEventHandler sync_events;
  sync_events.on_add = [this](const client::ObjectPtr& o) { queue().Add(kSyncPrefix + client::ObjectKey(*o)); };
  sync_events.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
    queue().Add(kSyncPrefix + client::ObjectKey(*o));
    EnqueueDependents(*o, false);
  };
  CAPSTAN_RETURN_IF_ERROR(syncs_->AddEventHandler(std::move(sync_events)));
  return Status::Ok();
}

void GitOpsController::EnqueueDependents(const json& obj, bool is_repository) {
  const json& meta = Field(obj, "metadata");
  const std::string ns = StringField(meta, "namespace");
  const std::string name = StringField(meta, "name");
  for (const client::ObjectPtr& sync : syncs_->List()) {
    const json& spec = Field(*sync, "spec");
    const std::string own_ns = StringField(Field(*sync, "metadata"), "namespace");
    bool hit = false;
    if (is_repository) {
      const json& ref = Field(spec, "sourceRef");
      std::string ref_ns = StringField(ref, "namespace");
      hit = StringField(ref, "name") == name && (ref_ns.empty() ? own_ns : ref_ns) == ns;
    } else {
      for (const json& dep : Field(spec, "dependsOn")) {
        std::string dep_ns = StringField(dep, "namespace");
        hit = hit || (StringField(dep, "name") == name && (dep_ns.empty() ? own_ns : dep_ns) == ns);
      }
    }
    if (hit) queue().Add(kSyncPrefix + client::ObjectKey(*sync));
  }
}

ReconcileResult GitOpsController::Reconcile(const std::string& key) {
  if (key.starts_with(kRepoPrefix)) return ReconcileRepository(key.substr(sizeof(kRepoPrefix) - 1));
  if (key.starts_with(kSyncPrefix)) return ReconcileSync(key.substr(sizeof(kSyncPrefix) - 1));
  return ReconcileResult::Terminal(Status::BadRequest("unknown key " + key));
}

GitOpsController::KeyState GitOpsController::State(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return states_[key];
}

void GitOpsController::SetState(const std::string& key, KeyState state) {
  std::lock_guard<std::mutex> lock(mu_);
  states_[key] = state;
}

std::chrono::milliseconds GitOpsController::Backoff(const std::string& key, std::chrono::milliseconds cap) {
  KeyState s = State(key);
  std::chrono::milliseconds delay = 1000ms * (1LL << std::min(s.failures, 20));
  return std::clamp(delay, 200ms, std::max(cap, 200ms));
}

Result<std::shared_ptr<GitSource>> GitOpsController::SourceFor(const std::string& ns_name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = sources_.find(ns_name); it != sources_.end()) return it->second;
  Result<std::unique_ptr<GitSource>> opened = GitSource::Open(options_.data_dir + "/gitops/" + ns_name);
  if (!opened.ok()) return opened.status();
  std::shared_ptr<GitSource> source = std::move(*opened);
  sources_[ns_name] = source;
  return source;
}

Status GitOpsController::PatchStatus(const std::string& path, const json& status) {
  Result<json> patched = ctx_.api->Patch(path + "/status", client::PatchType::kMerge, json{{"status", status}});
  return patched.ok() ? Status::Ok() : patched.status();
}

Result<GitRevision> GitOpsController::FetchWithCredentials(const std::string& ns_name, const json& spec,
                                                          FetchRequest* request) {
  if (std::string secret = StringField(Field(spec, "secretRef"), "name"); !secret.empty()) {
    Result<json> s = ctx_.api->Get("/api/v1/namespaces/" + ns_name.substr(0, ns_name.find('/')) + "/secrets/" + secret);
    if (!s.ok()) return Status::Invalid("cannot read secretRef \"" + secret + "\": " + s.status().message());
    // username + password (basic auth), or a token alone (sent as the password).
    const json& data = Field(*s, "data");
    request->credentials.username = Base64Decode(StringField(data, "username")).value_or("");
    request->credentials.password = Base64Decode(StringField(data, "password")).value_or("");
    if (request->credentials.password.empty()) {
      request->credentials.password = Base64Decode(StringField(data, "token")).value_or("");
    }
    request->credentials.ca_pem = Base64Decode(StringField(data, "ca.crt")).value_or("");
  }
  Result<std::shared_ptr<GitSource>> source = SourceFor(ns_name);
  if (!source.ok()) return source.status();
  return (*source)->Fetch(*request);
}

Status GitOpsController::VerifyRevision(const std::string& ns_name, const json& spec, const std::string& commit) {
  const std::string secret = StringField(Field(Field(spec, "verify"), "secretRef"), "name");
  Result<json> s = ctx_.api->Get("/api/v1/namespaces/" + ns_name.substr(0, ns_name.find('/')) + "/secrets/" + secret);
  if (!s.ok()) return Status::Invalid("cannot read verify.secretRef \"" + secret + "\": " + s.status().message());
  // Every value of the Secret is a trusted public key (armored or binary).
  std::string keys;
  for (const auto& [name, value] : Field(*s, "data").items()) {
    if (value.is_string()) keys += Base64Decode(value.get<std::string>()).value_or("");
  }
  Result<std::shared_ptr<GitSource>> source = SourceFor(ns_name);
  if (!source.ok()) return source.status();
  return (*source)->VerifyCommit(commit, keys);
}

ReconcileResult GitOpsController::ReconcileRepository(const std::string& ns_name) {
  const std::string key = kRepoPrefix + ns_name;
  client::ObjectPtr repo = repositories_->Get(ns_name);
  if (repo == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    sources_.erase(ns_name);  // the cache stays on disk: a recreated repository fetches incrementally
    states_.erase(key);
    return ReconcileResult::Done();
  }
  const json& spec = Field(*repo, "spec");
  const json& status = Field(*repo, "status");
  const int64_t generation = client::IntField(Field(*repo, "metadata"), "generation");
  const auto interval = DurationField(spec, "interval", 60s);
  if (Field(spec, "suspend").is_boolean() && Field(spec, "suspend").get<bool>()) return ReconcileResult::Done();

  const std::string requested = Annotation(*repo, kRequestedAtAnnotation);
  KeyState state = State(key);
  const auto now = std::chrono::steady_clock::now();
  bool due = state.last_run == std::chrono::steady_clock::time_point{} ||
             client::IntField(status, "observedGeneration") != generation ||
             (!requested.empty() && requested != StringField(status, "lastHandledReconcileAt"));
  const auto wait = state.failures > 0 ? Backoff(key, interval) : interval;
  if (!due && now - state.last_run < wait) {
    return ReconcileResult::RequeueAfter(std::chrono::duration_cast<std::chrono::milliseconds>(wait - (now - state.last_run)));
  }

  FetchRequest request;
  request.url = StringField(spec, "url");
  const json& ref = Field(spec, "ref");
  request.ref = {StringField(ref, "branch"), StringField(ref, "tag"), StringField(ref, "semver"), StringField(ref, "commit")};
  request.timeout = DurationField(spec, "timeout", 60s);
  Result<GitRevision> revision = FetchWithCredentials(ns_name, spec, &request);
  json next = json::object();
  next["observedGeneration"] = generation;
  next["lastFetchTime"] = Now();
  if (!requested.empty()) next["lastHandledReconcileAt"] = requested;
  json conditions = Field(status, "conditions");
  const bool verify = !StringField(Field(Field(spec, "verify"), "secretRef"), "name").empty();
  Status verified;
  if (revision.ok() && verify) verified = VerifyRevision(ns_name, spec, revision->commit);
  if (!verify) conditions = RemoveCondition(conditions, "SourceVerified");
  if (revision.ok() && verified.ok()) {
    std::string message = "stored revision " + revision->name;
    conditions = SetCondition(RemoveCondition(conditions, "FetchFailed"), "Ready", true, "Succeeded", message, generation);
    if (verify) {
      conditions = SetCondition(conditions, "SourceVerified", true, "Succeeded",
                                "verified the signature of commit " + revision->commit, generation);
    }
    next["artifact"] = {{"revision", revision->name}, {"lastUpdateTime", Now()}};
    if (StringField(Field(status, "artifact"), "revision") == revision->name) next["artifact"] = Field(status, "artifact");
    state.failures = 0;
  } else if (revision.ok()) {
    // Fetched but not trusted: the previous artifact stays, so Syncs keep what they run.
    conditions = RemoveCondition(conditions, "FetchFailed");
    conditions = SetCondition(conditions, "SourceVerified", false, "VerificationFailed", verified.message(), generation);
    conditions = SetCondition(conditions, "Ready", false, "VerificationFailed", verified.message(), generation);
    if (!StringField(Field(status, "artifact"), "revision").empty()) next["artifact"] = Field(status, "artifact");
    ++state.failures;
    log::Warn("gitops verification failed", {{"repository", ns_name}, {"error", verified.message()}});
  } else {
    const Code code = revision.status().code();
    const std::string reason = code == Code::kUnauthorized ? "AuthenticationFailed"
                               : code == Code::kInvalid    ? "InvalidSecret"
                               : code == Code::kNotFound   ? "RefNotFound"
                                                           : "GitOperationFailed";
    conditions = SetCondition(conditions, "FetchFailed", true, reason, revision.status().message(), generation);
    conditions = SetCondition(conditions, "Ready", false, reason, revision.status().message(), generation);
    if (StringField(Field(status, "artifact"), "revision") != "") next["artifact"] = Field(status, "artifact");
    ++state.failures;
    log::Warn("gitops fetch failed", {{"repository", ns_name}, {"error", revision.status().message()}});
  }
  next["conditions"] = conditions;
  state.last_run = std::chrono::steady_clock::now();
  SetState(key, state);
  if (Status st = PatchStatus(ObjectPathOf("gitrepositories", ns_name), next); !st.ok() && !st.IsNotFound()) {
    return ReconcileResult::Retry(st);
  }
  return ReconcileResult::RequeueAfter(revision.ok() && verified.ok() ? interval : Backoff(key, interval));
}

ReconcileResult GitOpsController::ReconcileSync(const std::string& ns_name) {
  const std::string key = kSyncPrefix + ns_name;
  client::ObjectPtr sync = syncs_->Get(ns_name);
  if (sync == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    states_.erase(key);
    return ReconcileResult::Done();  // deleting a Sync leaves what it applied (docs/gitops.md)
  }
  const std::string ns = ns_name.substr(0, ns_name.find('/'));
  const std::string path = ObjectPathOf("syncs", ns_name);
  const json& spec = Field(*sync, "spec");
  const json& status = Field(*sync, "status");
  const int64_t generation = client::IntField(Field(*sync, "metadata"), "generation");
  const auto interval = DurationField(spec, "interval", 300s);
  const std::string requested = Annotation(*sync, kRequestedAtAnnotation);
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

  if (Field(spec, "suspend").is_boolean() && Field(spec, "suspend").get<bool>()) {
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
  const bool self_heal = Field(spec, "selfHeal").is_boolean() && Field(spec, "selfHeal").get<bool>();
  const bool changed = revision != StringField(status, "lastAttemptedRevision") ||
                       client::IntField(status, "observedGeneration") != generation ||
                       (!requested.empty() && requested != StringField(status, "lastHandledReconcileAt")) ||
                       state.last_run == std::chrono::steady_clock::time_point{};
  if (!changed && state.health_deadline != std::chrono::steady_clock::time_point{}) {
    std::vector<ObjectRef> inventory;
    for (const json& e : Field(Field(status, "inventory"), "entries")) inventory.push_back(ObjectRef::FromJson(e));
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
  const bool failed_before = ready != nullptr && StringField(*ready, "status") != "True";
  const auto wait = failed_before ? Backoff(key, interval) : interval;
  const bool interval_passed = now - state.last_run >= wait;
  if (!changed && !interval_passed) {
    return ReconcileResult::RequeueAfter(std::chrono::duration_cast<std::chrono::milliseconds>(wait - (now - state.last_run)));
  }

  Result<std::shared_ptr<GitSource>> source = SourceFor(source_key);
  if (!source.ok()) return ReconcileResult::Retry(source.status());
  SyncRequest request;
  request.sync_namespace = ns;
  request.sync_name = ns_name.substr(ns_name.find('/') + 1);
  request.target_namespace = StringField(spec, "targetNamespace");
  request.prune = Field(spec, "prune").is_boolean() && Field(spec, "prune").get<bool>();
  request.allow_empty = Field(spec, "allowEmpty").is_boolean() && Field(spec, "allowEmpty").get<bool>();
  for (const json& e : Field(Field(status, "inventory"), "entries")) request.previous_inventory.push_back(ObjectRef::FromJson(e));

  const std::string spec_path = StringField(spec, "path");
  Result<std::vector<ManifestFile>> files = (*source)->ReadManifests(CommitOf(revision), spec_path);

  // The interval without selfHeal and without news: only look for drift, and report it.
  if (!changed && !failed_before && !self_heal) {
    state.last_run = now;
    SetState(key, state);
    if (!files.ok()) return ReconcileResult::RequeueAfter(interval);
    request.files = std::move(*files);
    std::vector<DesiredObject> objects;
    SyncOutcome failure;
    if (!BuildObjects(*ctx_.api, request, &objects, &failure)) return ReconcileResult::RequeueAfter(interval);
    Result<std::vector<Drift>> drift = DetectDrift(*ctx_.api, objects);
    if (!drift.ok()) return ReconcileResult::RequeueAfter(interval);
    json entries = json::array();
    for (const Drift& d : *drift) {
      json e = d.ref.ToJson();
      e["patch"] = d.patch;
      entries.push_back(std::move(e));
    }
    if (entries != Field(status, "drift") && !(entries.empty() && Field(status, "drift").is_null())) {
      if (!entries.empty()) {
        events_->Event(*sync, "Warning", "DriftDetected",
                       std::to_string(entries.size()) + " object(s) differ from " + revision + ", first " +
                           (*drift)[0].ref.Display() + ": " + (*drift)[0].patch);
      }
      (void)PatchStatus(path, json{{"drift", entries}});
    }
    return ReconcileResult::RequeueAfter(interval);
  }

  const auto started = std::chrono::steady_clock::now();
  SyncOutcome outcome;
  if (!files.ok()) {
    outcome.reason = "BuildFailed";
    outcome.message = files.status().message();
    outcome.inventory = request.previous_inventory;
  } else {
    request.files = std::move(*files);
    outcome = RunSync(*ctx_.api, request);
  }
  const int64_t took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();

  json next = json::object();
  next["observedGeneration"] = generation;
  next["lastAttemptedRevision"] = revision;
  if (!requested.empty()) next["lastHandledReconcileAt"] = requested;
  if (outcome.ok || outcome.reason == "PruneFailed") next["lastAppliedRevision"] = revision;
  json entries = json::array();
  for (const ObjectRef& r : outcome.inventory) entries.push_back(r.ToJson());
  next["inventory"] = {{"entries", entries}};
  json history = json::array({{{"revision", revision}, {"reason", outcome.reason}, {"message", outcome.message},
                               {"time", Now()}, {"durationMilliseconds", took}}});
  for (const json& h : Field(status, "history")) {
    if (history.size() < kHistory) history.push_back(h);
  }
  next["history"] = history;
  if (outcome.ok) next["drift"] = json::array();
  const bool wait_health = outcome.ok && Field(spec, "wait").is_boolean() && Field(spec, "wait").get<bool>();
  next["conditions"] =
      wait_health ? SetCondition(conditions, "Ready", false, "Progressing",
                                 "Applied revision " + revision + "; waiting for the workloads to be healthy", generation)
                  : SetCondition(conditions, "Ready", outcome.ok, outcome.reason, outcome.message, generation);
  state.last_run = std::chrono::steady_clock::now();
  state.failures = outcome.ok ? 0 : state.failures + 1;
  state.health_deadline = wait_health ? state.last_run + DurationField(spec, "timeout", 300s) : std::chrono::steady_clock::time_point{};
  SetState(key, state);
  if (Status st = PatchStatus(path, next); !st.ok() && !st.IsNotFound()) return ReconcileResult::Retry(st);

  const bool news = revision != StringField(status, "lastAttemptedRevision") || !failed_before != outcome.ok;
  if (!outcome.ok) {
    if (news) events_->Event(*sync, "Warning", outcome.reason, revision + ": " + outcome.message);
    log::Warn("gitops sync failed", {{"sync", ns_name}, {"revision", revision}, {"reason", outcome.reason},
                                     {"error", outcome.message}});
    return ReconcileResult::RequeueAfter(Backoff(key, interval));
  }
  if (news) events_->Event(*sync, "Normal", "ReconciliationSucceeded", revision + ": " + outcome.message);
  return ReconcileResult::RequeueAfter(wait_health ? 500ms : interval);
}

}  // namespace capstan::controller::gitops
