// YAML 1.2 core-schema resolution of plain scalars, shared by the parser (what a plain scalar
// means) and the emitter (when a string must be quoted to keep meaning a string).
// Internal to base/yaml*.cc.
//
// Thread-safety: stateless functions.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace capstan::yaml_internal {

// null|Null|NULL|~|"" -> null; true/false in three spellings -> bool; decimal (signed), 0o octal
// and 0x hex integers -> integer (uint64 when above int64, a double beyond that); floats
// including .inf/-.inf/.nan -> double; anything else -> the string itself.
nlohmann::json ResolvePlainScalar(std::string_view text);

}  // namespace capstan::yaml_internal
