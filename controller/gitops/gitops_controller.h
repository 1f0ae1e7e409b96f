// GitOpsController: GitRepositories fetched at their interval, Syncs applied when their source
// moves, at their interval, or when asked (docs/gitops.md).
//
// One work queue holds both kinds, keyed "GitRepository/<ns>/<name>" and "Sync/<ns>/<name>":
//   - A GitRepository owns its fetch (one GitSource, one bare cache under
//     <data_dir>/gitops/<ns>/<name>); its status carries the resolved revision. Several Syncs on
//     one repository share that fetch and read the revision from the status.
//   - A Sync runs (sync_engine.h) when the source revision differs from its lastAttemptedRevision,
//     its spec changed, a reconcile was requested (annotation gitops.capstan.io/requestedAt differs
//     from status.lastHandledReconcileAt), its previous run failed (after a backoff), or, with
//     selfHeal, its interval passed. Without selfHeal the interval only looks for drift and
//     reports it (status.drift and a Warning Event). dependsOn Syncs must be Ready first.
// Failures back off exponentially (1 s doubling, capped at the interval) and never touch what is
// running: a failed run leaves the previous state in place.
//
// Thread-safety: Controller's; reconciles run on `workers` threads, never two for one key.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "controller/gitops/git_source.h"
#include "controller/gitops/sync_engine.h"
#include "controller/runtime/queued_controller.h"

namespace capstan::controller::gitops {

inline constexpr const char* kRequestedAtAnnotation = "gitops.capstan.io/requestedAt";
// On Syncs with prune: true; deleting the Sync then deletes what it applied.
inline constexpr const char* kPruneFinalizer = "gitops.capstan.io/prune-on-delete";

struct GitOpsControllerOptions {
  std::string data_dir;  // the caches go to <data_dir>/gitops/
  int workers = 4;       // fetches and runs block a worker for their duration
};

class GitOpsController final : public QueuedController {
 public:
  explicit GitOpsController(GitOpsControllerOptions options);
  ~GitOpsController() override;

  void Stop() override;
  Status Setup(const ControllerContext& ctx) override;
  ReconcileResult Reconcile(const std::string& key) override;

 private:
  struct KeyState {
    std::chrono::steady_clock::time_point last_run{};  // last fetch or sync run (or drift check)
    int failures = 0;                                  // consecutive
    // FinalizeSync's own count: the runs' failures above must not use up the prune's attempts.
    int prune_attempts = 0;
    // spec.wait: set after a successful run while its objects are not yet healthy. Never blocks:
    // a newer revision runs at once and starts its own wait.
    std::chrono::steady_clock::time_point health_deadline{};
  };

  static constexpr char kRepoPrefix[] = "GitRepository/";
  static constexpr char kSyncPrefix[] = "Sync/";
  static constexpr char kCacheGcKey[] = "CacheGC";

  ReconcileResult ReconcileRepository(const std::string& ns_name);
  // sync_reconcile.cc: when a Sync runs, its no-op check, its drift report, its status.
  ReconcileResult ReconcileSync(const std::string& ns_name);
  // A Sync with prune being deleted: prunes its inventory (prune.h's guards), then removes the
  // finalizer. Keeps it (retrying after a backoff) while deletes fail, up to a few attempts.
  ReconcileResult FinalizeSync(const nlohmann::json& sync, const std::string& key);
  // Adds or removes the prune finalizer as spec.prune asks; Ok when nothing was needed.
  Status KeepFinalizer(const nlohmann::json& sync, bool wanted);
  // Writes a run's outcome (revision, inventory, history, Ready), its Event, and what comes next.
  ReconcileResult RecordRun(const nlohmann::json& sync, const std::string& revision, const SyncOutcome& outcome,
                            int64_t took_ms, KeyState state);
  Result<std::shared_ptr<GitSource>> SourceFor(const std::string& ns_name);
  // Reads spec.secretRef's credentials into `request`, then fetches.
  // Checks `commit`'s signature against the keys of spec.verify.secretRef.
  Status VerifyRevision(const std::string& ns_name, const nlohmann::json& spec, const std::string& commit);
  Result<GitRevision> FetchWithCredentials(const std::string& ns_name, const nlohmann::json& spec, FetchRequest* request);
  // Repositories of the Secret's namespace using it (credentials, verify, webhook): fetched now.
  void RefetchUsersOf(const nlohmann::json& secret);
  // Deletes the caches of repositories that no longer exist and compacts the live ones that
  // need it (GitSource::NeedsCompaction); at start, then hourly.
  ReconcileResult CollectCaches();
  void RemoveCache(const std::string& ns_name);  // unless a GitSource for it is open
  // Syncs whose sourceRef or dependsOn names this object.
  void EnqueueDependents(const nlohmann::json& obj, bool is_repository);
  Status PatchStatus(const std::string& path, const nlohmann::json& status);
  std::chrono::milliseconds Backoff(const std::string& key, std::chrono::milliseconds cap);
  static std::chrono::milliseconds BackoffAfter(int failures, std::chrono::milliseconds cap);
  KeyState State(const std::string& key);
  void SetState(const std::string& key, KeyState state);

  const GitOpsControllerOptions options_;
  ControllerContext ctx_;
  client::Informer* repositories_ = nullptr;
  client::Informer* syncs_ = nullptr;
  std::unique_ptr<client::EventRecorder> events_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<GitSource>> sources_;  // guarded by mu_; "ns/name" → cache
  std::map<std::string, KeyState> states_;                      // guarded by mu_; queue key → state
};

}  // namespace capstan::controller::gitops
