#include "controller/runtime/queued_controller.h"

namespace capstan::controller {

QueuedController::~QueuedController() = default;

void QueuedController::InitQueue(const ControllerContext& ctx) {
  queue_ = std::make_unique<WorkQueue>(WorkQueueOptions{name_, ctx.clock, nullptr});
}

Status QueuedController::Start() {
  if (queue_ == nullptr) return Status(Code::kInternal, name_ + ": Start before Setup");
  WorkerPoolOptions opts;
  opts.workers = workers_;
  pool_ = std::make_unique<WorkerPool>(queue_.get(), [this](const std::string& key) { return Reconcile(key); },
                                       opts);
  return pool_->Start();
}

void QueuedController::Stop() {
  if (pool_) pool_->Stop();
}

}  // namespace capstan::controller
