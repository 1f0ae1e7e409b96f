// Test helpers for api/kinds: run an object through a kind's pipeline the way the API server does
// (strict decode, defaults, prepare_create, validate) and inspect the errors.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "api/kind.h"
#include "base/yaml.h"

namespace capstan::api::kinds::testing {

inline const KindInfo& Kind(const std::string& name) {
  RegisterBuiltinKinds();
  const KindInfo* k = ResolveKind(name);
  if (k == nullptr) {
    ADD_FAILURE() << "kind not registered: " << name;
    std::abort();
  }
  return *k;
}

inline json Yaml(const std::string& text) {
  auto v = ParseYaml(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : json();
}

inline FieldErrors Strict(const KindInfo& k, const json& obj) {
  FieldErrors errors;
  CheckStrict(*k.schema, obj, "", &errors);
  return errors;
}

inline json Defaulted(const KindInfo& k, json obj) {
  if (k.defaults) k.defaults(obj);
  return obj;
}

// Strict check (must pass), defaults, prepare_create, validation: the create path.
inline FieldErrors Create(const KindInfo& k, json* obj) {
  FieldErrors errors = Strict(k, *obj);
  EXPECT_TRUE(errors.empty()) << "strict: " << errors[0].field << ": " << errors[0].message;
  if (k.defaults) k.defaults(*obj);
  if (k.prepare_create) k.prepare_create(*obj);
  if (k.validate) k.validate(*obj, nullptr, &errors);
  return errors;
}

// Defaults and validation against `old`: the update path.
inline FieldErrors Update(const KindInfo& k, json* obj, const json& old) {
  FieldErrors errors = Strict(k, *obj);
  if (k.defaults) k.defaults(*obj);
  if (k.validate) k.validate(*obj, &old, &errors);
  return errors;
}

inline std::string Dump(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e.type + " " + e.field + ": " + e.message;
  return out;
}

// True when some error has this field path and type and its message contains `text`.
inline bool Has(const FieldErrors& errors, const std::string& field, const std::string& type,
                const std::string& text = "") {
  for (const auto& e : errors) {
    if (e.field == field && e.type == type && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

inline json Cell(const KindInfo& k, const std::string& column, const json& obj) {
  for (const auto& c : k.columns) {
    if (c.name == column) return c.cell(obj);
  }
  ADD_FAILURE() << "no column " << column;
  return nullptr;
}

inline std::vector<std::string> ColumnNames(const KindInfo& k, int max_priority) {
  std::vector<std::string> out;
  for (const auto& c : k.columns) {
    if (c.priority <= max_priority) out.push_back(c.name);
  }
  return out;
}

}  // namespace capstan::api::kinds::testing
