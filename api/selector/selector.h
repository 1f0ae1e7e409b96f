// Label and field selectors, with Kubernetes' syntax and semantics.
//
// Label selector strings: "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a", "!a", joined by
// commas (all must hold). LabelSelector objects: matchLabels and matchExpressions (In, NotIn,
// Exists, DoesNotExist). An empty selector matches everything. Field selectors: "f=v", "f==v",
// "f!=v" joined by commas, over a fixed set of supported fields per kind.
//
// Thread-safety: parsed selectors are immutable values.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan::api {

class LabelSelector {
 public:
  struct Requirement {
    enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist } op;
    std::string key;
    std::vector<std::string> values;
  };

  LabelSelector() = default;  // matches everything

  // kBadRequest naming the offending part on a syntax error or an invalid key/value.
  static Result<LabelSelector> Parse(const std::string& text);
  // From a metav1.LabelSelector object; null or {} matches everything. kInvalid on bad operators.
  static Result<LabelSelector> FromObject(const nlohmann::json& selector);

  bool Empty() const { return requirements_.empty(); }
  // `labels` is a JSON object of string values (metadata.labels), or null.
  bool Matches(const nlohmann::json& labels) const;
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // Canonical string form ("app=web,tier in (a,b)"), as Kubernetes prints selectors.
  std::string ToString() const;

 private:
  std::vector<Requirement> requirements_;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string field;
    std::string value;
    bool equals = true;
  };

  FieldSelector() = default;
  static Result<FieldSelector> Parse(const std::string& text);

  bool Empty() const { return requirements_.empty(); }
  // Every field named must be in `supported`; else kBadRequest
  // ("field label not supported: spec.foo"), as Kubernetes answers.
  Status CheckSupported(const std::vector<std::string>& supported) const;
  // `value_of` returns the object's value of a field (std::nullopt treated as "").
  bool Matches(const std::function<std::optional<std::string>(const std::string& field)>& value_of) const;
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

// The string value of a dotted field path in an object ("spec.nodeName", "metadata.name",
// "involvedObject.uid"), for field selectors: strings as they are, numbers and bools printed,
// absent as std::nullopt.
std::optional<std::string> FieldValue(const nlohmann::json& obj, const std::string& dotted_path);

}  // namespace capstan::api
