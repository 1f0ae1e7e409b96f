// registry.capstan.io/v1alpha1 RegistryCleanupPolicy (namespaced, short name rcp): a retention
// policy for a Registry v2 / OCI distribution registry, carried out by the registry cleanup
// controller (controller/registry). docs/registry-cleanup.md states the semantics.
//
// Defaults: keep.inUse true, concurrency 8. Validation (422 naming the field): registry.url is
// http(s)://host[:port]; keep.tags are valid ECMAScript regular expressions; keep.newerThan and
// interval are Go durations (interval at least 1m); schedule is five-field cron; schedule and
// interval are not both set; keep.newest and concurrency are in range. Status is the controller's
// (the status subresource); metadata.generation counts spec changes.
#include <regex>

#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"
#include "base/cron_schedule.h"
#include "base/duration.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr char kPrefix[] = "io.capstan.registry.v1alpha1.";
std::string Ref(const char* name) { return std::string(kPrefix) + name; }

SchemaPtr PolicySchema() {
  auto registry = Object(
      Ref("RegistryEndpoint"),
      {R("url", String("The registry's base URL, http(s)://host[:port].")),
       F("credentialsSecret", String("A Secret in the policy's namespace of type kubernetes.io/basic-auth "
                                     "(username, password) or kubernetes.io/dockerconfigjson (the entry for "
                                     "the registry's host).")),
       F("caSecret", String("A Secret in the policy's namespace whose key ca.crt holds PEM CA certificates "
                            "for an https registry.")),
       F("insecureSkipTLSVerify", Bool("Do not verify the registry's certificate."))});
  auto repositories = Object(
      Ref("RepositorySelector"),
      {F("include", AtomicArray(String(), "Repository globs to clean (* and ? stay within one path segment, ** "
                                          "crosses them). Default: every repository of the catalog.")),
       F("exclude", AtomicArray(String(), "Repository globs never cleaned, even when included."))});
  auto keep = Object(
      Ref("KeepRules"),
      {F("tags", AtomicArray(String(), "Tags kept: ECMAScript regular expressions, each matched against the whole "
                                       "tag, e.g. ^latest$ or ^v?\\d+\\.\\d+\\.\\d+$.")),
       F("newest", Integer("Per repository, keep every tag of the N most recently created images.")),
       F("newerThan", String("Keep images created less than this long ago (a duration, e.g. 720h).")),
       F("inUse", Bool("Keep tags that a Pod, ReplicaSet or Deployment template of any namespace references by tag "
                       "or digest. Defaults to true."))});
  auto spec = Object(
      Ref("RegistryCleanupPolicySpec"),
      {R("registry", registry),
       F("repositories", repositories),
       F("keep", keep),
       F("schedule", String("When to run, in five-field cron syntax (UTC), e.g. \"0 3 * * *\".")),
       F("interval", String("Run every this long (a duration, at least 1m); not with schedule.")),
       F("dryRun", Bool("Plan and report without removing anything.")),
       F("suspend", Bool("Run neither on schedule nor on request.")),
       F("concurrency", Int32("Registry requests in flight at once. Defaults to 8."))});

  auto last_run = Object(
      Ref("RegistryCleanupRun"),
      {F("startTime", Time()), F("completionTime", Time()),
       F("result", String("Succeeded, PartiallyFailed, Failed, or DryRun.")),
       F("dryRun", Bool()),
       F("trigger", String("schedule, interval, requested (the registry.capstan.io/requestedAt annotation) or "
                           "created.")),
       F("decisionsConfigMap", String("The ConfigMap (same namespace, owned by this policy) holding every "
                                      "decision of the run.")),
       F("requestCount", Integer("HTTP requests sent to the registry.")),
       F("inUseMatched", Integer("Workload image references (tag, digest or config digest) found on this "
                                 "registry's host; 0 while workloads run its images means their references "
                                 "name the host differently.")),
       F("managedRegistry", Bool("The registry is the one capstan server --registry runs.")),
       F("bytesReclaimed", Integer("Managed registry: how much its storage shrank over the run (its removals "
                                   "and the garbage collection), measured on disk.")),
       F("garbageCollection",
         Object(Ref("RegistryGarbageCollection"),
                {F("result", String("Succeeded or Failed.")),
                 F("readOnlyWindowMillis", Integer("How long the registry was read-only (or restarting).")),
                 F("collectMillis", Integer("docker-registry garbage-collect alone.")),
                 F("storageBytesBefore", Integer("Disk usage of the storage when the run started.")),
                 F("storageBytesAfter", Integer("... and after the window.")),
                 F("message", String("Why it failed."))},
                "The read-only window that ended the run (managed registry, something removed)."))});
  auto counts = Object(
      Ref("RegistryCleanupCounts"),
      {F("repositories", Integer()), F("scanned", Integer()), F("kept", Integer()),
       F("keptByReason", Map(Integer(), "Kept tags by their first reason.")),
       F("deleted", Integer("Tags removed by deleting their manifest.")), F("untagged", Integer()),
       F("skipped", Integer("Tags that moved or vanished between plan and removal.")), F("failed", Integer())});
  auto error = Object(Ref("RegistryCleanupError"),
                      {F("repository", String()), F("tag", String()), F("message", String())});
  auto status = Object(
      Ref("RegistryCleanupPolicyStatus"),
      {F("observedGeneration", Integer()), F("lastRun", last_run), F("counts", counts),
       F("bytesReclaimable", Integer("Bytes of blobs that only the removed manifests referenced: what the "
                                     "registry's garbage collection would free.")),
       F("errors", AtomicArray(error, "The first errors of the last run (at most 20).")),
       F("nextRunTime", Time()),
       F("lastHandledRequest", String("The registry.capstan.io/requestedAt value last acted on.")),
       F("conditions", ConditionsArray(ConditionSchema(Ref("RegistryCleanupPolicyCondition"))))});
  return KindSchema(Ref("RegistryCleanupPolicy"), {F("spec", spec), F("status", status)},
                    "RegistryCleanupPolicy removes registry tags that no keep rule holds for.");
}

