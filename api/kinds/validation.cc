#include "api/kinds/validation.h"

#include "base/base64.h"

#include <cctype>
#include <limits>

namespace capstan::api::kinds {
namespace {

constexpr size_t kDns1123LabelMax = 63;
constexpr size_t kDns1123SubdomainMax = 253;
constexpr size_t kQualifiedNameMax = 63;
constexpr size_t kLabelValueMax = 63;

const char kLabelFmt[] = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const char kSubdomainFmt[] = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const char kQualifiedFmt[] = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const char kQualifiedMsg[] =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";

// apimachinery's RegexError: msg + " (e.g. 'a',  or 'b', regex used for validation is 'fmt')".
std::string RegexError(const std::string& msg, const std::string& fmt, std::vector<std::string> examples) {
  if (examples.empty()) return msg + " (regex used for validation is '" + fmt + "')";
  std::string out = msg + " (e.g. ";
  for (size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) out += " or ";
    out += "'" + examples[i] + "', ";
  }
  return out + "regex used for validation is '" + fmt + "')";
}

std::string MaxLenError(size_t n) { return "must be no more than " + std::to_string(n) + " characters"; }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool MatchesLabel(std::string_view v) {
  if (v.empty() || !IsLowerAlnum(v.front()) || !IsLowerAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool MatchesSubdomain(std::string_view v) {
  if (v.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = v.find('.', start);
    std::string_view part = v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!MatchesLabel(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool MatchesQualifiedPart(std::string_view v) {
  if (v.empty() || !IsAlnum(v.front()) || !IsAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::vector<std::string> HasChDirPrefix(std::string_view v) {
  if (v == ".") return {"must not be '.'"};
  if (v == "..") return {"must not be '..'"};
  if (v.substr(0, 2) == "..") return {"must not start with '..'"};
  return {};
}

// Go's %q / %d / JSON-ish rendering of a bad value in an error body.
std::string FormatValue(const json& v) {
  if (v.is_string()) return json(v.get<std::string>()).dump();
  if (v.is_null()) return "null";
  return v.dump();
}

void Add(FieldErrors* errors, const char* type, const std::string& path, std::string message) {
  errors->push_back(FieldError{type, path, std::move(message)});
}

}  // namespace

std::vector<std::string> CheckDns1123Label(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > kDns1123LabelMax) errs.push_back(MaxLenError(kDns1123LabelMax));
  if (!MatchesLabel(v)) {
    errs.push_back(RegexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
        "start and end with an alphanumeric character",
        kLabelFmt, {"my-name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> CheckDns1123Subdomain(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > kDns1123SubdomainMax) errs.push_back(MaxLenError(kDns1123SubdomainMax));
  if (!MatchesSubdomain(v)) {
    errs.push_back(RegexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character",
        kSubdomainFmt, {"example.com"}));
  }
  return errs;
}

std::vector<std::string> CheckQualifiedName(std::string_view v) {
  std::vector<std::string> errs;
  std::string_view name = v;
  size_t slash = v.find('/');
  if (slash != std::string_view::npos) {
    if (v.find('/', slash + 1) != std::string_view::npos) {
      return {"a qualified name " + RegexError(kQualifiedMsg, kQualifiedFmt, {"MyName", "my.name", "123-abc"}) +
              " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"};
    }
    std::string_view prefix = v.substr(0, slash);
    name = v.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const auto& m : CheckDns1123Subdomain(prefix)) errs.push_back("prefix part " + m);
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMax) {
    errs.push_back("name part " + MaxLenError(kQualifiedNameMax));
  }
  if (!MatchesQualifiedPart(name)) {
    errs.push_back("name part " + RegexError(kQualifiedMsg, kQualifiedFmt, {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> CheckLabelValue(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > kLabelValueMax) errs.push_back(MaxLenError(kLabelValueMax));
  if (!v.empty() && !MatchesQualifiedPart(v)) {
    errs.push_back(RegexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
        "must start and end with an alphanumeric character",
        std::string("(") + kQualifiedFmt + ")?", {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

std::vector<std::string> CheckPortName(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 15) errs.push_back(MaxLenError(15));
  bool charset = !v.empty();
  bool letter = false;
  for (char c : v) {
    if (!IsLowerAlnum(c) && c != '-') charset = false;
    if (c >= 'a' && c <= 'z') letter = true;
  }
  if (!charset) errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!letter) errs.push_back("must contain at least one letter (a-z)");
  if (v.find("--") != std::string_view::npos) errs.push_back("must not contain consecutive hyphens");
  if (!v.empty() && (v.front() == '-' || v.back() == '-')) errs.push_back("must not begin or end with a hyphen");
  return errs;
}

std::vector<std::string> CheckPortNumber(int64_t port) {
  if (port >= 1 && port <= 65535) return {};
  return {"must be between 1 and 65535, inclusive"};
}

std::vector<std::string> CheckEnvVarName(std::string_view v) {
  std::vector<std::string> errs;
  bool ok = !v.empty() && !(v.front() >= '0' && v.front() <= '9');
  for (char c : v) {
    if (!IsAlnum(c) && c != '-' && c != '.' && c != '_') ok = false;
  }
  if (!ok) {
    errs.push_back(RegexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
        "and must not start with a digit",
        "[-._a-zA-Z][-._a-zA-Z0-9]*", {"my.env-name", "MY_ENV.NAME", "MyEnvName1"}));
  }
  for (auto& m : HasChDirPrefix(v)) errs.push_back(std::move(m));
  return errs;
}

std::vector<std::string> CheckConfigMapKey(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > kDns1123SubdomainMax) errs.push_back(MaxLenError(kDns1123SubdomainMax));
  bool ok = !v.empty();
  for (char c : v) {
    if (!IsAlnum(c) && c != '-' && c != '.' && c != '_') ok = false;
  }
  if (!ok) {
    errs.push_back(RegexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                              "[-._a-zA-Z0-9]+", {"key.name", "KEY_NAME", "key-name"}));
  }
  for (auto& m : HasChDirPrefix(v)) errs.push_back(std::move(m));
  return errs;
}

// apimachinery's maskTrailingDash: a generateName prefix may end in '-'.
static std::string_view MaskTrailingDash(std::string_view v, bool prefix) {
  if (prefix && v.size() > 1 && v.back() == '-') v.remove_suffix(1);
  return v;
}

std::vector<std::string> CheckNameAsSubdomain(std::string_view v, bool prefix) {
  return CheckDns1123Subdomain(MaskTrailingDash(v, prefix));
}

std::vector<std::string> CheckNameAsLabel(std::string_view v, bool prefix) {
  return CheckDns1123Label(MaskTrailingDash(v, prefix));
}

// ---- Quantity --------------------------------------------------------------------------------

Result<int64_t> ParseQuantity(std::string_view s) {
  const Status syntax = Status::Invalid(
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  // The mantissa as an integer plus the number of digits after the point.
  unsigned __int128 mantissa = 0;
  int frac_digits = 0;
  int significant = 0;
  bool any_digit = false;
  bool seen_point = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    any_digit = true;
    if (mantissa != 0 || c != '0') ++significant;
    if (significant > 36) return Status::Invalid("quantity has too many significant digits");
    mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    if (seen_point) ++frac_digits;
  }
  if (!any_digit) return syntax;
  std::string_view suffix = s.substr(i);
  int pow10 = 0;
  int pow2 = 0;
  if (suffix.empty()) {
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    static const std::string_view kBinary = "KMGTPE";
    size_t k = kBinary.find(suffix[0]);
    if (k == std::string_view::npos) return syntax;
    pow2 = 10 * static_cast<int>(k + 1);
  } else if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'n': pow10 = -9; break;
      case 'u': pow10 = -6; break;
      case 'm': pow10 = -3; break;
      case 'k': pow10 = 3; break;
      case 'M': pow10 = 6; break;
      case 'G': pow10 = 9; break;
      case 'T': pow10 = 12; break;
      case 'P': pow10 = 15; break;
      case 'E': pow10 = 18; break;
      default: return syntax;
    }
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    size_t j = 1;
    bool neg_exp = false;
    if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) neg_exp = suffix[j++] == '-';
    if (j >= suffix.size()) return syntax;
    int exp = 0;
    for (; j < suffix.size(); ++j) {
      if (suffix[j] < '0' || suffix[j] > '9') return syntax;
      exp = exp * 10 + (suffix[j] - '0');
      if (exp > 1000) return Status::Invalid("quantity exponent out of range");
    }
    pow10 = neg_exp ? -exp : exp;
  } else {
    return syntax;
  }

  // milli = mantissa * 2^pow2 * 10^(pow10 - frac_digits + 3), rounded up.
  const unsigned __int128 kLimit = static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max());
  const Status too_large = Status::Invalid("quantity too large");
  unsigned __int128 v = mantissa;
  for (int k = 0; k < pow2 && v != 0; ++k) {
    v <<= 1;
    if (v > (kLimit << 40)) return too_large;
  }
  int exp10 = pow10 - frac_digits + 3;
  bool round_up = false;
  for (; exp10 > 0 && v != 0; --exp10) {
    v *= 10;
    if (v > (kLimit << 40)) return too_large;
  }
  for (; exp10 < 0 && v != 0; ++exp10) {
    if (v % 10 != 0) round_up = true;
    v /= 10;
  }
  if (round_up) v += 1;
  if (v > kLimit) return too_large;
  int64_t out = static_cast<int64_t>(v);
  return negative ? -out : out;
}

Result<int64_t> ParseQuantity(const json& value) {
  if (value.is_string()) return ParseQuantity(std::string_view(value.get_ref<const std::string&>()));
  if (value.is_number_integer() || value.is_number_unsigned()) {
    int64_t n = value.get<int64_t>();
    if (n > std::numeric_limits<int64_t>::max() / 1000 || n < -(std::numeric_limits<int64_t>::max() / 1000)) {
      return Status::Invalid("quantity too large");
    }
    return n * 1000;
  }
  if (value.is_number_float()) return ParseQuantity(std::string_view(value.dump()));
  return Status::Invalid("quantity must be a string or a number");
}

// ---- base64 ----------------------------------------------------------------------------------

namespace {
int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

bool DecodeBase64(std::string_view in, std::string* out, size_t* error_offset) {
  out->clear();
  uint32_t acc = 0;
  int n = 0;        // sextets in the current quantum
  int padding = 0;  // '=' seen
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r' || c == '\n') continue;
    auto fail = [&](size_t at) {
      if (error_offset != nullptr) *error_offset = at;
      return false;
    };
    if (c == '=') {
      // Padding only completes a quantum of 2 or 3 sextets.
      if (n < 2 || n + padding >= 4) return fail(i);
      ++padding;
      if (n + padding == 4) {
        if (n == 2) out->push_back(static_cast<char>((acc >> 4) & 0xff));
        if (n == 3) {
          out->push_back(static_cast<char>((acc >> 10) & 0xff));
          out->push_back(static_cast<char>((acc >> 2) & 0xff));
        }
        n = 4;  // quantum closed; anything but CR/LF after it is an error
      }
      continue;
    }
    int val = B64Value(c);
    if (val < 0 || padding > 0 || n == 4) return fail(i);
    acc = (acc << 6) | static_cast<uint32_t>(val);
    if (++n == 4) {
      out->push_back(static_cast<char>((acc >> 16) & 0xff));
      out->push_back(static_cast<char>((acc >> 8) & 0xff));
      out->push_back(static_cast<char>(acc & 0xff));
      acc = 0;
      n = 0;
    }
  }
  if (n == 4 && padding > 0) return true;
  if (n != 0 || padding != 0) {
    if (error_offset != nullptr) *error_offset = in.size();
    return false;
  }
  return true;
}

std::string EncodeBase64(std::string_view in) { return Base64Encode(in); }

std::optional<int64_t> ParsePercent(std::string_view v) {
  if (v.size() < 2 || v.back() != '%' || v.size() > 12) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return std::nullopt;
    n = n * 10 + (v[i] - '0');
  }
  return n;
}

// ---- Paths and errors -------------------------------------------------------------------------

std::string Child(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}
std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }
std::string Key(const std::string& path, const std::string& key) { return path + "[" + key + "]"; }

void AddRequired(FieldErrors* errors, const std::string& path, const std::string& detail) {
  Add(errors, "FieldValueRequired", path, detail.empty() ? "Required value" : "Required value: " + detail);
}

void AddInvalid(FieldErrors* errors, const std::string& path, const json& value, const std::string& detail) {
  std::string m = "Invalid value: " + FormatValue(value);
  if (!detail.empty()) m += ": " + detail;
  Add(errors, "FieldValueInvalid", path, std::move(m));
}

void AddNotSupported(FieldErrors* errors, const std::string& path, const json& value,
                     const std::vector<std::string>& supported) {
  std::string m = "Unsupported value: " + FormatValue(value);
  if (!supported.empty()) {
    m += ": supported values: ";
    for (size_t i = 0; i < supported.size(); ++i) m += (i ? ", \"" : "\"") + supported[i] + "\"";
  }
  Add(errors, "FieldValueNotSupported", path, std::move(m));
}

void AddDuplicate(FieldErrors* errors, const std::string& path, const json& value) {
  Add(errors, "FieldValueDuplicate", path, "Duplicate value: " + FormatValue(value));
}

void AddForbidden(FieldErrors* errors, const std::string& path, const std::string& detail) {
  Add(errors, "FieldValueForbidden", path, detail.empty() ? "Forbidden" : "Forbidden: " + detail);
}

void AddTooLong(FieldErrors* errors, const std::string& path, size_t max_bytes) {
  Add(errors, "FieldValueTooLong", path, "Too long: must have at most " + std::to_string(max_bytes) + " bytes");
}

void AddNotFound(FieldErrors* errors, const std::string& path, const json& value) {
  Add(errors, "FieldValueNotFound", path, "Not found: " + FormatValue(value));
}

void AddInvalidEach(FieldErrors* errors, const std::string& path, const json& value,
                    const std::vector<std::string>& messages) {
  for (const auto& m : messages) AddInvalid(errors, path, value, m);
}

void CheckNonNegative(const json& obj, const char* field, const std::string& path, FieldErrors* errors) {
  const json* v = Get(obj, field);
  if (v != nullptr && v->is_number() && v->get<double>() < 0) {
    AddInvalid(errors, Child(path, field), *v, "must be greater than or equal to 0");
  }
}

// ---- JSON access ------------------------------------------------------------------------------

const json* Get(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string GetString(const json& obj, std::string_view key) {
  const json* v = Get(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int64_t GetInt(const json& obj, std::string_view key, int64_t def) {
  const json* v = Get(obj, key);
  if (v == nullptr || !v->is_number()) return def;
  return v->is_number_float() ? static_cast<int64_t>(v->get<double>()) : v->get<int64_t>();
}

bool GetBool(const json& obj, std::string_view key, bool def) {
  const json* v = Get(obj, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : def;
}

const json& GetArray(const json& obj, std::string_view key) {
  static const json* const kEmpty = new json(json::array());
  const json* v = Get(obj, key);
  return v != nullptr && v->is_array() ? *v : *kEmpty;
}

json& Ensure(json& obj, const char* key) {
  if (!obj.is_object()) obj = json::object();
  json& v = obj[key];
  if (!v.is_object()) v = json::object();
  return v;
}

}  // namespace capstan::api::kinds
