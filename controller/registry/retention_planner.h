// RetentionPlanner: which tags a RegistryCleanupPolicy keeps and how the others go. A pure
// function of the scanned inventory, the policy, the in-use set and the time; no I/O.
//
// Semantics (docs/registry-cleanup.md says the same):
//  - A tag is kept when any keep rule holds for it; the reasons, in this order:
//      in-use              a Pod / ReplicaSet / Deployment references repository:tag or
//                          repository@digest, or runs the image (or, for an index, one of its
//                          children) by config digest (keep.inUse, default true)
//      tag-regex           the tag matches one of keep.tags (the pattern must match the whole tag)
//      newest              its image is among the keep.newest newest images of its repository
//                          (images ranked by `created`, newest first; every tag of such an image)
//      newer-than          its image was created less than keep.newerThan ago
//      no-created-time     its image has no (parseable) `created`, or one before 2000-01-01 (a
//                          reproducible build's 1970 / 1980 placeholder): never removed, reported
//      child-of-kept-index its manifest is a child of an index that a kept tag points at
//  - Every other tag is removed:
//      delete-manifest     when no kept tag shares its digest: DELETE the manifest by digest
//                          (which also removes every other removed tag on that digest)
//      untag               when a kept tag shares the digest: only this tag goes
//  - A tag on an untag's throwaway manifest (ImageInfo::untag_leftover: an interrupted untag) is
//    deleted with it whatever the keep rules say, finishing the untag.
//  - An index's `created` is its newest child's. Children of a removed index are left in place.
//  - Repositories with a scan error get no decisions (nothing is removed from them).
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "controller/registry/inventory.h"

namespace capstan::registry {

struct RetentionPolicy {
  std::vector<std::regex> keep_tags;        // matched against the whole tag
  int64_t keep_newest = 0;                  // 0: rule off
  std::optional<int64_t> newer_than_seconds;
  bool keep_in_use = true;
};

// References in use, relative to the registry being cleaned: "repo:tag", "repo@digest" (manifest
// digest) and InUseConfigKey(repo, config digest) (an image Docker reports by its config digest).
using InUseSet = std::set<std::string>;
inline std::string InUseConfigKey(const std::string& repository, const std::string& config_digest) {
  return repository + " config " + config_digest;
}

enum class Action { kKeep, kDeleteManifest, kUntag };
const char* ActionName(Action action);  // "keep", "delete-manifest", "untag"

struct TagDecision {
  std::string repository;
  std::string tag;
  std::string digest;
  std::string media_type;
  std::string created;   // as the image says; empty when unknown
  int64_t size = 0;
  Action action = Action::kKeep;
  // Keep: the reasons that hold, comma-separated in the order above ("in-use,newest").
  // Remove: why this way ("no keep rule holds"; for untag, the kept tag sharing the digest).
  std::string reason;
};

struct Plan {
  std::vector<TagDecision> decisions;        // repository order, then each repository's tag order
  int64_t scanned = 0;                       // tags looked at
  std::map<std::string, int64_t> kept_by_reason;  // by each kept tag's first reason
  int64_t to_delete = 0;                     // tags removed by deleting their manifest
  int64_t to_untag = 0;
  // Bytes of blobs that only deleted manifests reference (anywhere in the inventory): what a
  // garbage collection would free after this plan.
  int64_t bytes_reclaimable = 0;
};

Plan PlanRetention(const Inventory& inventory, const RetentionPolicy& policy, const InUseSet& in_use,
                   int64_t now_seconds);

}  // namespace capstan::registry
