#include "api/protobuf/protobuf_codec.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "api/protobuf/field_numbers.h"
#include "api/protobuf/wire.h"
#include "base/base64.h"

namespace capstan::api::protobuf {
namespace {

// Deeper than any schema Capstan declares; bounds the recursion on hostile input.
constexpr int kMaxDepth = 64;
constexpr std::string_view kMagic("k8s\0", 4);

// Time range Go's RFC 3339 formatting accepts: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

std::string Child(const std::string& path, const std::string& name) { return path.empty() ? name : path + "." + name; }

Status UnsupportedMediaType(std::string message) { return {Code::kUnsupportedMediaType, std::move(message)}; }

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Whether a field's value is empty: a zero varint or fixed value, or bytes that are empty or
// parse as a message whose fields are all empty (a Go struct of zero values). Unknown fields
// with empty values are accepted, since Go marshals non-pointer fields even when zero.
bool IsEmptyValue(const WireField& f, int depth) {
  if (f.type != WireType::kLengthDelimited) return f.value == 0;
  if (f.bytes.empty()) return true;
  if (depth >= kMaxDepth) return false;
  WireReader r(f.bytes);
  while (!r.done()) {
    WireField inner;
    if (!r.Next(&inner).ok() || !IsEmptyValue(inner, depth + 1)) return false;
  }
  return true;
}

bool IsZeroScalar(const json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() == 0;
  if (v.is_number_float()) return v.get<double>() == 0.0;
  return false;
}

// "2006-01-02T15:04:05Z" (metav1.Time, seconds) or "2006-01-02T15:04:05.000000Z" (MicroTime).
std::string FormatTime(int64_t seconds, int32_t nanos, bool micro) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) rem += 86400, --days;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  // The caller checked the range: year 1..9999.
  char buf[64];  // room for any int the compiler can imagine in these fields
  const auto yi = static_cast<int>(y), mi = static_cast<int>(m), di = static_cast<int>(d);
  const auto hh = static_cast<int>(rem / 3600), mm = static_cast<int>(rem / 60 % 60), ss = static_cast<int>(rem % 60);
  if (micro) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", yi, mi, di, hh, mm, ss, nanos / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", yi, mi, di, hh, mm, ss);
  }
  return buf;
}

