// A RegistryCleanupPolicy read into typed values, and when it should run. Pure functions: the
// controller and `capstan registry plan` share them.
//
// Thread-safety: stateless functions; CleanupSpec is a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/cron_schedule.h"
#include "controller/registry/inventory_scanner.h"
#include "controller/registry/retention_planner.h"

namespace capstan::registry {

// The annotation `capstan registry run` sets (any new value asks for one run now).
inline constexpr char kRequestedAtAnnotation[] = "registry.capstan.io/requestedAt";

struct CleanupSpec {
  std::string url;
  std::string credentials_secret;   // "" : anonymous
  std::string ca_secret;
  bool insecure_skip_tls_verify = false;
  ScanOptions scan;
  RetentionPolicy retention;
  std::optional<CronSchedule> schedule;
  int64_t interval_seconds = 0;     // 0: no interval
  bool dry_run = false;
  bool suspend = false;
};

// spec of a RegistryCleanupPolicy (already defaulted and validated by the API; checked again,
// since `capstan registry plan -f` reads files the API never saw). kInvalid naming the field.
Result<CleanupSpec> ParseCleanupSpec(const nlohmann::json& policy);

struct RunDecision {
  bool run_now = false;
  std::string trigger;       // "requested", "schedule", "interval"
  int64_t next_run = 0;      // epoch seconds of the next scheduled run; 0: none
};

// Whether to run at `now` (epoch seconds): a requestedAt annotation not yet handled
// (status.lastHandledRequest), or a schedule / interval that came due since the last run started
// (since creation when it never ran; an interval policy runs at once when created). Missed runs
// are caught up once. Suspended policies never run.
RunDecision DecideRun(const CleanupSpec& spec, const nlohmann::json& policy, int64_t now);

}  // namespace capstan::registry
