#include "controller/registry/registry_cleanup_controller.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "api/kinds/printing.h"
#include "base/log.h"
#include "controller/registry/cleanup_run.h"
#include "controller/registry/in_use_images.h"
#include "controller/registry/policy_spec.h"
#include "controller/registry/run_report.h"

namespace capstan::controller::registry {
namespace {

using json = nlohmann::json;
namespace reg = capstan::registry;

constexpr char kPolicies[] = "/apis/registry.capstan.io/v1alpha1/registrycleanuppolicies";

std::string PolicyPath(const json& policy) {
  const json& meta = policy["metadata"];
  return "/apis/registry.capstan.io/v1alpha1/namespaces/" + meta.value("namespace", std::string("default")) +
         "/registrycleanuppolicies/" + meta.value("name", std::string());
}

const json& StatusOf(const json& policy) {
  static const json kEmpty = json::object();
  auto it = policy.find("status");
  return it != policy.end() && it->is_object() ? *it : kEmpty;
}

// Keeps lastTransitionTime of conditions whose status did not change.
void CarryTransitionTimes(const json& old_status, json* status) {
  if (!status->contains("conditions") || !old_status.contains("conditions")) return;
  for (json& c : (*status)["conditions"]) {
    for (const json& old : old_status["conditions"]) {
      if (old.value("type", "") == c.value("type", "") && old.value("status", "") == c.value("status", "")) {
        c["lastTransitionTime"] = old.value("lastTransitionTime", c.value("lastTransitionTime", ""));
      }
    }
  }
}

}  // namespace

RegistryCleanupController::RegistryCleanupController(RegistryCleanupControllerOptions options)
    : QueuedController("registry-cleanup", options.workers), options_(std::move(options)) {}

RegistryCleanupController::~RegistryCleanupController() { Stop(); }

void RegistryCleanupController::Stop() {
  QueuedController::Stop();
  if (events_) events_->Stop();
}

Status RegistryCleanupController::Setup(const ControllerContext& ctx) {
  InitQueue(ctx);
  ctx_ = ctx;
  events_ = std::make_unique<client::EventRecorder>(ctx.api, "registry-cleanup-controller");
  policies_ = ctx.informers->ForResource(kPolicies);
  pods_ = ctx.informers->ForResource("/api/v1/pods");
  replicasets_ = ctx.informers->ForResource("/apis/apps/v1/replicasets");
  deployments_ = ctx.informers->ForResource("/apis/apps/v1/deployments");
  client::ResourceEventHandler handler;
  handler.on_add = [this](const client::ObjectPtr& obj) { queue().Add(client::ObjectKey(*obj)); };
  handler.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& obj) {
    queue().Add(client::ObjectKey(*obj));
  };
  return ctx.AddEventHandler(policies_, std::move(handler));
}

reg::InUseSet RegistryCleanupController::InUse(const std::string& registry_url) const {
  std::string host = reg::RegistryHostOf(registry_url);
  reg::InUseSet in_use;
  for (const client::Informer* informer : {pods_, replicasets_, deployments_}) {
    for (const client::ObjectPtr& obj : informer->List()) reg::AddWorkloadImages(*obj, host, &in_use);
  }
  return in_use;
}

Status RegistryCleanupController::WriteStatus(const json& policy, json status) {
  CarryTransitionTimes(StatusOf(policy), &status);
  auto r = ctx_.api->Patch(PolicyPath(policy) + "/status", client::PatchType::kMerge, {{"status", status}});
  return r.ok() ? Status::Ok() : r.status();
}