void Defaults(json& obj) {
  json& spec = Ensure(obj, "spec");
  json& keep = Ensure(spec, "keep");
  if (!keep.contains("inUse") || keep["inUse"].is_null()) keep["inUse"] = true;
  if (!spec.contains("concurrency") || spec["concurrency"].is_null()) spec["concurrency"] = 8;
}

void ClearStatus(json& obj) { obj["status"] = json::object(); }

void ValidateDuration(const json& parent, const char* field, const std::string& path, int64_t min_seconds,
                      FieldErrors* errors) {
  const json* v = Get(parent, field);
  if (v == nullptr || !v->is_string()) return;
  Result<int64_t> seconds = ParseDurationSeconds(v->get<std::string>());
  if (!seconds.ok()) {
    AddInvalid(errors, Child(path, field), *v, seconds.status().message());
  } else if (*seconds < min_seconds) {
    AddInvalid(errors, Child(path, field), *v, "must be at least " + std::to_string(min_seconds) + "s");
  }
}

void Validate(const json& obj, const json* /*old*/, FieldErrors* errors) {
  ValidateMetadataOf(obj, /*namespaced=*/true, errors);
  const json* spec = Get(obj, "spec");
  if (spec == nullptr) {
    AddRequired(errors, "spec");
    return;
  }
  const json* registry = Get(*spec, "registry");
  if (registry == nullptr) {
    AddRequired(errors, "spec.registry");
  } else {
    static const std::regex kUrl(R"(^https?://[^/?#\s]+/?$)", std::regex::icase);
    std::string url = GetString(*registry, "url");
    if (url.empty()) AddRequired(errors, "spec.registry.url");
    else if (!std::regex_match(url, kUrl)) AddInvalid(errors, "spec.registry.url", url, "must be http(s)://host[:port]");
    for (const char* secret : {"credentialsSecret", "caSecret"}) {
      std::string name = GetString(*registry, secret);
      if (!name.empty()) AddInvalidEach(errors, Child("spec.registry", secret), name, CheckDns1123Subdomain(name));
    }
  }
  if (const json* keep = Get(*spec, "keep")) {
    if (const json* tags = Get(*keep, "tags"); tags != nullptr && tags->is_array()) {
      for (size_t i = 0; i < tags->size(); ++i) {
        const json& pattern = (*tags)[i];
        if (!pattern.is_string()) continue;
        try {
          std::regex compiled(pattern.get<std::string>());
        } catch (const std::regex_error& e) {
          AddInvalid(errors, Index("spec.keep.tags", i), pattern, std::string("not a valid regular expression: ") + e.what());
        }
      }
    }
    if (const json* n = Get(*keep, "newest"); n != nullptr && n->is_number() && n->get<int64_t>() < 0) {
      AddInvalid(errors, "spec.keep.newest", *n, "must be greater than or equal to 0");
    }
    ValidateDuration(*keep, "newerThan", "spec.keep", 0, errors);
  }
  const json* schedule = Get(*spec, "schedule");
  if (schedule != nullptr && schedule->is_string()) {
    Result<CronSchedule> cron = CronSchedule::Parse(schedule->get<std::string>());
    if (!cron.ok()) AddInvalid(errors, "spec.schedule", *schedule, cron.status().message());
  }
  ValidateDuration(*spec, "interval", "spec", 60, errors);
  if (schedule != nullptr && !schedule->is_null() && Get(*spec, "interval") != nullptr &&
      !Get(*spec, "interval")->is_null()) {
    AddForbidden(errors, "spec.interval", "may not be set together with spec.schedule");
  }
  if (const json* c = Get(*spec, "concurrency"); c != nullptr && c->is_number()) {
    int64_t n = c->get<int64_t>();
    if (n < 1 || n > 64) AddInvalid(errors, "spec.concurrency", *c, "must be between 1 and 64");
  }
}

