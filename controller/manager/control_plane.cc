#include "controller/manager/control_plane.h"

#include "client/in_process_api_client.h"
#include "controller/deployment/deployment_controller.h"
#include "controller/gc/garbage_collector.h"
#include "controller/replicaset/replicaset_controller.h"
#include "controller/scheduler/scheduler_controller.h"

namespace capstan::controller {

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(ControlPlaneOptions options) {
  std::unique_ptr<ControlPlane> plane(new ControlPlane());
  plane->api_ = std::make_unique<client::InProcessApiClient>(options.handler, options.token, "capstan-controllers");
  plane->manager_ = std::make_unique<ControllerManager>(plane->api_.get());
  plane->manager_->Add(std::make_unique<replicaset::ReplicaSetController>(
      replicaset::ReplicaSetControllerOptions{options.replicaset_workers}));
  plane->manager_->Add(std::make_unique<deployment::DeploymentController>(
      deployment::DeploymentControllerOptions{options.deployment_workers}));
  scheduler::SchedulerControllerOptions sopts;
  sopts.workers = options.scheduler_workers;
  plane->manager_->Add(std::make_unique<scheduler::SchedulerController>(sopts));
  plane->manager_->Add(std::make_unique<gc::GarbageCollector>());
  CAPSTAN_RETURN_IF_ERROR(plane->manager_->Start());
  return plane;
}

ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Stop() {
  if (manager_) manager_->Stop();
}

}  // namespace capstan::controller
