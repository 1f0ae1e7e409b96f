// Prune: deleting objects a Sync applied and no longer declares (a run with prune: true), or all
// of them (a pruning Sync being deleted), with the guards of docs/gitops.md:
//   - only objects that still carry the Sync's label (never one created by hand or taken over by
//     another Sync), and not gitops.capstan.io/prune=disabled (label or annotation);
//   - a Namespace only when it holds nothing but objects in `owned`, objects owned by others
//     (ownerReferences) or objects being deleted (every page of every namespaced list is read);
//   - the DELETE carries preconditions {uid, resourceVersion} of the object checked, so one
//     deleted and recreated, relabelled or opted out in between is never deleted; on 409 it is
//     checked again, up to 3 times.
// Deletes go in the reverse of client::ApplyOrder (Namespaces last), background propagation.
//
// Thread-safety: a function; the ApiClient is thread-safe, Discovery is the caller's thread's.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "client/api_client.h"
#include "client/discovery.h"
#include "controller/gitops/sync_engine.h"

namespace capstan::controller::gitops {

struct PruneResult {
  int pruned = 0;                          // deleted (or already gone when deleted)
  std::vector<ObjectRef> kept_namespaces;  // they hold objects this Sync does not manage
  std::vector<ObjectRef> changed;          // kept changing between check and delete: still owned
  std::vector<std::string> errors;         // "Deployment/shop/web: <message>"
};

PruneResult PruneObjects(client::ApiClient& api, client::Discovery& discovery, const std::string& owner,
                         std::vector<ObjectRef> gone, const std::set<ObjectRef>& owned, size_t page_size);

}  // namespace capstan::controller::gitops
