// Go-style durations as Kubernetes-style APIs write them ("30s", "5m", "1h30m", "1.5h", "500ms"):
// a sequence of <decimal number><unit> with units ns, us (or µs), ms, s, m, h; no sign, no days,
// no spaces; "0" alone is zero. The one parser of such fields (GitOps intervals, registry cleanup
// schedules and ages); HAProxy's own time format is a different grammar (api/kinds/haproxy_annotations).
//
// Thread-safety: stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/status.h"

namespace capstan {

// Fractions below a millisecond are dropped. nullopt when malformed or empty.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// In whole seconds (fractions dropped); kInvalid with a message quoting the text and giving
// examples, for spec fields whose errors users read.
Result<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace capstan
