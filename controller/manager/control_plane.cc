#include "controller/manager/control_plane.h"

#include "base/log.h"
#include "client/in_process_api_client.h"
#include "controller/deployment/deployment_controller.h"
#include "controller/endpoints/endpointslice_controller.h"
#include "controller/gc/garbage_collector.h"
#include "controller/gitops/gitops_controller.h"
#include "controller/nodelifecycle/node_lifecycle_controller.h"
#include "controller/registry/registry_cleanup_controller.h"
#include "controller/replicaset/replicaset_controller.h"
#include "controller/scheduler/scheduler_controller.h"

namespace capstan::controller {

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(ControlPlaneOptions options) {
  std::unique_ptr<ControlPlane> plane(new ControlPlane(options));
  plane->api_ = std::make_unique<client::InProcessApiClient>(options.handler, options.token, "capstan-controllers");
  if (!options.leader_election) {
    CAPSTAN_RETURN_IF_ERROR(plane->StartManager());
    return plane;
  }
  LeaderElectionOptions election = options.election;
  ControlPlane* raw = plane.get();
  election.on_started_leading = [raw] {
    raw->starter_ = std::thread([raw] {
      Status st = raw->StartManager();
      if (!st.ok()) log::Error("cannot start the controllers", {{"error", st.ToString()}});
    });
  };
  election.on_stopped_leading = [raw] {
    if (raw->starter_.joinable()) raw->starter_.join();
    raw->StopManager();
  };
  auto elector = LeaderElector::Create(plane->api_.get(), std::move(election));
  if (!elector.ok()) return elector.status();
  plane->elector_ = std::move(elector).value();
  plane->elector_->Start();
  return plane;
}

Status ControlPlane::StartManager() {
  auto manager = std::make_unique<ControllerManager>(api_.get());
  manager->Add(std::make_unique<replicaset::ReplicaSetController>(
      replicaset::ReplicaSetControllerOptions{options_.replicaset_workers}));
  manager->Add(std::make_unique<deployment::DeploymentController>(
      deployment::DeploymentControllerOptions{options_.deployment_workers}));
  scheduler::SchedulerControllerOptions sopts;
  sopts.workers = options_.scheduler_workers;
  manager->Add(std::make_unique<scheduler::SchedulerController>(sopts));
  manager->Add(std::make_unique<nodelifecycle::NodeLifecycleController>(options_.node_lifecycle));
  manager->Add(std::make_unique<gc::GarbageCollector>());
  manager->Add(std::make_unique<endpoints::EndpointSliceController>());
  registry::RegistryCleanupControllerOptions registry_options;
  registry_options.managed_registry = options_.managed_registry;
  manager->Add(std::make_unique<registry::RegistryCleanupController>(registry_options));
  if (!options_.data_dir.empty()) {
    manager->Add(std::make_unique<gitops::GitOpsController>(gitops::GitOpsControllerOptions{options_.data_dir}));
  }
  CAPSTAN_RETURN_IF_ERROR(manager->Start());
  std::lock_guard<std::mutex> lock(mu_);
  manager_ = std::move(manager);
  return Status::Ok();
}

void ControlPlane::StopManager() {
  std::unique_ptr<ControllerManager> manager;
  {
    std::lock_guard<std::mutex> lock(mu_);
    manager = std::move(manager_);
  }
  if (manager) manager->Stop();
}

bool ControlPlane::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return manager_ != nullptr;
}

ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Stop() {
  if (elector_) {
    elector_->Stop();  // stops the controllers first (on_stopped_leading), then releases
    elector_.reset();
  }
  if (starter_.joinable()) starter_.join();
  StopManager();
}

}  // namespace capstan::controller
