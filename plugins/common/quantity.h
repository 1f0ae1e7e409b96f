// Kubernetes resource quantities ("128Mi", "500m", "1.5", "2e3") as the integers the container
// engines want: bytes of memory, milli-CPUs. One implementation for every driver, so that a Pod asks
// for the same resources whichever engine runs it.
//
// The grammar is Kubernetes' (k8s.io/apimachinery resource.Quantity): an optional '+', a decimal
// number with at most one '.' ("1", "1.5", ".5"), then one suffix: binary Ki Mi Gi Ti Pi Ei (powers
// of 1024), decimal n u m "" k M G T P E (powers of 1000), or an exponent e<int> / E<int> of at
// most three digits. Values are exact (no floating point: "1.1" CPU is 1100 milli-CPUs, not
// 1101); a value that is not a whole number of the unit asked for is rounded up, as Kubernetes
// rounds when it scales ("0.1m" of CPU is 1 milli-CPU, "1.5" bytes is 2). Negative values, more
// than 36 significant digits (the API server's own limit, api/kinds/validation.cc) and results
// beyond int64 are errors.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins {

// The quantity in base units, rounded up ("128Mi" -> 134217728, "0.5" -> 1). INVALID_ARGUMENT on
// a malformed quantity or one beyond int64, with the quantity quoted in the message.
sdk::Result<int64_t> QuantityValue(std::string_view quantity);
// The quantity in thousandths, rounded up ("500m" -> 500, "2" -> 2000, "1.1" -> 1100).
sdk::Result<int64_t> QuantityMillis(std::string_view quantity);

// The text of a quantity written in JSON: a string as it is, or a number (JSON manifests may write
// `cpu: 1`) as Kubernetes would spell it. INVALID_ARGUMENT for anything else.
sdk::Result<std::string> QuantityText(const nlohmann::json& value);

}  // namespace capstan::plugins
