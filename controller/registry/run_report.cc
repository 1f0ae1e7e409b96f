#include "controller/registry/run_report.h"

namespace capstan::registry {
namespace {

using json = nlohmann::json;

json Condition(const std::string& type, bool ok, const std::string& reason, const std::string& message,
               const std::string& now) {
  return {{"type", type}, {"status", ok ? "True" : "False"}, {"reason", reason}, {"message", message},
          {"lastTransitionTime", now}};
}

std::string ReasonFor(const Status& error) {
  switch (error.code()) {
    case Code::kUnauthorized: return "Unauthorized";
    case Code::kForbidden: return "Forbidden";
    case Code::kMethodNotAllowed: return "DeletionRefused";
    case Code::kUnavailable: return "RegistryUnavailable";
    case Code::kTooManyRequests: return "RateLimited";
    case Code::kNotFound: return "NotFound";
    case Code::kInvalid: return "InvalidConfiguration";
    default: return "RunFailed";
  }
}

}  // namespace

std::string DecisionsConfigMapName(const std::string& policy_name) { return policy_name + "-decisions"; }

json RunStatus(const RunReport& report, const std::string& trigger, const std::string& configmap_name) {
  const ExecutionResult& ex = report.execution;
  const Plan& plan = report.plan;
  int64_t kept = 0;
  json by_reason = json::object();
  for (const auto& [reason, n] : plan.kept_by_reason) {
    by_reason[reason] = n;
    kept += n;
  }
  json errors = json::array();
  if (!report.error.ok()) errors.push_back({{"repository", ""}, {"tag", ""}, {"message", report.error.message()}});
  for (const auto& [repo, message] : report.repository_errors) {
    if (errors.size() < kMaxStatusErrors) errors.push_back({{"repository", repo}, {"tag", ""}, {"message", message}});
  }
  for (size_t i = 0; i < ex.results.size() && errors.size() < kMaxStatusErrors; ++i) {
    if (ex.results[i].error.empty()) continue;
    errors.push_back({{"repository", plan.decisions[i].repository},
                      {"tag", plan.decisions[i].tag},
                      {"message", ex.results[i].error}});
  }
  const GarbageCollectionReport& gc = report.garbage_collection;
  if (gc.ran && !gc.error.ok() && errors.size() < kMaxStatusErrors) {
    errors.push_back({{"repository", ""}, {"tag", ""}, {"message", "garbage collection: " + gc.error.message()}});
  }
  std::string result = report.ResultName();
  json status = {
      {"lastRun", {{"startTime", report.start_time}, {"completionTime", report.completion_time}, {"result", result},
                   {"dryRun", report.dry_run}, {"trigger", trigger}, {"decisionsConfigMap", configmap_name},
                   {"requestCount", report.requests}, {"inUseMatched", report.in_use_matched}}},
      {"counts", {{"repositories", report.repositories}, {"scanned", plan.scanned}, {"kept", kept},
                  {"keptByReason", by_reason}, {"deleted", ex.deleted}, {"untagged", ex.untagged},
                  {"skipped", ex.skipped}, {"failed", ex.failed}}},
      {"bytesReclaimable", plan.bytes_reclaimable},
      {"errors", errors}};
  if (report.managed_registry) {
    status["lastRun"]["managedRegistry"] = true;
    if (gc.ran) {
      status["lastRun"]["bytesReclaimed"] = gc.bytes_reclaimed;
      status["lastRun"]["garbageCollection"] = {
          {"result", gc.error.ok() ? "Succeeded" : "Failed"}, {"readOnlyWindowMillis", gc.read_only_window_ms},
          {"collectMillis", gc.collect_ms}, {"storageBytesBefore", gc.storage_bytes_before},
          {"storageBytesAfter", gc.storage_bytes_after}};
      if (!gc.error.ok()) status["lastRun"]["garbageCollection"]["message"] = gc.error.message();
    }
  }
  const std::string& now = report.completion_time;
  json conditions = json::array();
  if (!report.error.ok()) {
    conditions.push_back(Condition("Ready", false, ReasonFor(report.error), report.error.message(), now));
  } else if (result == "Succeeded" || result == "DryRun") {
    conditions.push_back(Condition("Ready", true, result == "DryRun" ? "DryRunSucceeded" : "RunSucceeded",
                                   std::to_string(plan.to_delete + plan.to_untag) + " of " +
                                       std::to_string(plan.scanned) + " tags " +
                                       (report.dry_run ? "would be removed" : "planned for removal"),
                                   now));
  } else if (ex.first_error.ok() && gc.ran && !gc.error.ok()) {
    conditions.push_back(Condition("Ready", false, "GarbageCollectionFailed", gc.error.message(), now));
  } else {
    conditions.push_back(Condition("Ready", false, ex.first_error.ok() ? "RunPartiallyFailed" : ReasonFor(ex.first_error),
                                   ex.first_error.ok() ? "some repositories could not be scanned"
                                                       : ex.first_error.message(),
                                   now));
  }
  bool refused = ex.first_error.code() == Code::kMethodNotAllowed;
  conditions.push_back(Condition("DeletionAllowed", !refused, refused ? "DeletionRefused" : "DeletionAccepted",
                                 refused ? ex.first_error.message()
                                         : "the registry has not refused a removal in the last run",
                                 now));
  status["conditions"] = conditions;
  return status;
}

json DecisionRows(const RunReport& report) {
  json removals = json::array();
  json kept = json::array();
  for (size_t i = 0; i < report.plan.decisions.size(); ++i) {
    const TagDecision& d = report.plan.decisions[i];
    json row = {{"repository", d.repository}, {"tag", d.tag}, {"digest", d.digest}, {"mediaType", d.media_type},
                {"created", d.created}, {"size", d.size}, {"decision", ActionName(d.action)}, {"reason", d.reason}};
    if (i < report.execution.results.size() && d.action != Action::kKeep) {
      row["outcome"] = OutcomeName(report.execution.results[i].outcome);
      if (!report.execution.results[i].error.empty()) row["error"] = report.execution.results[i].error;
    }
    (d.action == Action::kKeep ? kept : removals).push_back(std::move(row));
  }
  for (json& row : kept) removals.push_back(std::move(row));
  return removals;
}

json DecisionsConfigMap(const json& policy, const RunReport& report) {
  const json& meta = policy["metadata"];
  std::string name = meta.value("name", std::string());
  json rows = DecisionRows(report);
  std::string text = "[";
  size_t included = 0;
  for (const json& row : rows) {
    std::string line = row.dump();
    if (text.size() + line.size() + 3 > kMaxDecisionBytes) break;
    text += (included++ ? ",\n" : "\n") + line;
  }
  text += "\n]\n";
  json summary = {{"startTime", report.start_time}, {"result", report.ResultName()}, {"dryRun", report.dry_run},
                  {"decisions", rows.size()}, {"truncated", rows.size() - included}};
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", DecisionsConfigMapName(name)},
            {"namespace", meta.value("namespace", std::string("default"))},
            {"labels", {{"registry.capstan.io/policy", name}}},
            {"ownerReferences", json::array({{{"apiVersion", "registry.capstan.io/v1alpha1"},
                                              {"kind", "RegistryCleanupPolicy"},
                                              {"name", name},
                                              {"uid", meta.value("uid", std::string())},
                                              {"controller", true},
                                              {"blockOwnerDeletion", true}}})}}},
          {"data", {{"decisions.json", text}, {"summary.json", summary.dump()}}}};
}

}  // namespace capstan::registry
