#include "controller/gitops/gitops_controller.h"

#include <algorithm>
#include <filesystem>

#include "base/base64.h"
#include "base/duration.h"
#include "base/hmac.h"
#include "base/log.h"
#include "client/json_fields.h"
#include "controller/gitops/status_fields.h"
#include "controller/gitops/sync_engine.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;
using namespace std::chrono_literals;

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
  repositories_ = ctx.informers->ForResource(std::string(kGitOpsGroupVersion) + "/gitrepositories");
  syncs_ = ctx.informers->ForResource(std::string(kGitOpsGroupVersion) + "/syncs");
  client::ResourceEventHandler repo_events;
  repo_events.on_add = [this](const client::ObjectPtr& o) { queue().Add(kRepoPrefix + client::ObjectKey(*o)); };
  repo_events.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
    queue().Add(kRepoPrefix + client::ObjectKey(*o));
    EnqueueDependents(*o, true);
  };
  repo_events.on_delete = [this](const client::ObjectPtr& o) { queue().Add(kRepoPrefix + client::ObjectKey(*o)); };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(repositories_, std::move(repo_events)));
  client::ResourceEventHandler sync_events;
  sync_events.on_add = [this](const client::ObjectPtr& o) { queue().Add(kSyncPrefix + client::ObjectKey(*o)); };
  sync_events.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) {
    queue().Add(kSyncPrefix + client::ObjectKey(*o));
    EnqueueDependents(*o, false);
  };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(syncs_, std::move(sync_events)));
  // A created or corrected Secret retries the repositories that use it at once, not after their backoff.
  client::Informer* secrets = ctx.informers->ForResource("/api/v1/secrets");
  client::ResourceEventHandler secret_events;
  secret_events.on_add = [this](const client::ObjectPtr& o) { RefetchUsersOf(*o); };
  secret_events.on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& o) {
    if (Field(*old, "data") != Field(*o, "data")) RefetchUsersOf(*o);
  };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(secrets, std::move(secret_events)));
  queue().Add(kCacheGcKey);  // runs once the informers have synced, then hourly
  return Status::Ok();
}

void GitOpsController::RefetchUsersOf(const json& secret) {
  const std::string ns = StringField(Field(secret, "metadata"), "namespace");
  const std::string name = StringField(Field(secret, "metadata"), "name");
  for (const client::ObjectPtr& repo : repositories_->ListNamespace(ns)) {
    const json& spec = Field(*repo, "spec");
    bool uses = false;
    for (const json* ref : {&Field(spec, "secretRef"), &Field(Field(spec, "verify"), "secretRef"),
                            &Field(Field(spec, "webhook"), "secretRef")}) {
      uses = uses || StringField(*ref, "name") == name;
    }
    if (!uses) continue;
    const std::string key = kRepoPrefix + client::ObjectKey(*repo);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = states_.find(key); it != states_.end()) it->second.last_run = {};  // due now
    }
    queue().Add(key);
  }
}

ReconcileResult GitOpsController::CollectCaches() {
  // <data_dir>/gitops/<namespace>/<name>: a cache whose GitRepository is gone is deleted (one
  // deleted while the server was down, or whose delete was missed); in use ones are never touched.
  if (options_.data_dir.empty()) return ReconcileResult::Done();
  {
    // A Sync that raced a repository's delete may have reopened its cache: let go of it too.
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(sources_, [&](const auto& entry) { return repositories_->Get(entry.first) == nullptr; });
  }
  std::error_code ec;
  const std::filesystem::path root = std::filesystem::path(options_.data_dir) / "gitops";
  for (const auto& ns : std::filesystem::directory_iterator(root, ec)) {
    if (!ns.is_directory()) continue;
    for (const auto& cache : std::filesystem::directory_iterator(ns.path(), ec)) {
      if (cache.path().filename().string().starts_with(".")) continue;  // a compaction's own
      const std::string ns_name = ns.path().filename().string() + "/" + cache.path().filename().string();
      if (!cache.is_directory() || repositories_->Get(ns_name) != nullptr) continue;
      RemoveCache(ns_name);
    }
    std::filesystem::remove(ns.path(), ec);  // only when empty
  }
  // Live caches that a force-push or deleted ref left objects in, or that many fetches left in
  // many packs, are rewritten with what their refs reach (GitSource::Compact).
  std::vector<std::pair<std::string, std::shared_ptr<GitSource>>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    open.assign(sources_.begin(), sources_.end());
  }
  for (const auto& [ns_name, source] : open) {
    if (!source->NeedsCompaction()) continue;
    // What Syncs read (the artifact; after a refused unverified commit, one no branch may reach
    // any more) and a pinned commit must survive the compaction.
    std::vector<std::string> in_use;
    if (client::ObjectPtr repo = repositories_->Get(ns_name); repo != nullptr) {
      in_use.push_back(CommitOf(StringField(Field(Field(*repo, "status"), "artifact"), "revision")));
      in_use.push_back(StringField(Field(Field(*repo, "spec"), "ref"), "commit"));
    }
    Status st = source->Compact(in_use);
    if (st.ok()) log::Info("gitops: cache compacted", {{"repository", ns_name}});
    else log::Warn("gitops: cannot compact a cache", {{"repository", ns_name}, {"error", st.message()}});
  }
  return ReconcileResult::RequeueAfter(std::chrono::hours(1));
}

