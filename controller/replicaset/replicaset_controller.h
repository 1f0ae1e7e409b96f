// ReplicaSetController: keeps spec.replicas Pods for every ReplicaSet (Kubernetes'
// replicaset-controller), around the pure PlanReplicaSet (replicaset_sync.h).
//
// Reads: the ReplicaSets and Pods of all namespaces through shared informers. A ReplicaSet's
// candidate Pods are the ones it controls (owner-uid index) plus the orphans of its namespace
// (an index of Pods without a controller), so a sync costs O(its Pods), not O(namespace).
// Writes, through the API: Pod creates (generateName, in slow-start batches), Pod deletes,
// adopt/release patches, and the ReplicaSet's status (PUT of /status with its resourceVersion).
// Expectations keep a sync from acting again before the informer shows its own writes, so it
// never over-creates while creates are in flight.
//
// Thread-safety: Controller's (Setup/Start/Stop from the manager); reconciles run on `workers`
// threads, never two for the same ReplicaSet.
#pragma once

#include <memory>
#include <string>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "controller/replicaset/expectations.h"
#include "controller/runtime/queued_controller.h"

namespace capstan::controller::replicaset {

using json = nlohmann::json;

struct ReplicaSetControllerOptions {
  int workers = 16;  // reconciles block on durable writes: more workers, more writes per fsync
};

class ReplicaSetController final : public QueuedController {
 public:
  explicit ReplicaSetController(ReplicaSetControllerOptions options = {});
  ~ReplicaSetController() override;

  void Stop() override;
  Status Setup(const ControllerContext& ctx) override;
  // One sync of the ReplicaSet "namespace/name".
  ReconcileResult Reconcile(const std::string& key) override;

 private:
  void OnPod(const json* old_pod, const json* new_pod, bool deleted);
  void EnqueueOwner(const json& pod);
  // Every ReplicaSet of the namespace whose selector matches an orphan Pod's labels.
  void EnqueueMatching(const json& pod);

  ControllerContext ctx_;
  client::Informer* replicasets_ = nullptr;
  client::Informer* pods_ = nullptr;
  std::unique_ptr<ControllerExpectations> expectations_;
  std::unique_ptr<client::EventRecorder> events_;  // SuccessfulCreate, SuccessfulDelete, FailedCreate
};

}  // namespace capstan::controller::replicaset
