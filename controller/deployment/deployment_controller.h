// DeploymentController: rolls Deployments out through ReplicaSets (Kubernetes'
// deployment-controller), around the pure PlanDeployment (deployment_sync.h).
//
// Reads: Deployments, ReplicaSets (by owner uid) and Pods (by owner uid, for Recreate) through
// shared informers. Writes one plan per sync in deployment_sync.h's order, stopping at the first
// failed write (the key is retried with backoff; plans are level-based, so the next sync re-plans
// from what the cache then shows).
//
// Thread-safety: Controller's; never two reconciles of one Deployment at once.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "controller/runtime/queued_controller.h"

namespace capstan::controller::deployment {

struct DeploymentControllerOptions {
  int workers = 8;
};

class DeploymentController final : public QueuedController {
 public:
  explicit DeploymentController(DeploymentControllerOptions options = {});
  ~DeploymentController() override;

  void Stop() override;
  Status Setup(const ControllerContext& ctx) override;
  ReconcileResult Reconcile(const std::string& key) override;

 private:
  // The key of the Deployment controlling `obj` (a ReplicaSet), or "".
  std::string OwnerDeployment(const nlohmann::json& rs) const;

  ControllerContext ctx_;
  client::Informer* deployments_ = nullptr;
  client::Informer* replicasets_ = nullptr;
  client::Informer* pods_ = nullptr;
  std::unique_ptr<client::EventRecorder> events_;  // ScalingReplicaSet
};

}  // namespace capstan::controller::deployment
