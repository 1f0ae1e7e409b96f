#include "controller/registry/cleanup_run.h"

#include <algorithm>
#include <chrono>

#include "api/kinds/printing.h"
#include "controller/registry/in_use_images.h"
#include "controller/registry/inventory_scanner.h"
#include "controller/registry/managed_registry.h"
#include "controller/registry/registry_credentials.h"

namespace capstan::registry {
namespace {

std::string Now() { return api::kinds::FormatRfc3339(api::kinds::NowEpochSeconds()); }

Result<nlohmann::json> GetSecret(client::ApiClient& api, const std::string& ns, const std::string& name) {
  Result<nlohmann::json> secret = api.Get("/api/v1/namespaces/" + ns + "/secrets/" + name);
  if (!secret.ok()) return secret.status().Annotate("reading Secret " + ns + "/" + name);
  return secret;
}

}  // namespace

std::string RunReport::ResultName() const {
  if (!error.ok()) return "Failed";
  if (dry_run) return "DryRun";
  if (execution.failed > 0 && execution.deleted + execution.untagged == 0) return "Failed";
  if (execution.failed > 0 || !repository_errors.empty()) return "PartiallyFailed";
  if (garbage_collection.ran && !garbage_collection.error.ok()) return "PartiallyFailed";
  return "Succeeded";
}

Result<std::unique_ptr<RegistryClient>> ConnectRegistry(client::ApiClient& api, const std::string& ns,
                                                        const CleanupSpec& spec, RegistryClientOptions options) {
  RegistryEndpoint endpoint;
  endpoint.url = spec.url;
  endpoint.insecure_skip_tls_verify = spec.insecure_skip_tls_verify;
  if (!spec.credentials_secret.empty()) {
    Result<nlohmann::json> secret = GetSecret(api, ns, spec.credentials_secret);
    if (!secret.ok()) return secret.status();
    CAPSTAN_RETURN_IF_ERROR(ApplyCredentialsSecret(*secret, &endpoint));
  }
  if (!spec.ca_secret.empty()) {
    Result<nlohmann::json> secret = GetSecret(api, ns, spec.ca_secret);
    if (!secret.ok()) return secret.status();
    CAPSTAN_RETURN_IF_ERROR(ApplyCaSecret(*secret, &endpoint));
  }
  return RegistryClient::Create(std::move(endpoint), options);
}

RunReport RunCleanup(client::ApiClient& api, const std::string& ns, const CleanupSpec& spec, const InUseSet& in_use,
                     bool dry_run, RegistryClientOptions options) {
  RunReport report;
  report.start_time = Now();
  report.dry_run = dry_run;
  report.in_use_matched = static_cast<int64_t>(in_use.size());
  Result<std::unique_ptr<RegistryClient>> client = ConnectRegistry(api, ns, spec, options);
  if (!client.ok()) {
    report.error = client.status();
    report.completion_time = Now();
    return report;
  }
  Result<Inventory> inventory = ScanRegistry(**client, spec.scan);
  if (!inventory.ok()) {
    report.error = inventory.status();
  } else {
    report.repositories = static_cast<int64_t>(inventory->repositories.size());
    for (const RepositoryInventory& repo : inventory->repositories) {
      if (!repo.error.empty()) report.repository_errors.emplace_back(repo.name, repo.error);
    }
    report.plan = PlanRetention(*inventory, spec.retention, in_use, api::kinds::NowEpochSeconds());
    if (!dry_run) report.execution = ExecutePlan(**client, report.plan, {spec.scan.concurrency});
  }
  report.requests = (*client)->request_count();
  report.completion_time = Now();
  return report;
}

bool NeedsGarbageCollection(const RunReport& report) {
  return !report.dry_run && report.error.ok() && report.execution.deleted + report.execution.untagged > 0;
}

void CollectGarbageAfterRun(ManagedRegistry& registry, int64_t storage_bytes_before, RunReport* report) {
  GarbageCollectionReport& gc = report->garbage_collection;
  gc.ran = true;
  gc.storage_bytes_before = storage_bytes_before;
  Result<GarbageCollectionResult> collected = registry.CollectGarbage();
  if (!collected.ok()) {
    gc.error = collected.status();
    gc.storage_bytes_after = registry.StorageBytes();
  } else {
    gc.storage_bytes_after = collected->storage_bytes_after;
    gc.read_only_window_ms = collected->read_only_window.count();
    gc.collect_ms = collected->collect_time.count();
  }
  gc.bytes_reclaimed = std::max<int64_t>(0, gc.storage_bytes_before - gc.storage_bytes_after);
  report->completion_time = Now();
}

Result<InUseSet> ListInUse(client::ApiClient& api, const std::string& registry_url) {
  std::string host = RegistryHostOf(registry_url);
  InUseSet in_use;
  for (const char* path : {"/api/v1/pods", "/apis/apps/v1/replicasets", "/apis/apps/v1/deployments"}) {
    std::string next;
    do {
      client::Query query = {{"limit", "500"}};
      if (!next.empty()) query.emplace_back("continue", next);
      Result<nlohmann::json> list = api.List(path, query);
      if (!list.ok()) return list.status().Annotate(std::string("listing ") + path);
      for (const nlohmann::json& item : list->value("items", nlohmann::json::array())) {
        AddWorkloadImages(item, host, &in_use);
      }
      next = list->contains("metadata") ? (*list)["metadata"].value("continue", std::string()) : "";
    } while (!next.empty());
  }
  return in_use;
}

}  // namespace capstan::registry
