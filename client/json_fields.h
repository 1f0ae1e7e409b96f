// Reading fields of server-sent JSON without exceptions: a missing key or a value of another
// type reads as empty, never throws (nlohmann's value() throws on a type mismatch, and objects
// from a server are untrusted input).
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace capstan::client {

// The value at `key` when `object` is an object holding one there; else a shared null.
inline const nlohmann::json& Field(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

inline std::string StringField(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = Field(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

inline int64_t IntField(const nlohmann::json& object, std::string_view key, int64_t fallback = 0) {
  const nlohmann::json& value = Field(object, key);
  return value.is_number_integer() ? value.get<int64_t>() : fallback;
}

inline bool BoolField(const nlohmann::json& object, std::string_view key, bool fallback = false) {
  const nlohmann::json& value = Field(object, key);
  return value.is_boolean() ? value.get<bool>() : fallback;
}

// metadata.<key> as a string.
inline std::string MetaString(const nlohmann::json& object, std::string_view key) {
  return StringField(Field(object, "metadata"), key);
}

}  // namespace capstan::client
