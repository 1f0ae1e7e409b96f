// Listing a whole collection in pages (limit/continue), as kubectl does with --chunk-size, so
// one request never has to carry every object of a big collection.
//
// Thread-safety: stateless functions (the RestClient is thread-safe).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/discovery.h"
#include "client/rest_client.h"

namespace capstan::client {

struct ListOptions {
  std::string label_selector;  // labelSelector
  std::string field_selector;  // fieldSelector
  int chunk_size = 500;        // limit per page; 0: no paging
  bool as_table = false;       // ask for a meta.k8s.io/v1 Table (server-side printing)
};

// Fetches every page of the collection at `path` and returns one document: a List with all
// items (or, as_table, a Table with all rows), metadata.resourceVersion from the last page and
// no continue token. Items of a plain list get apiVersion/kind filled from `resource` when the
// server left them out (as Kubernetes does), so they print as standalone objects.
Result<nlohmann::json> ListAll(const RestClient& client, const ResourceInfo& resource, const std::string& path,
                               const ListOptions& options);

}  // namespace capstan::client
