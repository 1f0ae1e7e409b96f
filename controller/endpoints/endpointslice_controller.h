// EndpointSliceController: keeps the EndpointSlices of every Service with a selector (Kubernetes'
// endpointslice-controller), around the pure PlanEndpointSlices (endpointslice_sync.h).
//
// Reads: Services, Pods, Nodes and EndpointSlices of all namespaces through shared informers
// (slices indexed by "namespace/service-name" when this controller manages them). A Service is
// synced when it changes, when a Pod it selects (before or after the change) changes, when a
// Node's addresses change (its Services with Pods on it... simply every Service: rare), and when
// one of its managed slices changes (someone else's write is repaired).
// Writes, through the API: slice creates (generateName), updates (CAS on resourceVersion) and
// deletes (uid precondition); nothing when the plan is empty. Until the informer shows the
// slices a sync wrote, the next sync of that Service waits (requeued after 20 ms, up to 5 s), so
// a burst of Pod events never creates a slice twice from a stale cache.
//
// Thread-safety: Controller's; reconciles run on `workers` threads, never two for one Service.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client/informer.h"
#include "controller/runtime/queued_controller.h"

namespace capstan::controller::endpoints {

struct EndpointSliceControllerOptions {
  int workers = 4;
};

class EndpointSliceController final : public QueuedController {
 public:
  explicit EndpointSliceController(EndpointSliceControllerOptions options = {});
  ~EndpointSliceController() override;

  Status Setup(const ControllerContext& ctx) override;
  ReconcileResult Reconcile(const std::string& key) override;

 private:
  struct Written {
    std::string name;
    int64_t revision = 0;  // 0: deleted (must be gone from the cache)
  };
  void OnPod(const nlohmann::json* old_pod, const nlohmann::json& pod);
  // Whether the slice cache shows every write of the last sync of `key`.
  bool CacheCaughtUp(const std::string& key);

  ControllerContext ctx_;
  client::Informer* services_ = nullptr;
  client::Informer* pods_ = nullptr;
  client::Informer* nodes_ = nullptr;
  client::Informer* slices_ = nullptr;

  std::mutex mu_;
  // Service key -> the slice writes of its last sync and when they were made. Guarded by mu_.
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::vector<Written>>> written_;
};

}  // namespace capstan::controller::endpoints
