// Inventory: what a scan of a registry found, the input of retention planning. Plain values; the
// scanner (inventory_scanner.h) fills it, the planner (retention_planner.h) reads it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace capstan::registry {

struct BlobRef {
  std::string digest;
  int64_t size = 0;
};

// One manifest by digest: a single-platform image or an index (manifest list / OCI index).
struct ImageInfo {
  std::string digest;
  std::string media_type;
  bool is_index = false;
  // RFC 3339 as the config blob says; for an index, its newest child's. Empty: none known.
  std::string created;
  std::optional<int64_t> created_seconds;  // parsed `created`; nullopt: absent or malformed
  int64_t size = 0;                         // config + layers; an index: the sum over its children
  std::vector<BlobRef> blobs;               // config and layers (images only)
  std::string config_digest;                // the config blob's digest (images only; "" if none)
  std::vector<std::string> children;        // child manifest digests (indexes only)
  // The throwaway manifest of an untag (an index annotated capstan.io/untag): a tag on it was
  // left by a run that stopped between pointing the tag there and deleting the throwaway.
  bool untag_leftover = false;
};

struct TagInfo {
  std::string tag;
  std::string digest;
};

struct RepositoryInventory {
  std::string name;                          // "app/web"
  std::vector<TagInfo> tags;                 // in the registry's order
  std::map<std::string, ImageInfo> images;   // by digest: every tagged manifest and every index child
  std::string error;                         // non-empty: the scan of this repository failed
};

struct Inventory {
  std::vector<RepositoryInventory> repositories;
};

}  // namespace capstan::registry
