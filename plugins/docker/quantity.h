// Kubernetes resource quantities ("128Mi", "500m", "1.5", "2e3") as the integers docker wants:
// bytes for memory, milli-units for CPU.
//
// The grammar is Kubernetes' (k8s.io/apimachinery resource.Quantity): an optional sign, a decimal
// number, then one suffix: binary Ki Mi Gi Ti Pi Ei (powers of 1024), decimal n u m "" k M G T P E
// (powers of 1000), or an exponent e<int> / E<int>. Values are exact (no floating point); a
// result that is not an integer of the unit asked for is rounded up, as Kubernetes rounds
// quantities up when it scales them ("0.1m" of CPU is 1 milli-CPU, "1.5" bytes is 2).
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace capstan::plugins::docker {

// The value of `quantity` scaled to units of 10^scale (0: units, -3: milli-units), rounded up.
// nullopt when it is not a quantity, is negative, or does not fit an int64.
std::optional<int64_t> ParseQuantity(std::string_view quantity, int scale);

// Memory in bytes ("128Mi" -> 134217728).
inline std::optional<int64_t> QuantityBytes(std::string_view q) { return ParseQuantity(q, 0); }
// CPU in milli-CPUs ("500m" -> 500, "2" -> 2000).
inline std::optional<int64_t> QuantityMilli(std::string_view q) { return ParseQuantity(q, -3); }

}  // namespace capstan::plugins::docker