class Decoder {
 public:
  // Decodes `data`, a message described by `table`, into the object *out (created if null),
  // whose fields `schema` describes. `path` is the JSON path of *out, for errors.
  Status Message(std::string_view data, const Schema& schema, const ProtoMessage& table, const std::string& path,
                 int depth, json* out) {
    if (depth > kMaxDepth) return Status::BadRequest("protobuf: message nested too deeply at " + path);
    if (!out->is_object()) *out = json::object();
    WireReader reader(data);
    while (!reader.done()) {
      WireField f;
      Status st = reader.Next(&f);
      if (!st.ok()) return st.Annotate("decoding " + table.ref_name + At(path));
      const ProtoField* pf = table.FindByNumber(f.number);
      if (pf == nullptr) {
        if (IsEmptyValue(f, depth)) continue;
        return Status::BadRequest("protobuf field number " + std::to_string(f.number) + " of " + table.ref_name +
                                  At(path) + " is not known to Capstan");
      }
      if (pf->flags & kInline) {
        const ProtoMessage* inner = FindProtoMessage(pf->name);
        if (inner == nullptr) return Status::Internal("protobuf: no table for inlined " + pf->name);
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kLengthDelimited, table, path));
        CAPSTAN_RETURN_IF_ERROR(Message(f.bytes, schema, *inner, path, depth + 1, out));
        continue;
      }
      const Field* field = schema.FindField(pf->name);
      if (field == nullptr || !field->schema) {
        return Status::Internal("protobuf: " + table.ref_name + "." + pf->name + " is not in the schema");
      }
      CAPSTAN_RETURN_IF_ERROR(FieldValue(f, *field, *pf, table, Child(path, field->name), depth, out));
    }
    return Status::Ok();
  }

 private:
  static std::string At(const std::string& path) { return path.empty() ? "" : " (at " + path + ")"; }

  static Status Expect(const WireField& f, WireType want, const ProtoMessage& table, const std::string& path) {
    if (f.type == want) return Status::Ok();
    return Status::BadRequest("protobuf field " + std::to_string(f.number) + " of " + table.ref_name + At(path) +
                              " has wire type " + WireTypeName(f.type) + ", expected " + WireTypeName(want));
  }

  // One occurrence of a field of the object *out.
  Status FieldValue(const WireField& f, const Field& field, const ProtoField& pf, const ProtoMessage& table,
                    const std::string& path, int depth, json* out) {
    const Schema& fs = *field.schema;
    json& slot = (*out)[field.name];
    if (fs.type == Type::kArray) {
      if (!slot.is_array()) slot = json::array();
      const Schema& items = *fs.items;
      const bool varint_items = items.type == Type::kInteger || items.type == Type::kBoolean;
      if (varint_items && f.type == WireType::kLengthDelimited) {  // packed
        WireReader packed(f.bytes);
        while (!packed.done()) {
          WireField e;
          e.number = f.number;
          CAPSTAN_RETURN_IF_ERROR(packed.NextVarint(&e.value));
          json v;
          bool skip = false;
          CAPSTAN_RETURN_IF_ERROR(Value(e, items, pf, table, path, depth, &v, &skip));
          slot.push_back(std::move(v));
        }
        return Status::Ok();
      }
      json v;
      bool skip = false;
      CAPSTAN_RETURN_IF_ERROR(Value(f, items, pf, table, path + "[" + std::to_string(slot.size()) + "]", depth, &v,
                                    &skip));
      if (!skip) slot.push_back(std::move(v));
      if (slot.empty()) out->erase(field.name);
      return Status::Ok();
    }
    if (fs.type == Type::kMap) {
      if (!slot.is_object()) slot = json::object();
      CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kLengthDelimited, table, path));
      return MapEntry(f.bytes, *fs.values, pf, table, path, depth, &slot);
    }
    bool skip = false;
    Status st = Value(f, fs, pf, table, path, depth, &slot, &skip);
    const bool scalar = fs.type == Type::kString || fs.type == Type::kInteger || fs.type == Type::kNumber ||
                        fs.type == Type::kBoolean;
    if (st.ok() && (skip || (scalar && !(pf.flags & kKeepZero) && !field.required && IsZeroScalar(slot)))) {
      out->erase(field.name);
    }
    return st;
  }

  // A map entry message {key = 1, value = 2}.
  Status MapEntry(std::string_view data, const Schema& values, const ProtoField& pf, const ProtoMessage& table,
                  const std::string& path, int depth, json* out) {
    std::string key;
    bool has_value = false;
    json value;
    WireReader reader(data);
    while (!reader.done()) {
      WireField e;
      Status st = reader.Next(&e);
      if (!st.ok()) return st.Annotate("decoding a map entry of " + path);
      if (e.number == 1) {
        CAPSTAN_RETURN_IF_ERROR(Expect(e, WireType::kLengthDelimited, table, path));
        if (!ValidUtf8(e.bytes)) return Status::BadRequest("protobuf: a key of " + path + " is not valid UTF-8");
        key.assign(e.bytes);
      } else if (e.number == 2) {
        bool skip = false;
        value = json();
        CAPSTAN_RETURN_IF_ERROR(Value(e, values, pf, table, path, depth, &value, &skip));
        has_value = !skip;
      } else if (!IsEmptyValue(e, depth)) {
        return Status::BadRequest("protobuf: map entry of " + path + " has unknown field " + std::to_string(e.number));
      }
    }
    if (!has_value) {
      // Go decodes a missing value as the zero value.
      switch (values.type) {
        case Type::kString: value = ""; break;
        case Type::kQuantity: value = "0"; break;
        case Type::kInteger: value = 0; break;
        case Type::kBoolean: value = false; break;
        case Type::kObject: value = json::object(); break;
        default: value = nullptr; break;
      }
    }
    (*out)[key] = std::move(value);
    return Status::Ok();
  }

  // One value of schema `s` (a field, an array element or a map value) into *v. *skip is set
  // for empty values of schema-less fields, which are dropped.
  Status Value(const WireField& f, const Schema& s, const ProtoField& pf, const ProtoMessage& table,
               const std::string& path, int depth, json* v, bool* skip) {
    switch (s.type) {
      case Type::kObject: {
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kLengthDelimited, table, path));
        const ProtoMessage* inner = FindProtoMessage(s.ref_name);
        if (inner == nullptr) {
          return UnsupportedMediaType("protobuf decoding of " + s.ref_name + At(path) +
                                      " is not supported by Capstan; send JSON");
        }
        return Message(f.bytes, s, *inner, path, depth + 1, v);
      }
      case Type::kString: {
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kLengthDelimited, table, path));
        if (s.format == "byte") {
          *v = Base64Encode(f.bytes);
          return Status::Ok();
        }
        if (!ValidUtf8(f.bytes)) return Status::BadRequest("protobuf: the value of " + path + " is not valid UTF-8");
        *v = std::string(f.bytes);
        return Status::Ok();
      }
      case Type::kInteger:
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kVarint, table, path));
        if (s.format == "int32") {
          *v = static_cast<int32_t>(static_cast<uint32_t>(f.value));
        } else {
          *v = static_cast<int64_t>(f.value);
        }
        return Status::Ok();
      case Type::kBoolean:
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kVarint, table, path));
        *v = f.value != 0;
        return Status::Ok();
      case Type::kNumber: {
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kFixed64, table, path));
        double d = 0;
        static_assert(sizeof d == sizeof f.value);
        std::memcpy(&d, &f.value, sizeof d);
        if (!std::isfinite(d)) return Status::BadRequest("protobuf: the value of " + path + " is not a finite number");
        *v = d;
        return Status::Ok();
      }
      case Type::kIntOrString:
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kLengthDelimited, table, path));
        return IntOrString(f.bytes, path, v);
      case Type::kQuantity:
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kLengthDelimited, table, path));
        return Quantity(f.bytes, path, v);
      case Type::kTime:
        CAPSTAN_RETURN_IF_ERROR(Expect(f, WireType::kLengthDelimited, table, path));
        return Time(f.bytes, (pf.flags & kMicroTime) != 0, path, v);
      case Type::kMap:
      case Type::kArray:
        // Nested collections do not occur in Kubernetes messages (they would need a wrapper).
        return UnsupportedMediaType("protobuf decoding of " + path + " (a nested list or map) is not supported by "
                                    "Capstan; send JSON");
      case Type::kAny:
        if (IsEmptyValue(f, depth)) {
          *skip = true;
          return Status::Ok();
        }
        return UnsupportedMediaType("protobuf field " + path + " of " + table.ref_name +
                                    " is not supported by Capstan; send JSON");
    }
    return Status::Internal("protobuf: unhandled schema type at " + path);
  }

  // intstr.IntOrString {type = 1 (0: int, 1: string), intVal = 2, strVal = 3}.
  static Status IntOrString(std::string_view data, const std::string& path, json* v) {
    uint64_t type = 0, int_val = 0;
    std::string_view str_val;
    WireReader reader(data);
    while (!reader.done()) {
      WireField e;
      Status st = reader.Next(&e);
      if (!st.ok()) return st.Annotate("decoding the IntOrString at " + path);
      if (e.number == 1 && e.type == WireType::kVarint) {
        type = e.value;
      } else if (e.number == 2 && e.type == WireType::kVarint) {
        int_val = e.value;
      } else if (e.number == 3 && e.type == WireType::kLengthDelimited) {
        str_val = e.bytes;
      } else if (!IsEmptyValue(e, 0)) {
        return Status::BadRequest("protobuf: the IntOrString at " + path + " has an unexpected field " +
                                  std::to_string(e.number));
      }
    }
    if (type == 0) {
      *v = static_cast<int32_t>(static_cast<uint32_t>(int_val));
    } else if (type == 1) {
      if (!ValidUtf8(str_val)) return Status::BadRequest("protobuf: the value of " + path + " is not valid UTF-8");
      *v = std::string(str_val);
    } else {
      return Status::BadRequest("protobuf: the IntOrString at " + path + " has an invalid type " +
                                std::to_string(type));
    }
    return Status::Ok();
  }

  // resource.Quantity {string = 1}; a missing string is the zero quantity.
  static Status Quantity(std::string_view data, const std::string& path, json* v) {
    std::string_view text = "0";
    WireReader reader(data);
    while (!reader.done()) {
      WireField e;
      Status st = reader.Next(&e);
      if (!st.ok()) return st.Annotate("decoding the quantity at " + path);
      if (e.number == 1 && e.type == WireType::kLengthDelimited) {
        text = e.bytes;
      } else if (!IsEmptyValue(e, 0)) {
        return Status::BadRequest("protobuf: the quantity at " + path + " has an unexpected field " +
                                  std::to_string(e.number));
      }
    }
    if (text.empty()) text = "0";
    if (!ValidUtf8(text)) return Status::BadRequest("protobuf: the quantity at " + path + " is not valid UTF-8");
    *v = std::string(text);
    return Status::Ok();
  }

  // meta/v1 Time and MicroTime {seconds = 1, nanos = 2}; empty is the zero time, JSON null.
  // Time drops the nanoseconds (as Kubernetes does); MicroTime keeps microseconds.
  static Status Time(std::string_view data, bool micro, const std::string& path, json* v) {
    if (data.empty()) {
      *v = nullptr;
      return Status::Ok();
    }
    int64_t seconds = 0;
    int64_t nanos = 0;
    WireReader reader(data);
    while (!reader.done()) {
      WireField e;
      Status st = reader.Next(&e);
      if (!st.ok()) return st.Annotate("decoding the time at " + path);
      if (e.number == 1 && e.type == WireType::kVarint) {
        seconds = static_cast<int64_t>(e.value);
      } else if (e.number == 2 && e.type == WireType::kVarint) {
        nanos = static_cast<int32_t>(static_cast<uint32_t>(e.value));
      } else if (!IsEmptyValue(e, 0)) {
        return Status::BadRequest("protobuf: the time at " + path + " has an unexpected field " +
                                  std::to_string(e.number));
      }
    }
    if (nanos < 0 || nanos > 999999999) {
      return Status::BadRequest("protobuf: the time at " + path + " has invalid nanoseconds " + std::to_string(nanos));
    }
    if (seconds < kMinSeconds || seconds > kMaxSeconds) {
      return Status::BadRequest("protobuf: the time at " + path + " is out of range");
    }
    *v = FormatTime(seconds, static_cast<int32_t>(nanos), micro);
    return Status::Ok();
  }
};

}  // namespace

