// Go's time.ParseDuration, as Kubernetes fields spell durations ("720h", "1h30m", "90s", "1.5h",
// "300ms"): a sequence of decimal numbers, each with a unit (ns us µs ms s m h). No days, no
// sign: durations in specs are never negative.
//
// Thread-safety: a stateless function.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace capstan {

// In whole seconds (fractions of a second are dropped). kInvalid, with the text, otherwise.
Result<int64_t> ParseGoDurationSeconds(const std::string& text);

}  // namespace capstan
