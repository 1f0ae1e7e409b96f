// The live side of a Sync: its objects as the API has them, read with one list per (resource,
// namespace) instead of one GET per object, and whether each is still as last applied.
//
// Each inventory entry remembers the resourceVersion its object had when it was last seen in sync
// with its declaration (the answer of an apply, or a list whose comparison found nothing to do).
// An object is then known to be in sync, without a three-way merge, when its resourceVersion has
// not moved and its last-applied annotation is the declaration byte for byte: every write to it
// (a hand edit, a controller's or /status write, a relabel) moves the resourceVersion, so drift is
// never missed, only compared again (client::ApplyWouldWrite, the test apply itself makes). A
// recorded version is a cache: a stale or missing one costs a comparison, never a wrong answer.
//
// Thread-safety: functions; the ApiClient is thread-safe, each call makes its own Discovery.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/api_client.h"
#include "client/discovery.h"
#include "controller/gitops/sync_engine.h"

namespace capstan::controller::gitops {

// Reads every page of the list at `path` (limit `page_size`, continue tokens followed), calling
// `each` per item. An expired token is an error (the caller decides what an error means).
Status ListEveryPage(client::ApiClient& api, const std::string& path, const client::Query& query, size_t page_size,
                     const std::function<void(const nlohmann::json& item)>& each);

// Live objects carrying the ownership label of `owner` ("<ns>.<name>"), keyed by identity.
using LiveObjects = std::map<ObjectRef, nlohmann::json>;
struct ListTarget {
  client::ResourceInfo resource;
  std::string namespace_name;  // "" for cluster-scoped resources
};
// One labelled list per distinct target. A resource the server does not serve lists nothing.
Result<LiveObjects> ListOwned(client::ApiClient& api, const std::string& owner, const std::vector<ListTarget>& targets,
                              size_t page_size);

// Whether `live` is what applying `desired` would leave alone: at once when its resourceVersion is
// the one in `seen` and its annotation is the declaration, else by the three-way comparison.
bool InSync(const DesiredObject& desired, const nlohmann::json& live, const ResourceVersions& seen);

// The inventory entries whose object is not as last seen: no recorded version, a moved one, gone,
// or no longer labelled as this Sync's. Empty: nothing changed since the last run, so with the same
// revision and spec there is nothing to read from git and nothing to apply. An entry whose kind is
// not served counts as moved.
Result<std::vector<ObjectRef>> MovedSinceSeen(client::ApiClient& api, const std::string& owner,
                                              const std::vector<ObjectRef>& inventory, const ResourceVersions& seen,
                                              size_t page_size = 500);

// Drift: for each desired object, the patch apply would send to bring the live object back (as
// client::ApplyPatch computes it); objects missing on the server are drift too ("deleted"). The
// live objects come from ListOwned (one not labelled as ours any more is read on its own). `seen`
// gets the resourceVersion of every object found in sync.
struct Drift {
  ObjectRef ref;
  std::string patch;  // compact JSON, or "deleted"
};
Result<std::vector<Drift>> DetectDrift(client::ApiClient& api, const std::string& owner,
                                       const std::vector<DesiredObject>& objects, ResourceVersions* seen,
                                       size_t page_size = 500);

}  // namespace capstan::controller::gitops
