// Controller: one control loop, as the ControllerManager runs it.
//
// A controller is level-triggered: its informers' handlers only compute keys and add them to its
// WorkQueue; its reconcile reads desired and observed state from the informers' caches (never
// mutating a cached object), acts through the ApiClient exactly as a remote client would, and
// returns a ReconcileResult. Lifecycle, driven by the manager:
//   1. Setup(ctx): ask ctx.informers for the collections it reads and add handlers/indexes.
//   2. (the manager starts every informer and waits until all have synced)
//   3. Start(): start the worker pool (and anything else of its own).
//   4. Stop(): stop taking keys and drain (the informers are stopped by the manager afterwards).
//
// Thread-safety: Setup, Start and Stop are called from the manager's thread, in that order.
#pragma once

#include <string>
#include <utility>

#include "base/status.h"
#include "client/api_client.h"
#include "client/informer_factory.h"
#include "controller/runtime/clock.h"

namespace capstan::controller {

// What every controller gets from the manager. All pointers outlive the controller.
struct ControllerContext {
  client::ApiClient* api = nullptr;
  client::SharedInformerFactory* informers = nullptr;
  Clock* clock = nullptr;  // for queues and requeue delays; Clock::Real() in production
  // The manager: the owner of every handler its controllers add (the informers may be shared with
  // other parts of the process and outlive the controllers; the manager takes its controllers'
  // handlers out when it stops).
  const void* handler_owner = nullptr;

  // Adds `handler` to `informer` on behalf of the manager. Controllers add handlers only so.
  Status AddEventHandler(client::Informer* informer, client::ResourceEventHandler handler) const {
    handler.owner = handler_owner;
    return informer->AddEventHandler(std::move(handler));
  }
};

class Controller {
 public:
  virtual ~Controller() = default;
  virtual const std::string& name() const = 0;
  virtual Status Setup(const ControllerContext& ctx) = 0;
  virtual Status Start() = 0;
  virtual void Stop() = 0;
};

}  // namespace capstan::controller
