// RegistryCleanupController ("registry-cleanup"): runs RegistryCleanupPolicies
// (registry.capstan.io/v1alpha1) on their schedule, interval or request.
//
// Informers (shared): the policies of every namespace; Pods, ReplicaSets and Deployments of every
// namespace (the in-use set, read from the caches at the start of each run). Handlers queue the
// policy's key on add and update; workload changes queue nothing (they matter only when a run
// starts).
//
// Reconcile(namespace/name), never twice at once for one policy:
//   1. Parse the spec (policy_spec.h); an invalid one sets Ready=False InvalidSpec (terminal).
//   2. DecideRun: not due -> write status.nextRunTime if it changed, requeue at that time.
//   3. Due -> RunCleanup (scan, plan, execute unless spec.dryRun) on this worker; then the
//      decisions ConfigMap "<name>-decisions" (owned by the policy), the status (lastRun, counts,
//      bytesReclaimable, errors, conditions Ready / DeletionAllowed, lastHandledRequest when the run
//      answered a registry.capstan.io/requestedAt annotation, nextRunTime, observedGeneration), and
//      one Event (Normal CleanupSucceeded / CleanupDryRun, Warning CleanupFailed /
//      CleanupPartiallyFailed) with the counts. A policy for the managed registry: the run holds
//      its run lock, and a run that removed something ends with the read-only garbage-collection
//      window; bytes reclaimed and the window's length go into lastRun and the Event. The status write is retried in place (a few times),
//      not by requeueing: the status is the run's record, and without it the run would repeat.
//
// Thread-safety: Controller's; runs take a worker each (options.workers at once).
#pragma once

#include <memory>
#include <string>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "controller/registry/managed_registry.h"
#include "controller/registry/registry_client.h"
#include "controller/registry/retention_planner.h"
#include "controller/runtime/queued_controller.h"

namespace capstan::controller::registry {

struct RegistryCleanupControllerOptions {
  int workers = 2;
  capstan::registry::RegistryClientOptions registry;
  // The registry `capstan server --registry` runs (not owned; outlives the controller), or null.
  // Runs of policies whose URL names it (ManagedRegistry::Serves) hold its run lock and end with
  // its read-only garbage-collection window when they removed something.
  capstan::registry::ManagedRegistry* managed_registry = nullptr;
};

class RegistryCleanupController final : public QueuedController {
 public:
  explicit RegistryCleanupController(RegistryCleanupControllerOptions options = {});
  ~RegistryCleanupController() override;

  Status Setup(const ControllerContext& ctx) override;
  void Stop() override;
  ReconcileResult Reconcile(const std::string& key) override;

 private:
  capstan::registry::InUseSet InUse(const std::string& registry_url) const;
  Status WriteStatus(const nlohmann::json& policy, nlohmann::json status);

  const RegistryCleanupControllerOptions options_;
  ControllerContext ctx_;  // set by Setup
  client::Informer* policies_ = nullptr;
  client::Informer* pods_ = nullptr;
  client::Informer* replicasets_ = nullptr;
  client::Informer* deployments_ = nullptr;
  std::unique_ptr<client::EventRecorder> events_;
};

}  // namespace capstan::controller::registry