const json& StatusOf(const json& o) {
  static const json kEmpty = json::object();
  const json* status = Get(o, "status");
  return status != nullptr && status->is_object() ? *status : kEmpty;
}

json LastRunField(const json& o, const char* field) {
  const json* run = Get(StatusOf(o), "lastRun");
  return run != nullptr ? json(GetString(*run, field)) : json("");
}

json CountCell(const json& o, const char* field) {
  const json* counts = Get(StatusOf(o), "counts");
  const json* v = counts != nullptr ? Get(*counts, field) : nullptr;
  return v != nullptr && v->is_number() ? *v : json(0);
}

}  // namespace

void RegisterRegistryCleanupPolicy() {
  KindInfo k;
  k.group = "registry.capstan.io";
  k.version = "v1alpha1";
  k.kind = "RegistryCleanupPolicy";
  k.plural = "registrycleanuppolicies";
  k.singular = "registrycleanuppolicy";
  k.short_names = {"rcp"};
  k.status_subresource = true;
  k.has_generation = true;
  k.schema = PolicySchema();
  k.defaults = Defaults;
  k.prepare_create = ClearStatus;
  k.validate = Validate;
  k.columns = {
      PrinterColumn{"Registry", "string", "", 0, "The registry's URL",
                    [](const json& o) -> json {
                      const json* spec = Get(o, "spec");
                      const json* registry = spec != nullptr ? Get(*spec, "registry") : nullptr;
                      return registry != nullptr ? GetString(*registry, "url") : "";
                    }},
      PrinterColumn{"Schedule", "string", "", 0, "Cron schedule or interval",
                    [](const json& o) -> json {
                      const json* spec = Get(o, "spec");
                      if (spec == nullptr) return "";
                      std::string schedule = GetString(*spec, "schedule");
                      if (!schedule.empty()) return schedule;
                      std::string interval = GetString(*spec, "interval");
                      return interval.empty() ? "<on request>" : "every " + interval;
                    }},
      PrinterColumn{"Suspend", "boolean", "", 0, "Whether runs are suspended",
                    [](const json& o) -> json {
                      const json* spec = Get(o, "spec");
                      const json* v = spec != nullptr ? Get(*spec, "suspend") : nullptr;
                      return v != nullptr && v->is_boolean() && v->get<bool>();
                    }},
      PrinterColumn{"Last Result", "string", "", 0, "Result of the last run",
                    [](const json& o) -> json { return LastRunField(o, "result"); }},
      PrinterColumn{"Last Run", "string", "", 0, "When the last run ended",
                    [](const json& o) -> json {
                      json t = LastRunField(o, "completionTime");
                      return t.get<std::string>().empty() ? json("<none>") : json(TimestampSince(t));
                    }},
      PrinterColumn{"Deleted", "integer", "", 0, "Tags removed by the last run (deleted and untagged)",
                    [](const json& o) -> json {
                      return CountCell(o, "deleted").get<int64_t>() + CountCell(o, "untagged").get<int64_t>();
                    }},
      PrinterColumn{"Kept", "integer", "", 1, "Tags kept by the last run",
                    [](const json& o) -> json { return CountCell(o, "kept"); }},
      PrinterColumn{"Reclaimable", "integer", "", 1, "Bytes a registry garbage collection would free",
                    [](const json& o) -> json {
                      const json* v = Get(StatusOf(o), "bytesReclaimable");
                      return v != nullptr && v->is_number() ? *v : json(0);
                    }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
