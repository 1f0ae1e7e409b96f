// GarbageCollector: cascading deletion through ownerReferences (Kubernetes' garbage collector).
//
// It watches every collection the API serves that can be listed, watched and deleted (found
// through discovery, so kinds added later are covered without changes here; Events are left out:
// nothing owns them and they churn). For each object it keeps the owner-uid index, which is the
// dependency graph. Three duties, level-triggered:
//   * Dangling dependents: an object whose owners are all gone (no object of that kind, name and
//     uid — confirmed with a live GET, never from the cache alone) is deleted in the background;
//     owner references to gone owners are removed when other owners remain. This covers the
//     Background propagation policy, and runs after a restart too (every object is checked on
//     the first LIST).
//   * Orphan: an owner being deleted with the "orphan" finalizer first has its reference removed
//     from every dependent, then loses the finalizer (and the API deletes it).
//   * Foreground: an owner being deleted with the "foregroundDeletion" finalizer has its
//     dependents deleted (themselves in foreground, so the cascade is depth-first) and loses the
//     finalizer only once no dependent with blockOwnerDeletion remains.
// Writes use the object's resourceVersion (PUT), so a concurrent change is retried, not clobbered.
//
// Thread-safety: Controller's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/informer.h"
#include "controller/runtime/queued_controller.h"

namespace capstan::controller::gc {

// Whether an update of a cached object can change what the collector does with it: its
// ownerReferences, deletionTimestamp or finalizers changed, or the resourceVersion did not (a
// re-list's resync, which must re-check everything). Any other update (status, spec, labels:
// most of a Pod's life) leaves its owners and its deletion where they were; an owner's own
// deletion wakes its dependents through the delete handler.
bool UpdateConcernsCollector(const nlohmann::json& old_obj, const nlohmann::json& obj);

struct GarbageCollectorOptions {
  int workers = 4;
};

class GarbageCollector final : public QueuedController {
 public:
  explicit GarbageCollector(GarbageCollectorOptions options = {});
  ~GarbageCollector() override;

  Status Setup(const ControllerContext& ctx) override;
  ReconcileResult Reconcile(const std::string& key) override;

 private:
  // One served collection.
  struct Resource {
    std::string api_version;  // "apps/v1"
    std::string kind;         // "ReplicaSet"
    std::string plural;
    bool namespaced = true;
    client::Informer* informer = nullptr;
  };

  Status Discover();
  std::string ObjectPath(const Resource& r, const std::string& ns, const std::string& name) const;
  const Resource* FindResource(const std::string& api_version, const std::string& kind) const;
  // Every cached object whose ownerReferences name `uid`, with its resource.
  std::vector<std::pair<const Resource*, client::ObjectPtr>> Dependents(const std::string& uid) const;
  // Whether the owner named by `ref` exists (live GET). An error leaves it undecided.
  Result<bool> OwnerExists(const nlohmann::json& ref, const std::string& ns);
  ReconcileResult ProcessDeleting(const Resource& r, const nlohmann::json& obj);
  ReconcileResult ProcessOwners(const Resource& r, const nlohmann::json& obj);
  void Enqueue(size_t resource, const nlohmann::json& obj);

  ControllerContext ctx_;
  std::vector<Resource> resources_;  // fixed after Setup
};

}  // namespace capstan::controller::gc
