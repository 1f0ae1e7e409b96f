// Schema: a small declarative description of an API type, from which Capstan derives
//   * strict decoding (unknown and mistyped fields rejected with their path),
//   * the OpenAPI v3 documents kubectl validates and patches against,
//   * the strategic-merge-patch keys (x-kubernetes-patch-merge-key / -strategy),
//   * `capstan explain`-style help.
// One schema per kind lives in api/kinds/; nothing else encodes field names of a kind twice.
//
// Thread-safety: immutable after construction; shared freely.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::api {

using json = nlohmann::json;

enum class Type {
  kObject,       // fixed fields
  kMap,          // string keys -> `values` (additionalProperties)
  kArray,        // of `items`
  kString,
  kInteger,      // int64
  kNumber,
  kBoolean,
  kIntOrString,  // 3 or "25%"
  kQuantity,     // "500m", "1Gi", or a number (Kubernetes resource.Quantity)
  kTime,         // RFC 3339 string, or null
  kAny,          // anything (x-kubernetes-preserve-unknown-fields)
};

struct Schema;
using SchemaPtr = std::shared_ptr<const Schema>;

struct Field {
  std::string name;
  SchemaPtr schema;
  bool required = false;
};

struct Schema {
  Type type = Type::kAny;
  std::string description;
  std::string ref_name;          // OpenAPI component name ("io.k8s.api.apps.v1.DeploymentSpec")
  std::vector<Field> fields;     // kObject
  SchemaPtr items;               // kArray
  SchemaPtr values;              // kMap
  std::string merge_key;         // kArray of objects: strategic merge key ("name", "containerPort")
  std::string patch_strategy;    // "", "merge", "replace", "merge,retainKeys"
  std::string list_type;         // "", "atomic", "map", "set"
  std::vector<std::string> enum_values;  // kString: the allowed values, if restricted
  std::string format;            // OpenAPI format ("int32", "date-time", "byte", ...)

  const Field* FindField(const std::string& name) const;
};

// Builders. Descriptions show in OpenAPI and in `explain`.
namespace s {
SchemaPtr String(std::string description = "");
SchemaPtr Enum(std::vector<std::string> values, std::string description = "");
SchemaPtr Integer(std::string description = "", std::string format = "int64");
SchemaPtr Int32(std::string description = "");
SchemaPtr Number(std::string description = "");
SchemaPtr Bool(std::string description = "");
SchemaPtr IntOrString(std::string description = "");
SchemaPtr Quantity(std::string description = "");
SchemaPtr Time(std::string description = "");
SchemaPtr Bytes(std::string description = "");   // base64 string (Secret.data)
SchemaPtr Any(std::string description = "");
SchemaPtr Map(SchemaPtr values, std::string description = "");
SchemaPtr StringMap(std::string description = "");
// An array; for arrays of objects merged by key pass merge_key (list-type "map").
SchemaPtr Array(SchemaPtr items, std::string description = "", std::string merge_key = "",
                std::string patch_strategy = "");
// Marks the array as atomic (replaced whole by strategic merge).
SchemaPtr AtomicArray(SchemaPtr items, std::string description = "");
// A field helper: F("replicas", s::Int32("...")); R(...) for required ones.
Field F(std::string name, SchemaPtr schema);
Field R(std::string name, SchemaPtr schema);
SchemaPtr Object(std::string ref_name, std::vector<Field> fields, std::string description = "");
}  // namespace s

// One problem in an object, as a Kubernetes StatusCause: type is one of FieldValueRequired,
// FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueTooLong,
// FieldValueForbidden, FieldValueTypeInvalid, FieldValueUnknown (strict decoding).
struct FieldError {
  std::string type;
  std::string field;             // "spec.template.spec.containers[0].image"
  std::string message;
};
using FieldErrors = std::vector<FieldError>;

// Checks `value` against `schema` (strictly: unknown fields and wrong types are errors), appending
// one FieldError per problem with its path rooted at `path`. Stops after `max_errors`.
void CheckStrict(const Schema& schema, const json& value, const std::string& path, FieldErrors* errors,
                 size_t max_errors = 50);

// The schema at a path of field names, for strategic merge lookups; nullptr when unknown or kAny.
const Schema* SchemaAt(const Schema& root, const std::vector<std::string>& path);

// The OpenAPI v3 schema object for `schema`: components are referenced by ref_name and collected
// into *components (name -> schema object).
json ToOpenApi(const Schema& schema, json* components);

}  // namespace capstan::api
