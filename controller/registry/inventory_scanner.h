// ScanRegistry: reads a registry into an Inventory: the catalog (filtered by include / exclude
// globs), every tag of every repository, each tag's manifest (all four manifest types), each
// image's config blob (`created`) and sizes, and the children of indexes. Requests run on at most
// `concurrency` threads; a manifest or config is fetched once per repository and digest.
//
// A repository whose tags or manifests cannot be read gets its `error` set and is left alone by
// the planner; a catalog that cannot be read fails the scan.
//
// Thread-safety: stateless; uses `client` from several threads.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "controller/registry/inventory.h"
#include "controller/registry/registry_client.h"

namespace capstan::registry {

struct ScanOptions {
  std::vector<std::string> include;  // globs; empty: every repository
  std::vector<std::string> exclude;
  int concurrency = 8;
};

// Shell-style glob over a repository name: `*` and `?` do not cross '/', `**` does.
bool RepositoryMatches(const std::string& glob, const std::string& repository);

Result<Inventory> ScanRegistry(RegistryClient& client, const ScanOptions& options);

}  // namespace capstan::registry
