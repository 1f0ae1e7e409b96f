// QueuedController: the common shape of a level-triggered controller — informer handlers add
// keys to a WorkQueue, a WorkerPool of `workers` threads calls Reconcile(key). Subclasses
// implement Setup (informers and handlers, after calling InitQueue) and Reconcile.
//
// Thread-safety: Controller's; Reconcile runs on the pool's threads, never twice for one key.
#pragma once

#include <memory>
#include <string>

#include "controller/runtime/controller.h"
#include "controller/runtime/work_queue.h"
#include "controller/runtime/worker_pool.h"

namespace capstan::controller {

class QueuedController : public Controller {
 public:
  ~QueuedController() override;  // subclasses call Stop() in their destructors

  const std::string& name() const override { return name_; }
  Status Start() override;
  void Stop() override;

  // One sync of `key` (public for tests).
  virtual ReconcileResult Reconcile(const std::string& key) = 0;

 protected:
  QueuedController(std::string name, int workers) : name_(std::move(name)), workers_(workers) {}
  // Creates the queue on ctx.clock; call first in Setup.
  void InitQueue(const ControllerContext& ctx);
  WorkQueue& queue() { return *queue_; }

 private:
  const std::string name_;
  const int workers_;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<WorkerPool> pool_;
};

}  // namespace capstan::controller
