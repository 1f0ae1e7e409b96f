// Go-style durations as Kubernetes-style APIs write them ("30s", "5m", "1h30m", "500ms").
//
// Thread-safety: stateless functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace capstan {

// Parses a sequence of <decimal number><unit> with units ns, us, ms, s, m, h (no sign, no
// fractions below a millisecond kept). nullopt when malformed or empty; "0" alone is zero.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace capstan