Result<json> DecodeObject(const KindInfo& kind, std::string_view raw) {
  if (!kind.schema) return Status::Internal("kind " + kind.kind + " has no schema");
  const ProtoMessage* table = FindProtoMessage(kind.schema->ref_name);
  if (table == nullptr) {
    return UnsupportedMediaType("protobuf bodies of " + kind.api_version() + " " + kind.kind +
                                " are not supported by Capstan; send JSON (application/json)");
  }
  json obj = json::object();
  obj["apiVersion"] = kind.api_version();
  obj["kind"] = kind.kind;
  Decoder decoder;
  CAPSTAN_RETURN_IF_ERROR(decoder.Message(raw, *kind.schema, *table, "", 0, &obj));
  return obj;
}

Result<json> DecodeKubernetesProtobuf(std::string_view body) {
  if (body.size() < kMagic.size() || body.substr(0, kMagic.size()) != kMagic) {
    return Status::BadRequest("the protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"");
  }
  // runtime.Unknown {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3,
  // contentType = 4}.
  std::string_view type_meta, raw, content_encoding;
  WireReader reader(body.substr(kMagic.size()));
  while (!reader.done()) {
    WireField f;
    Status st = reader.Next(&f);
    if (!st.ok()) return st.Annotate("decoding the runtime.Unknown envelope");
    if (f.number >= 1 && f.number <= 4 && f.type != WireType::kLengthDelimited) {
      return Status::BadRequest("protobuf: field " + std::to_string(f.number) +
                                " of the runtime.Unknown envelope has the wrong wire type");
    }
    switch (f.number) {
      case 1: type_meta = f.bytes; break;
      case 2: raw = f.bytes; break;
      case 3: content_encoding = f.bytes; break;
      case 4: break;  // contentType: the raw message is protobuf either way
      default:
        if (!IsEmptyValue(f, 0)) {
          return Status::BadRequest("protobuf field number " + std::to_string(f.number) +
                                    " of the runtime.Unknown envelope is not known to Capstan");
        }
    }
  }
  if (!content_encoding.empty()) {
    return UnsupportedMediaType("protobuf bodies with content encoding \"" + std::string(content_encoding) +
                                "\" are not supported by Capstan; send JSON");
  }
  std::string api_version, kind_name;
  WireReader tm(type_meta);
  while (!tm.done()) {
    WireField f;
    Status st = tm.Next(&f);
    if (!st.ok()) return st.Annotate("decoding the typeMeta of the runtime.Unknown envelope");
    if ((f.number == 1 || f.number == 2) && f.type == WireType::kLengthDelimited) {
      if (!ValidUtf8(f.bytes)) return Status::BadRequest("protobuf: the typeMeta is not valid UTF-8");
      (f.number == 1 ? api_version : kind_name).assign(f.bytes);
    } else if (!IsEmptyValue(f, 0)) {
      return Status::BadRequest("protobuf field number " + std::to_string(f.number) + " of the typeMeta is not known");
    }
  }
  if (kind_name.empty() || api_version.empty()) {
    return Status::BadRequest("the protobuf body's typeMeta lacks apiVersion or kind");
  }
  const KindInfo* kind = FindKindByKind(api_version, kind_name);
  if (kind == nullptr) {
    return UnsupportedMediaType("protobuf bodies of " + api_version + " " + kind_name +
                                " are not supported by Capstan; send JSON (application/json)");
  }
  return DecodeObject(*kind, raw);
}

}  // namespace capstan::api::protobuf
