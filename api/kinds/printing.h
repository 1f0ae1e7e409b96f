// Helpers for server-side Table cells, matching kubectl / kube-apiserver printers.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/schema.h"

namespace capstan::api::kinds {

// k8s.io/apimachinery/pkg/util/duration.HumanDuration: "5s", "3m2s", "15m", "2h5m", "2d3h", "3y10d".
// Up to one second in the future counts as "0s" (clock skew); further is "<invalid>".
std::string HumanDuration(int64_t seconds);

// Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05Z", fractions and offsets
// allowed); std::nullopt when malformed.
std::optional<int64_t> ParseRfc3339(const std::string& text);
// "2024-01-02T03:04:05Z" for an epoch second.
std::string FormatRfc3339(int64_t epoch_seconds);
int64_t NowEpochSeconds();

// kubectl's translateTimestampSince: the age of a timestamp as HumanDuration, "<unknown>" when it
// is absent or malformed.
std::string TimestampSince(const json& timestamp);

// The AGE column (from metadata.creationTimestamp), for kinds whose AGE is not last.
json AgeCell(const json& obj);

}  // namespace capstan::api::kinds
