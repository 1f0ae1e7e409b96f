#include "controller/manager/controller_manager.h"

#include "base/log.h"

namespace capstan::controller {

ControllerManager::ControllerManager(client::ApiClient* api, ControllerManagerOptions options)
    : api_(api),
      options_(options),
      owned_informers_(options.informers == nullptr ? std::make_unique<client::SharedInformerFactory>(api) : nullptr),
      informers_(options.informers != nullptr ? options.informers : owned_informers_.get()) {}

ControllerManager::~ControllerManager() { Stop(); }

void ControllerManager::Add(std::unique_ptr<Controller> controller) { controllers_.push_back(std::move(controller)); }

Status ControllerManager::Start() {
  ControllerContext ctx{api_, informers_, options_.clock != nullptr ? options_.clock : Clock::Real(), this};
  for (auto& c : controllers_) {
    Status st = c->Setup(ctx);
    if (!st.ok()) return Status(st.code(), c->name() + " controller: " + st.message());
  }
  informers_->StartAll();
  if (!informers_->WaitForSyncAll(options_.sync_timeout)) {
    if (owned_informers_) owned_informers_->StopAll();
    return Status::Unavailable("controllers: the informers did not sync within " +
                               std::to_string(options_.sync_timeout.count()) + " ms");
  }
  for (auto& c : controllers_) {
    Status st = c->Start();
    if (!st.ok()) {
      Stop();
      return Status(st.code(), c->name() + " controller: " + st.message());
    }
    ++started_;
    log::Info("controller started", {{"controller", c->name()}});
  }
  return Status::Ok();
}

void ControllerManager::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Newest first: a controller may depend on what an earlier one keeps up.
  while (started_ > 0) controllers_[--started_]->Stop();
  // Also the handlers of controllers that failed Setup or never started: Setup adds them.
  informers_->RemoveEventHandlers(this);
  if (owned_informers_) owned_informers_->StopAll();
}

}  // namespace capstan::controller