void GitOpsController::RemoveCache(const std::string& ns_name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sources_.count(ns_name) != 0) return;  // reopened meanwhile: in use
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(options_.data_dir) / "gitops" / ns_name, ec);
  if (ec) log::Warn("gitops: cannot delete a cache", {{"repository", ns_name}, {"error", ec.message()}});
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
  if (key == kCacheGcKey) return CollectCaches();
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
  return BackoffAfter(State(key).failures, cap);
}

std::chrono::milliseconds GitOpsController::BackoffAfter(int failures, std::chrono::milliseconds cap) {
  std::chrono::milliseconds delay = 1000ms * (1LL << std::min(failures, 20));
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
    // ssh:// (Flux's keys): identity (private key), known_hosts, password (the key's passphrase).
    request->credentials.ssh_private_key = Base64Decode(StringField(data, "identity")).value_or("");
    request->credentials.ssh_known_hosts = Base64Decode(StringField(data, "known_hosts")).value_or("");
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
    {
      std::lock_guard<std::mutex> lock(mu_);
      sources_.erase(ns_name);
      states_.erase(key);
    }
    // A Sync still reading from it fails that run and keeps its state (it has no source now).
    if (!options_.data_dir.empty()) RemoveCache(ns_name);
    return ReconcileResult::Done();
  }
  const json& spec = Field(*repo, "spec");
  const json& status = Field(*repo, "status");
  const int64_t generation = client::IntField(Field(*repo, "metadata"), "generation");
  const auto interval = DurationField(spec, "interval", 60s);
  if (Field(spec, "suspend").is_boolean() && Field(spec, "suspend").get<bool>()) return ReconcileResult::Done();

  const std::string requested = AnnotationOf(*repo, kRequestedAtAnnotation);
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
  next["lastFetchTime"] = NowRfc3339();
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
    next["artifact"] = {{"revision", revision->name}, {"lastUpdateTime", NowRfc3339()}};
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
                               : code == Code::kForbidden  ? "HostKeyVerificationFailed"
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
  next["webhookPath"] = nullptr;  // a merge patch's null removes it
  if (std::string secret = StringField(Field(Field(spec, "webhook"), "secretRef"), "name"); !secret.empty()) {
    // The receiver's generated path (api/gitops_webhook.h): hex HMAC-SHA256 of the uid keyed with the token.
    Result<json> s = ctx_.api->Get("/api/v1/namespaces/" + ns_name.substr(0, ns_name.find('/')) + "/secrets/" + secret);
    std::string token = s.ok() ? Base64Decode(StringField(Field(*s, "data"), "token")).value_or("") : "";
    if (!token.empty()) next["webhookPath"] = "/hooks/gitops/" + HmacSha256Hex(token, StringField(Field(*repo, "metadata"), "uid"));
  }
  state.last_run = std::chrono::steady_clock::now();
  SetState(key, state);
  if (Status st = PatchStatus(GitOpsObjectPath("gitrepositories", ns_name), next); !st.ok() && !st.IsNotFound()) {
    return ReconcileResult::Retry(st);
  }
  return ReconcileResult::RequeueAfter(revision.ok() && verified.ok() ? interval : Backoff(key, interval));
}

}  // namespace capstan::controller::gitops
