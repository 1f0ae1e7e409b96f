// Reading fields of the engine's JSON answers, which may lack any field or hold null in it.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace capstan::plugins::docker {

// j[key] when j is an object whose `key` is a string; "" otherwise.
inline std::string JsonString(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// j[key] when j is an object whose `key` is an object or array; null otherwise.
inline const nlohmann::json& JsonChild(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it != j.end() && (it->is_object() || it->is_array()) ? *it : kNull;
}

}  // namespace capstan::plugins::docker