ReconcileResult RegistryCleanupController::Reconcile(const std::string& key) {
  client::ObjectPtr cached = policies_->Get(key);
  if (!cached) return ReconcileResult::Done();
  const json& policy = *cached;
  const json& meta = policy["metadata"];
  if (meta.contains("deletionTimestamp")) return ReconcileResult::Done();
  int64_t generation = meta.value("generation", int64_t{0});

  Result<reg::CleanupSpec> spec = reg::ParseCleanupSpec(policy);
  if (!spec.ok()) {
    json status = {{"observedGeneration", generation},
                   {"conditions", json::array({{{"type", "Ready"}, {"status", "False"}, {"reason", "InvalidSpec"},
                                                {"message", spec.status().message()},
                                                {"lastTransitionTime", api::kinds::FormatRfc3339(api::kinds::NowEpochSeconds())}}})}};
    Status written = WriteStatus(policy, status);
    if (!written.ok()) return ReconcileResult::Retry(written);
    return ReconcileResult::Terminal(spec.status());
  }

  int64_t now = api::kinds::NowEpochSeconds();
  reg::RunDecision decision = reg::DecideRun(*spec, policy, now);
  std::string next_run = decision.next_run > 0 ? api::kinds::FormatRfc3339(decision.next_run) : "";
  auto requeue = [&]() {
    if (decision.next_run <= 0) return ReconcileResult::Done();
    int64_t wait = std::max<int64_t>(1, decision.next_run - api::kinds::NowEpochSeconds());
    return ReconcileResult::RequeueAfter(std::chrono::seconds(wait));
  };
  if (!decision.run_now) {
    const json& status = StatusOf(policy);
    if (status.value("nextRunTime", std::string()) != next_run ||
        status.value("observedGeneration", int64_t{-1}) != generation) {
      Status written = WriteStatus(policy, {{"nextRunTime", next_run.empty() ? json() : json(next_run)},
                                            {"observedGeneration", generation}});
      if (!written.ok()) return ReconcileResult::Retry(written);
    }
    return requeue();
  }

  std::string ns = meta.value("namespace", std::string("default"));
  std::string name = meta.value("name", std::string());
  log::Info("registry cleanup run", {{"policy", key}, {"trigger", decision.trigger}, {"dryRun", spec->dry_run ? "true" : "false"}});
  reg::InUseSet in_use = spec->retention.keep_in_use ? InUse(spec->url) : reg::InUseSet{};
  reg::ManagedRegistry* managed =
      options_.managed_registry != nullptr && options_.managed_registry->Serves(spec->url) ? options_.managed_registry
                                                                                          : nullptr;
  std::unique_lock<std::mutex> run_lock;
  int64_t storage_before = 0;
  if (managed != nullptr) {
    run_lock = managed->LockForRun();
    storage_before = managed->StorageBytes();
  }
  reg::RunReport report = reg::RunCleanup(*ctx_.api, ns, *spec, in_use, spec->dry_run, options_.registry);
  report.managed_registry = managed != nullptr;
  if (managed != nullptr && reg::NeedsGarbageCollection(report)) {
    reg::CollectGarbageAfterRun(*managed, storage_before, &report);
  }
  if (run_lock.owns_lock()) run_lock.unlock();

  // The decisions first, so that a status naming the ConfigMap never points at an older one.
  json configmap = reg::DecisionsConfigMap(policy, report);
  std::string cm_path = "/api/v1/namespaces/" + ns + "/configmaps";
  auto created = ctx_.api->Create(cm_path, configmap);
  if (!created.ok() && created.status().IsAlreadyExists()) {
    created = ctx_.api->Patch(cm_path + "/" + reg::DecisionsConfigMapName(name), client::PatchType::kMerge,
                              {{"data", configmap["data"]}});
  }
  if (!created.ok()) log::Warn("registry cleanup: writing decisions", {{"policy", key}, {"error", created.status().ToString()}});

  json status = reg::RunStatus(report, decision.trigger, reg::DecisionsConfigMapName(name));
  status["observedGeneration"] = generation;
  decision = reg::DecideRun(*spec, json{{"metadata", meta}, {"status", {{"lastRun", {{"startTime", report.start_time}}}}}},
                            api::kinds::NowEpochSeconds());
  next_run = decision.next_run > 0 ? api::kinds::FormatRfc3339(decision.next_run) : "";
  status["nextRunTime"] = next_run.empty() ? json() : json(next_run);
  if (meta.contains("annotations") && meta["annotations"].contains(reg::kRequestedAtAnnotation)) {
    status["lastHandledRequest"] = meta["annotations"][reg::kRequestedAtAnnotation];
  }
  // Retried here rather than by requeueing: a requeue would run the cleanup again, since the
  // run's record is this status.
  Status written = WriteStatus(policy, status);
  for (int attempt = 1; !written.ok() && attempt < 5; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    written = WriteStatus(policy, status);
  }

  std::string result = report.ResultName();
  const reg::ExecutionResult& ex = report.execution;
  std::string message = result + ": " + std::to_string(report.plan.scanned) + " tags scanned, " +
                        std::to_string(report.plan.to_delete + report.plan.to_untag) +
                        (report.dry_run ? " would be removed" : " to remove") + ", " + std::to_string(ex.deleted) +
                        " deleted, " + std::to_string(ex.untagged) + " untagged, " + std::to_string(ex.skipped) +
                        " skipped, " + std::to_string(ex.failed) + " failed";
  const reg::GarbageCollectionReport& gc = report.garbage_collection;
  if (gc.ran && gc.error.ok()) {
    message += "; garbage collection reclaimed " + std::to_string(gc.bytes_reclaimed) + " bytes (registry read-only for " +
               std::to_string(gc.read_only_window_ms) + " ms)";
  } else if (!report.dry_run && report.error.ok() && !report.managed_registry) {
    message += "; " + std::to_string(report.plan.bytes_reclaimable) + " bytes reclaimable by a garbage collection";
  }
  if (!report.error.ok()) message += ": " + report.error.message();
  else if (!ex.first_error.ok()) message += ": " + ex.first_error.message();
  else if (gc.ran && !gc.error.ok()) message += ": garbage collection failed: " + gc.error.message();
  bool ok = result == "Succeeded" || result == "DryRun";
  events_->Event(policy, ok ? client::kEventTypeNormal : client::kEventTypeWarning,
                 result == "DryRun" ? "CleanupDryRun" : ok ? "CleanupSucceeded" : "Cleanup" + result, message);
  if (!written.ok()) return ReconcileResult::Retry(written);
  return requeue();
}

}  // namespace capstan::controller::registry
