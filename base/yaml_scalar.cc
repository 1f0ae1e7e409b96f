#include "base/yaml_scalar.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace capstan::yaml_internal {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool IsOctal(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
    if (int_digits == 0 && frac_digits == 0) return false;
  } else if (int_digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!AllOf(s.substr(i), IsDigit)) return false;
    i = s.size();
  }
  return i == s.size();
}

template <typename T>
bool ParseUnsigned(std::string_view digits, int base, T* out) {
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out, base);
  return ec == std::errc() && ptr == digits.data() + digits.size();
}

}  // namespace

nlohmann::json ResolvePlainScalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;

  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    std::string_view digits = s.substr(2);
    bool octal = s[1] == 'o';
    if (AllOf(digits, octal ? IsOctal : IsHex)) {
      uint64_t v = 0;
      if (ParseUnsigned(digits, octal ? 8 : 16, &v)) {
        if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(v);
        return v;
      }
    }
    return std::string(s);
  }

  std::string_view unsigned_part = s;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    unsigned_part = s.substr(1);
  }
  if (AllOf(unsigned_part, IsDigit)) {
    // from_chars takes a leading '-' but not '+'.
    std::string_view signed_digits = negative ? s : unsigned_part;
    int64_t i = 0;
    auto [ptr, ec] = std::from_chars(signed_digits.data(), signed_digits.data() + signed_digits.size(), i);
    if (ec == std::errc() && ptr == signed_digits.data() + signed_digits.size()) return i;
    uint64_t u = 0;
    if (!negative && ParseUnsigned(unsigned_part, 10, &u)) return u;
    // Too large for 64 bits: the float rule below also matches, as in Kubernetes' parser.
  }

  if (IsCoreFloat(s)) {
    std::string_view f = s[0] == '+' ? s.substr(1) : s;
    double d = 0;
    auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), d);
    if (ec == std::errc() && ptr == f.data() + f.size()) return d;
    return std::string(s);  // out of double's range: keep the text rather than invent infinity
  }
  std::string_view special = unsigned_part;
  if (special == ".inf" || special == ".Inf" || special == ".INF") {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  return std::string(s);
}

}  // namespace capstan::yaml_internal
