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

  // "Failed" (error, or removals failed and none succeeded), "DryRun", "PartiallyFailed" (some
  // removals or repositories failed), "Succeeded".
  std::string ResultName() const;
};

// A RegistryClient for `spec`, its Secrets read from namespace `ns` through `api`.
Result<std::unique_ptr<RegistryClient>> ConnectRegistry(client::ApiClient& api, const std::string& ns,
                                                        const CleanupSpec& spec, RegistryClientOptions options = {});

RunReport RunCleanup(client::ApiClient& api, const std::string& ns, const CleanupSpec& spec, const InUseSet& in_use,
                     bool dry_run, RegistryClientOptions options = {});

// The in-use set from Pods, ReplicaSets and Deployments of every namespace, listed through `api`
// (the controller uses its informer caches instead).
Result<InUseSet> ListInUse(client::ApiClient& api, const std::string& registry_url);

}  // namespace capstan::registry
