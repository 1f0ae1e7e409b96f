#include "controller/registry/policy_spec.h"

#include "api/kinds/printing.h"
#include "base/duration.h"

namespace capstan::registry {
namespace {

using json = nlohmann::json;

const json& At(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string Str(const json& obj, const char* key) {
  const json& v = At(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

bool Bool(const json& obj, const char* key, bool fallback) {
  const json& v = At(obj, key);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

Status StringList(const json& obj, const char* key, const std::string& path, std::vector<std::string>* out) {
  const json& v = At(obj, key);
  if (v.is_null()) return Status::Ok();
  if (!v.is_array()) return Status::Invalid(path + ": must be a list of strings");
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return Status::Invalid(path + "[" + std::to_string(i) + "]: must be a string");
    out->push_back(v[i].get<std::string>());
  }
  return Status::Ok();
}

}  // namespace

Result<CleanupSpec> ParseCleanupSpec(const json& policy) {
  const json& spec = At(policy, "spec");
  if (!spec.is_object()) return Status::Invalid("spec: required");
  CleanupSpec out;
  const json& registry = At(spec, "registry");
  out.url = Str(registry, "url");
  if (out.url.empty()) return Status::Invalid("spec.registry.url: required");
  out.credentials_secret = Str(registry, "credentialsSecret");
  out.ca_secret = Str(registry, "caSecret");
  out.insecure_skip_tls_verify = Bool(registry, "insecureSkipTLSVerify", false);

  const json& repositories = At(spec, "repositories");
  CAPSTAN_RETURN_IF_ERROR(StringList(repositories, "include", "spec.repositories.include", &out.scan.include));
  CAPSTAN_RETURN_IF_ERROR(StringList(repositories, "exclude", "spec.repositories.exclude", &out.scan.exclude));
  const json& concurrency = At(spec, "concurrency");
  out.scan.concurrency = concurrency.is_number_integer() ? concurrency.get<int>() : 8;
  if (out.scan.concurrency < 1 || out.scan.concurrency > 64) {
    return Status::Invalid("spec.concurrency: must be between 1 and 64");
  }

  const json& keep = At(spec, "keep");
  std::vector<std::string> tags;
  CAPSTAN_RETURN_IF_ERROR(StringList(keep, "tags", "spec.keep.tags", &tags));
  for (size_t i = 0; i < tags.size(); ++i) {
    try {
      out.retention.keep_tags.emplace_back(tags[i]);
    } catch (const std::regex_error& e) {
      return Status::Invalid("spec.keep.tags[" + std::to_string(i) + "]: \"" + tags[i] +
                             "\" is not a valid regular expression: " + e.what());
    }
  }
  const json& newest = At(keep, "newest");
  if (!newest.is_null()) {
    if (!newest.is_number_integer() || newest.get<int64_t>() < 0) {
      return Status::Invalid("spec.keep.newest: must be an integer >= 0");
    }
    out.retention.keep_newest = newest.get<int64_t>();
  }
  if (std::string newer = Str(keep, "newerThan"); !newer.empty()) {
    Result<int64_t> seconds = ParseDurationSeconds(newer);
    if (!seconds.ok()) return seconds.status().Annotate("spec.keep.newerThan");
    out.retention.newer_than_seconds = *seconds;
  }
  out.retention.keep_in_use = Bool(keep, "inUse", true);

  std::string schedule = Str(spec, "schedule");
  std::string interval = Str(spec, "interval");
  if (!schedule.empty() && !interval.empty()) {
    return Status::Invalid("spec.interval: may not be set together with spec.schedule");
  }
  if (!schedule.empty()) {
    Result<CronSchedule> cron = CronSchedule::Parse(schedule);
    if (!cron.ok()) return cron.status().Annotate("spec.schedule");
    out.schedule = *cron;
  }
  if (!interval.empty()) {
    Result<int64_t> seconds = ParseDurationSeconds(interval);
    if (!seconds.ok()) return seconds.status().Annotate("spec.interval");
    if (*seconds < 60) return Status::Invalid("spec.interval: must be at least 1m");
    out.interval_seconds = *seconds;
  }
  out.dry_run = Bool(spec, "dryRun", false);
  out.suspend = Bool(spec, "suspend", false);
  return out;
}

RunDecision DecideRun(const CleanupSpec& spec, const json& policy, int64_t now) {
  RunDecision d;
  if (spec.suspend) return d;
  const json& status = At(policy, "status");
  std::string requested = Str(At(At(policy, "metadata"), "annotations"), kRequestedAtAnnotation);
  if (!requested.empty() && requested != Str(status, "lastHandledRequest")) {
    d.run_now = true;
    d.trigger = "requested";
  }
  std::optional<int64_t> last = api::kinds::ParseRfc3339(Str(At(status, "lastRun"), "startTime"));
  std::optional<int64_t> created = api::kinds::ParseRfc3339(Str(At(policy, "metadata"), "creationTimestamp"));
  if (spec.schedule) {
    int64_t base = last ? *last : (created ? *created : now);
    d.next_run = spec.schedule->Next(base);
    if (d.next_run <= now && !d.run_now) {
      d.run_now = true;
      d.trigger = "schedule";
    }
    if (d.next_run <= now) d.next_run = spec.schedule->Next(now);
  } else if (spec.interval_seconds > 0) {
    d.next_run = last ? *last + spec.interval_seconds : now;
    if (d.next_run <= now && !d.run_now) {
      d.run_now = true;
      d.trigger = "interval";
    }
    if (d.next_run <= now) d.next_run = now + spec.interval_seconds;
  }
  return d;
}

}  // namespace capstan::registry
