// Kubernetes resource quantities ("128Mi", "500m", "1.5", "2e3", "1G") turned into the integers the
// CRI wants, exactly (no floating point: "1.1" CPU is 1100 millicores, not 1101).
//
// Grammar (k8s.io/apimachinery resource.Quantity): an optional sign, digits with an optional
// fraction ("1", "1.5", ".5"), then one suffix: binary Ki Mi Gi Ti Pi Ei (powers of 1024), decimal
// n u m "" k M G T P E, or an exponent e<int> / E<int>. Values are rounded up, as Kubernetes does
// when it converts to a smaller unit. Negative values, more than 18 significant digits and
// results beyond int64 are errors.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::containerd {

// The quantity in base units, rounded up ("128Mi" -> 134217728, "0.5" -> 1). INVALID_ARGUMENT on
// a malformed quantity, with the text in the message.
sdk::Result<int64_t> QuantityValue(std::string_view quantity);
// The quantity in thousandths, rounded up ("500m" -> 500, "2" -> 2000, "1.1" -> 1100).
sdk::Result<int64_t> QuantityMillis(std::string_view quantity);

// A quantity as JSON: a string, or a number (JSON manifests may write `cpu: 1`), as text.
sdk::Result<std::string> QuantityText(const nlohmann::json& value);

}  // namespace capstan::plugins::containerd
