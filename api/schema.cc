#include "api/schema.h"

#include <cmath>

namespace capstan::api {

const Field* Schema::FindField(const std::string& name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

namespace s {
namespace {
std::shared_ptr<Schema> Make(Type type, std::string description) {
  auto sc = std::make_shared<Schema>();
  sc->type = type;
  sc->description = std::move(description);
  return sc;
}
}  // namespace

SchemaPtr String(std::string d) { return Make(Type::kString, std::move(d)); }
SchemaPtr Enum(std::vector<std::string> values, std::string d) {
  auto sc = Make(Type::kString, std::move(d));
  sc->enum_values = std::move(values);
  return sc;
}
SchemaPtr Integer(std::string d, std::string format) {
  auto sc = Make(Type::kInteger, std::move(d));
  sc->format = std::move(format);
  return sc;
}
SchemaPtr Int32(std::string d) { return Integer(std::move(d), "int32"); }
SchemaPtr Number(std::string d) { return Make(Type::kNumber, std::move(d)); }
SchemaPtr Bool(std::string d) { return Make(Type::kBoolean, std::move(d)); }
SchemaPtr IntOrString(std::string d) { return Make(Type::kIntOrString, std::move(d)); }
SchemaPtr Quantity(std::string d) { return Make(Type::kQuantity, std::move(d)); }
SchemaPtr Time(std::string d) {
  auto sc = Make(Type::kTime, std::move(d));
  sc->format = "date-time";
  return sc;
}
SchemaPtr Bytes(std::string d) {
  auto sc = Make(Type::kString, std::move(d));
  sc->format = "byte";
  return sc;
}
SchemaPtr Any(std::string d) { return Make(Type::kAny, std::move(d)); }
SchemaPtr Map(SchemaPtr values, std::string d) {
  auto sc = Make(Type::kMap, std::move(d));
  sc->values = std::move(values);
  return sc;
}
SchemaPtr StringMap(std::string d) { return Map(String(), std::move(d)); }
SchemaPtr Array(SchemaPtr items, std::string d, std::string merge_key, std::string patch_strategy) {
  auto sc = Make(Type::kArray, std::move(d));
  sc->items = std::move(items);
  sc->merge_key = std::move(merge_key);
  if (!sc->merge_key.empty() && patch_strategy.empty()) patch_strategy = "merge";
  sc->patch_strategy = std::move(patch_strategy);
  if (!sc->merge_key.empty()) sc->list_type = "map";
  return sc;
}
SchemaPtr AtomicArray(SchemaPtr items, std::string d) {
  auto sc = Make(Type::kArray, std::move(d));
  sc->items = std::move(items);
  sc->list_type = "atomic";
  return sc;
}
Field F(std::string name, SchemaPtr schema) { return Field{std::move(name), std::move(schema), false}; }
Field R(std::string name, SchemaPtr schema) { return Field{std::move(name), std::move(schema), true}; }
SchemaPtr Object(std::string ref_name, std::vector<Field> fields, std::string d) {
  auto sc = Make(Type::kObject, std::move(d));
  sc->ref_name = std::move(ref_name);
  sc->fields = std::move(fields);
  return sc;
}
}  // namespace s

namespace {

const char* JsonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "value";
  }
}

bool IsIntegral(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return true;
  // Clients sometimes send 3.0 for an integer; Kubernetes' decoder accepts integral floats.
  if (v.is_number_float()) {
    double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18;
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Kubernetes resource.Quantity: a signed decimal number with an optional binary or decimal
// suffix, or an exponent. Hand-written rather than std::regex: this runs on every write.
bool IsQuantityString(const std::string& v) {
  size_t i = 0;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < v.size() && IsDigit(v[i])) ++i, ++int_digits;
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && IsDigit(v[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  const std::string suffix = v.substr(i);
  if (suffix.empty()) return true;
  static const char* const kSuffixes[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"};
  for (const char* s : kSuffixes) {
    if (suffix == s) return true;
  }
  if (suffix[0] != 'e' && suffix[0] != 'E') return false;
  size_t j = 1;
  if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) ++j;
  if (j == suffix.size()) return false;
  for (; j < suffix.size(); ++j) {
    if (!IsDigit(suffix[j])) return false;
  }
  return true;
}

// RFC 3339: 2006-01-02T15:04:05[.fraction](Z|+hh:mm|-hh:mm).
bool IsRfc3339(const std::string& v) {
  auto digits = [&](size_t at, size_t n) {
    if (at + n > v.size()) return false;
    for (size_t k = at; k < at + n; ++k) {
      if (!IsDigit(v[k])) return false;
    }
    return true;
  };
  if (v.size() < 20 || !digits(0, 4) || v[4] != '-' || !digits(5, 2) || v[7] != '-' || !digits(8, 2) ||
      (v[10] != 'T' && v[10] != 't') || !digits(11, 2) || v[13] != ':' || !digits(14, 2) || v[16] != ':' ||
      !digits(17, 2)) {
    return false;
  }
  size_t i = 19;
  if (v[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < v.size() && IsDigit(v[i])) ++i;
    if (i == start) return false;
  }
  if (i < v.size() && (v[i] == 'Z' || v[i] == 'z')) return i + 1 == v.size();
  return i + 6 == v.size() && (v[i] == '+' || v[i] == '-') && digits(i + 1, 2) && v[i + 3] == ':' &&
         digits(i + 4, 2);
}

std::string TypeDescription(const Schema& sc) {
  switch (sc.type) {
    case Type::kObject:
    case Type::kMap: return "object";
    case Type::kArray: return "array";
    case Type::kString: return "string";
    case Type::kInteger: return "integer";
    case Type::kNumber: return "number";
    case Type::kBoolean: return "boolean";
    case Type::kIntOrString: return "integer or string";
    case Type::kQuantity: return "quantity (e.g. \"500m\", \"1Gi\")";
    case Type::kTime: return "RFC 3339 time";
    case Type::kAny: return "any";
  }
  return "value";
}

struct Checker {
  FieldErrors* errors;
  size_t max_errors;

  bool Full() const { return errors->size() >= max_errors; }

  void Add(std::string type, const std::string& path, std::string message) {
    if (Full()) return;
    errors->push_back(FieldError{std::move(type), path, std::move(message)});
  }

  void WrongType(const Schema& sc, const json& v, const std::string& path) {
    Add("FieldValueTypeInvalid", path,
        "expected " + TypeDescription(sc) + ", got " + JsonTypeName(v));
  }

  static std::string Join(const std::string& path, const std::string& name) {
    return path.empty() ? name : path + "." + name;
  }

  void Check(const Schema& sc, const json& v, const std::string& path) {
    if (Full()) return;
    // null means "unset" for every optional field, as in Kubernetes' decoder.
    if (v.is_null()) return;
    switch (sc.type) {
      case Type::kAny:
        return;
      case Type::kObject: {
        if (!v.is_object()) return WrongType(sc, v, path);
        for (const auto& f : sc.fields) {
          if (f.required && (!v.contains(f.name) || v[f.name].is_null())) {
            Add("FieldValueRequired", Join(path, f.name), "Required value");
          }
        }
        for (auto it = v.begin(); it != v.end(); ++it) {
          const Field* f = sc.FindField(it.key());
          if (f == nullptr) {
            Add("FieldValueUnknown", Join(path, it.key()), "unknown field \"" + Join(path, it.key()) + "\"");
            continue;
          }
          Check(*f->schema, it.value(), Join(path, it.key()));
        }
        return;
      }
      case Type::kMap: {
        if (!v.is_object()) return WrongType(sc, v, path);
        if (!sc.values) return;
        for (auto it = v.begin(); it != v.end(); ++it) {
          // Map keys go in brackets, as Kubernetes prints them: metadata.labels[app].
          Check(*sc.values, it.value(), path + "[" + it.key() + "]");
        }
        return;
      }
      case Type::kArray: {
        if (!v.is_array()) return WrongType(sc, v, path);
        if (!sc.items) return;
        for (size_t i = 0; i < v.size(); ++i) Check(*sc.items, v[i], path + "[" + std::to_string(i) + "]");
        return;
      }
      case Type::kString: {
        if (!v.is_string()) return WrongType(sc, v, path);
        if (!sc.enum_values.empty()) {
          const auto& str = v.get_ref<const std::string&>();
          bool found = false;
          for (const auto& e : sc.enum_values) found = found || e == str;
          if (!found) {
            std::string allowed;
            for (const auto& e : sc.enum_values) allowed += (allowed.empty() ? "\"" : ", \"") + e + "\"";
            Add("FieldValueNotSupported", path, "Unsupported value: \"" + str + "\": supported values: " + allowed);
          }
        }
        return;
      }
      case Type::kInteger:
        if (!IsIntegral(v)) WrongType(sc, v, path);
        else if (sc.format == "int32") {
          double d = v.get<double>();
          if (d > 2147483647.0 || d < -2147483648.0) Add("FieldValueInvalid", path, "Invalid value: out of int32 range");
        }
        return;
      case Type::kNumber:
        if (!v.is_number()) WrongType(sc, v, path);
        return;
      case Type::kBoolean:
        if (!v.is_boolean()) WrongType(sc, v, path);
        return;
      case Type::kIntOrString:
        if (!v.is_string() && !IsIntegral(v)) WrongType(sc, v, path);
        return;
      case Type::kQuantity:
        if (v.is_number()) return;
        if (!v.is_string()) return WrongType(sc, v, path);
        if (!IsQuantityString(v.get_ref<const std::string&>())) {
          Add("FieldValueInvalid", path,
              "Invalid value: \"" + v.get<std::string>() +
                  "\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
        }
        return;
      case Type::kTime:
        if (!v.is_string()) return WrongType(sc, v, path);
        if (!IsRfc3339(v.get_ref<const std::string&>())) {
          Add("FieldValueInvalid", path, "Invalid value: \"" + v.get<std::string>() + "\": expected RFC 3339 time");
        }
        return;
    }
  }
};

}  // namespace

void CheckStrict(const Schema& schema, const json& value, const std::string& path, FieldErrors* errors,
                 size_t max_errors) {
  Checker{errors, max_errors}.Check(schema, value, path);
}

const Schema* SchemaAt(const Schema& root, const std::vector<std::string>& path) {
  const Schema* cur = &root;
  for (const auto& name : path) {
    while (cur->type == Type::kArray && cur->items) cur = cur->items.get();
    if (cur->type == Type::kMap) {
      if (!cur->values) return nullptr;
      cur = cur->values.get();
      continue;
    }
    if (cur->type != Type::kObject) return nullptr;
    const Field* f = cur->FindField(name);
    if (f == nullptr || !f->schema) return nullptr;
    cur = f->schema.get();
  }
  return cur->type == Type::kAny ? nullptr : cur;
}

namespace {

json Inline(const Schema& sc, json* components);

json RefOrInline(const Schema& sc, json* components) {
  if (sc.type == Type::kObject && !sc.ref_name.empty()) {
    if (!components->contains(sc.ref_name)) {
      (*components)[sc.ref_name] = json::object();  // placeholder breaks recursion
      (*components)[sc.ref_name] = Inline(sc, components);
    }
    // OpenAPI 3.0 ignores siblings of $ref; Kubernetes wraps refs in allOf for that reason.
    return json{{"allOf", json::array({json{{"$ref", "#/components/schemas/" + sc.ref_name}}})}};
  }
  return Inline(sc, components);
}

json Inline(const Schema& sc, json* components) {
  json out = json::object();
  if (!sc.description.empty()) out["description"] = sc.description;
  switch (sc.type) {
    case Type::kObject: {
      out["type"] = "object";
      json props = json::object();
      json required = json::array();
      for (const auto& f : sc.fields) {
        json p = RefOrInline(*f.schema, components);
        props[f.name] = std::move(p);
        if (f.required) required.push_back(f.name);
      }
      out["properties"] = std::move(props);
      if (!required.empty()) out["required"] = std::move(required);
      break;
    }
    case Type::kMap:
      out["type"] = "object";
      out["additionalProperties"] = sc.values ? RefOrInline(*sc.values, components) : json::object();
      break;
    case Type::kArray:
      out["type"] = "array";
      out["items"] = sc.items ? RefOrInline(*sc.items, components) : json::object();
      if (!sc.merge_key.empty()) out["x-kubernetes-patch-merge-key"] = sc.merge_key;
      if (!sc.patch_strategy.empty()) out["x-kubernetes-patch-strategy"] = sc.patch_strategy;
      if (!sc.list_type.empty()) out["x-kubernetes-list-type"] = sc.list_type;
      if (sc.list_type == "map" && !sc.merge_key.empty()) out["x-kubernetes-list-map-keys"] = {sc.merge_key};
      break;
    case Type::kString:
      out["type"] = "string";
      if (!sc.enum_values.empty()) out["enum"] = sc.enum_values;
      break;
    case Type::kInteger:
      out["type"] = "integer";
      break;
    case Type::kNumber:
      out["type"] = "number";
      out["format"] = "double";
      break;
    case Type::kBoolean:
      out["type"] = "boolean";
      break;
    case Type::kIntOrString:
      out["x-kubernetes-int-or-string"] = true;
      out["format"] = "int-or-string";
      break;
    case Type::kQuantity:
      out["x-kubernetes-int-or-string"] = true;
      out["format"] = "quantity";
      break;
    case Type::kTime:
      out["type"] = "string";
      break;
    case Type::kAny:
      out["x-kubernetes-preserve-unknown-fields"] = true;
      break;
  }
  if (!sc.format.empty() && !out.contains("format")) out["format"] = sc.format;
  return out;
}

}  // namespace

json ToOpenApi(const Schema& schema, json* components) { return RefOrInline(schema, components); }

}  // namespace capstan::api
