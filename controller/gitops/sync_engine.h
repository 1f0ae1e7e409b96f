// The sync engine: one run of a Sync as a transaction over the API (docs/gitops.md).
//
//   1. Build: every manifest file is parsed (multi-document YAML or JSON); each object gets the
//      ownership label gitops.capstan.io/sync=<sync namespace>.<sync name> and, when namespaced
//      and declaring none, the Sync's targetNamespace. Errors name file, document and line.
//   2. Compare: the live objects are listed (one labelled list per kind and namespace,
//      live_state.h); those already as their declaration would leave them (resourceVersion as
//      recorded and same declaration, or the three-way comparison finds nothing) are unchanged and
//      sent nothing. The steps below concern only the others: a no-op run sends no dry-run and no
//      apply, and a one-file commit sends one of each.
//   3. Validate: every changed object is sent with dryRun=All before anything is applied. Objects in a
//      Namespace the same commit creates cannot be dry-run before it exists: those Namespaces
//      (only those; an empty Namespace changes nothing else) are created first, then the objects
//      in them are dry-run. Any failure: nothing else is applied and the previous state stays.
//   4. Apply, with client/apply's three-way merge, in ApplyOrder (Namespaces, ConfigMaps and
//      Secrets, Services, the rest).
//   5. Prune (when asked): objects in the previous inventory that the commit no longer declares,
//      with prune.h's guards. A kept Namespace leaves the inventory.
// An empty render (no objects) fails unless allow_empty: a vanished or emptied path never prunes
// everything by accident. A path missing from the commit is the caller's BuildFailed.
//
// Thread-safety: functions; the ApiClient is thread-safe, each call makes its own Discovery.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/api_client.h"
#include "client/discovery.h"
#include "controller/gitops/git_source.h"

namespace capstan::controller::gitops {

inline constexpr const char* kSyncLabel = "gitops.capstan.io/sync";
inline constexpr const char* kPruneKey = "gitops.capstan.io/prune";  // "disabled" opts out of prune

// "<namespace>.<name>": a label value cannot hold "/"; a namespace holds no ".", so the first "."
// splits it unambiguously (the Sync kind keeps the whole within 63 characters).
std::string SyncLabelValue(const std::string& sync_namespace, const std::string& sync_name);

// Identity (ordering and equality) is group, kind, namespace and name: the version is only how the
// object was last applied, so a manifest moving to another version of its kind is the same object
// (never pruned as one that left the commit).
struct ObjectRef {
  std::string api_version, kind, namespace_name, name;

  nlohmann::json ToJson() const;  // {"apiVersion","kind","namespace","name"}
  static ObjectRef FromJson(const nlohmann::json& entry);
  std::string Display() const;  // "Deployment/shop/web", "Namespace/shop"
  bool operator<(const ObjectRef& o) const;
  bool operator==(const ObjectRef& o) const;
};

// The resourceVersion each object had when last seen in sync with its declaration (live_state.h).
using ResourceVersions = std::map<ObjectRef, std::string>;

struct SyncRequest {
  std::string sync_namespace, sync_name;
  std::vector<ManifestFile> files;
  std::string target_namespace;
  bool prune = false;
  bool allow_empty = false;
  std::vector<ObjectRef> previous_inventory;
  ResourceVersions previous_versions;  // of previous_inventory's objects, where known
  // Page size of the lists that check a Namespace for foreign objects before pruning it (every
  // page is read; tests make it small).
  size_t list_page_size = 500;
};

struct SyncOutcome {
  bool ok = false;
  // Succeeded, BuildFailed, ValidationFailed, ApplyFailed, PruneFailed.
  std::string reason;
  std::string message;
  // What this Sync now owns: on success the applied objects; after a failure before applying,
  // the previous inventory unchanged; after a partial apply or prune, both merged.
  std::vector<ObjectRef> inventory;
  ResourceVersions versions;  // for the inventory's objects, where known
  int created = 0, configured = 0, unchanged = 0, pruned = 0;
};

// One object the commit declares, ready to apply.
struct DesiredObject {
  std::string location;  // "apps/web.yaml: document 2 (line 14)"
  nlohmann::json object;  // labelled, namespace set for namespaced kinds, removed otherwise
  ObjectRef ref;
  client::ResourceInfo resource;
};

// Step 1 alone (no server writes; discovery only): the objects, or a SyncOutcome with
// BuildFailed / ValidationFailed in `failure`.
bool BuildObjects(client::ApiClient& api, const SyncRequest& request, std::vector<DesiredObject>* objects,
                  SyncOutcome* failure);

SyncOutcome RunSync(client::ApiClient& api, const SyncRequest& request);

// Health, for spec.wait: "" when every object of `inventory` is healthy, else what is not yet
// ("Deployment/shop/web: 1 of 2 replicas available"). Deployments must have observed their
// generation with every replica updated and available; Pods must be Ready; other kinds count as
// healthy once they exist (they are not read). Read with one list per namespace of Deployments
// and of Pods (it runs every second during a wait), not a GET per object.
Result<std::string> FirstUnhealthy(client::ApiClient& api, const std::vector<ObjectRef>& inventory);

}  // namespace capstan::controller::gitops
