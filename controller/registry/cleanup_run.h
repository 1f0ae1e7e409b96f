// One cleanup run of a RegistryCleanupPolicy: connect (credentials and CA from Secrets read
// through the API), scan, plan, and unless dry, execute. Shared by the controller and by
// `capstan registry plan` (which always runs dry, from the user's machine).
//
// A failure before planning (Secret missing, registry unreachable or refusing the catalog) ends
// the run with `error` set and nothing removed.
//
// Thread-safety: stateless; the API client is used from the calling thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/api_client.h"
#include "controller/registry/cleanup_executor.h"
#include "controller/registry/policy_spec.h"
#include "controller/registry/registry_client.h"
#include "controller/registry/retention_planner.h"

namespace capstan::registry {

class ManagedRegistry;

// The read-only garbage-collection window that ends a run against the registry `capstan server
// --registry` runs (managed_registry.h), when the run removed something.
struct GarbageCollectionReport {
  bool ran = false;
  Status error;                       // the window failed (the registry is read-write again)
  int64_t storage_bytes_before = 0;   // the storage dir's disk usage when the run started
  int64_t storage_bytes_after = 0;    // ... after the window
  int64_t bytes_reclaimed = 0;        // before - after (0 when something was pushed meanwhile)
  int64_t read_only_window_ms = 0;    // read-write stopped -> read-write serving again
  int64_t collect_ms = 0;             // garbage-collect alone
};

struct RunReport {
  std::string start_time;        // RFC 3339
  std::string completion_time;
  bool dry_run = false;
  Status error;                  // the run could not plan: nothing was removed
  Plan plan;
  ExecutionResult execution;     // results empty for a dry run
  int64_t repositories = 0;
  std::vector<std::pair<std::string, std::string>> repository_errors;  // (repository, message)
  int64_t requests = 0;
  // Workload image references (tag, digest or config digest) found on this registry's host: 0
  // while workloads do run images from it means their references name the host differently.
  int64_t in_use_matched = 0;
  bool managed_registry = false;      // the registry is the one this server runs
  GarbageCollectionReport garbage_collection;

  // "Failed" (error, or removals failed and none succeeded), "DryRun", "PartiallyFailed" (some
  // removals or repositories or the garbage collection failed), "Succeeded".
  std::string ResultName() const;
};

// A RegistryClient for `spec`, its Secrets read from namespace `ns` through `api`.
Result<std::unique_ptr<RegistryClient>> ConnectRegistry(client::ApiClient& api, const std::string& ns,
                                                        const CleanupSpec& spec, RegistryClientOptions options = {});

RunReport RunCleanup(client::ApiClient& api, const std::string& ns, const CleanupSpec& spec, const InUseSet& in_use,
                     bool dry_run, RegistryClientOptions options = {});

// Whether a run against the managed registry ends with its read-only window: not dry, planned,
// and something was deleted or untagged.
bool NeedsGarbageCollection(const RunReport& report);

// Runs `registry`'s read-only window (ManagedRegistry::CollectGarbage) and records it in
// `report->garbage_collection`; `storage_bytes_before` is the storage's usage when the run started,
// so that bytes_reclaimed covers the run's removals and the collection.
void CollectGarbageAfterRun(ManagedRegistry& registry, int64_t storage_bytes_before, RunReport* report);

// The in-use set from Pods, ReplicaSets and Deployments of every namespace, listed through `api`
// (the controller uses its informer caches instead).
Result<InUseSet> ListInUse(client::ApiClient& api, const std::string& registry_url);

}  // namespace capstan::registry
