// ControllerManager: runs a set of controllers against one API (kube-controller-manager's role).
//
// Start(): Setup every controller (they register their informers with the shared factory, so
// each collection is listed and watched once for all of them), start the informers, wait until
// all caches have synced, then Start every controller. Stop(): stop the controllers (they drain
// their queues), take their handlers out of the informers (ControllerContext::AddEventHandler
// marks them as the manager's), then stop the informers if the manager owns them (given ones may
// outlive it). A controller that fails Setup or Start fails Start() and everything already
// started is stopped again.
//
// Thread-safety: Add before Start; Start and Stop from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "base/status.h"
#include "client/api_client.h"
#include "client/informer_factory.h"
#include "controller/runtime/controller.h"

namespace capstan::controller {

struct ControllerManagerOptions {
  std::chrono::milliseconds sync_timeout{60000};  // for the informers' first LIST
  Clock* clock = nullptr;                          // nullptr: Clock::Real()
  // Informers shared with other parts of the process (which may have started them already), or
  // nullptr: the manager owns a factory of its own. Not owned; must outlive the manager.
  client::SharedInformerFactory* informers = nullptr;
};

class ControllerManager {
 public:
  // `api` must outlive the manager.
  ControllerManager(client::ApiClient* api, ControllerManagerOptions options = {});
  ~ControllerManager();  // Stop()

  void Add(std::unique_ptr<Controller> controller);
  Status Start();
  void Stop();  // idempotent

  client::SharedInformerFactory& informers() { return *informers_; }

 private:
  client::ApiClient* const api_;
  const ControllerManagerOptions options_;
  std::unique_ptr<client::SharedInformerFactory> owned_informers_;  // null with options.informers
  client::SharedInformerFactory* const informers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  size_t started_ = 0;  // controllers_[0, started_) are running
  bool stopped_ = false;
};

}  // namespace capstan::controller
