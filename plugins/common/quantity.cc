#include "plugins/common/quantity.h"

#include <limits>
#include <optional>

namespace capstan::plugins {
namespace {

using U128 = unsigned __int128;

constexpr U128 kU128Max = ~U128{0};
// 10^36 < 2^120: the mantissa always fits, and its product with a binary suffix is checked.
constexpr int kMaxSignificantDigits = 36;
constexpr size_t kMaxExponentDigits = 3;

// value = mantissa * 2^pow2 * 10^pow10, exactly.
struct Parsed {
  U128 mantissa = 0;
  int pow2 = 0;
  int pow10 = 0;
};

sdk::Error Bad(std::string_view q, const std::string& why) {
  return sdk::InvalidArgument("quantity \"" + std::string(q) + "\": " + why);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// a * b, or nullopt when it does not fit.
std::optional<U128> Mul(U128 a, U128 b) {
  if (a != 0 && b > kU128Max / a) return std::nullopt;
  return a * b;
}

// 10^exp, or nullopt when it does not fit (exp > 38).
std::optional<U128> Pow10(int exp) {
  U128 r = 1;
  for (int i = 0; i < exp; ++i) {
    std::optional<U128> next = Mul(r, 10);
    if (!next) return std::nullopt;
    r = *next;
  }
  return r;
}

sdk::Result<void> ParseSuffix(std::string_view q, std::string_view s, Parsed* p) {
  static constexpr struct {
    std::string_view suffix;
    int pow2, pow10;
  } kSuffixes[] = {{"", 0, 0},    {"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0}, {"Pi", 50, 0},
                   {"Ei", 60, 0}, {"n", 0, -9},  {"u", 0, -6},  {"m", 0, -3},  {"k", 0, 3},   {"M", 0, 6},
                   {"G", 0, 9},   {"T", 0, 12},  {"P", 0, 15},  {"E", 0, 18}};
  for (const auto& k : kSuffixes) {
    if (s == k.suffix) {
      p->pow2 = k.pow2;
      p->pow10 += k.pow10;
      return sdk::Ok();
    }
  }
  // An exponent: 'e' or 'E', an optional sign, digits ("E" alone, in the table, is exa).
  const std::string unknown = "unknown suffix \"" + std::string(s) + "\"";
  if (s[0] != 'e' && s[0] != 'E') return Bad(q, unknown);
  std::string_view digits = s.substr(1);
  const bool negative = !digits.empty() && digits[0] == '-';
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.empty()) return Bad(q, "an exponent without digits");
  for (char c : digits) {
    if (!IsDigit(c)) return Bad(q, unknown);
  }
  if (digits.size() > kMaxExponentDigits) return Bad(q, "the exponent is out of range");
  int exp = 0;
  for (char c : digits) exp = exp * 10 + (c - '0');
  p->pow10 += negative ? -exp : exp;
  return sdk::Ok();
}

sdk::Result<Parsed> Parse(std::string_view q) {
  if (q.empty()) return Bad(q, "empty");
  if (q[0] == '-') return Bad(q, "must not be negative");
  std::string_view s = q;
  if (s[0] == '+') s.remove_prefix(1);
  Parsed p;
  int significant = 0;
  bool any_digit = false, dot = false;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!IsDigit(c)) break;
    any_digit = true;
    if (dot) --p.pow10;
    if (p.mantissa == 0 && c == '0') continue;  // a leading zero carries no value
    if (++significant > kMaxSignificantDigits) {
      return Bad(q, "more than " + std::to_string(kMaxSignificantDigits) + " significant digits");
    }
    p.mantissa = p.mantissa * 10 + static_cast<U128>(c - '0');
  }
  if (!any_digit) return Bad(q, "no digits");
  if (sdk::Result<void> suffix = ParseSuffix(q, s.substr(i), &p); !suffix.ok()) return suffix.error();
  return p;
}

// ceil(value of q * 10^scale10) as an int64.
sdk::Result<int64_t> Scaled(std::string_view q, int scale10) {
  sdk::Result<Parsed> parsed = Parse(q);
  if (!parsed.ok()) return parsed.error();
  const Parsed& p = parsed.value();
  std::optional<U128> v = Mul(p.mantissa, U128{1} << p.pow2);
  if (!v) return Bad(q, "too large");
  const int exp10 = p.pow10 + scale10;
  U128 result = 0;
  if (*v == 0) {
    result = 0;  // whatever its exponent
  } else if (exp10 >= 0) {
    std::optional<U128> scale = Pow10(exp10);
    std::optional<U128> scaled = scale ? Mul(*v, *scale) : std::nullopt;
    if (!scaled) return Bad(q, "too large");
    result = *scaled;
  } else {
    // A positive value below 10^-38 of a unit (no divisor fits) still rounds up to one unit.
    std::optional<U128> divisor = Pow10(-exp10);
    result = divisor ? *v / *divisor + (*v % *divisor != 0 ? 1 : 0) : 1;
  }
  if (result > static_cast<U128>(std::numeric_limits<int64_t>::max())) return Bad(q, "too large");
  return static_cast<int64_t>(result);
}

}  // namespace

sdk::Result<int64_t> QuantityValue(std::string_view quantity) { return Scaled(quantity, 0); }

sdk::Result<int64_t> QuantityMillis(std::string_view quantity) { return Scaled(quantity, 3); }

sdk::Result<std::string> QuantityText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_number_float()) {
    // nlohmann writes the shortest text that reads back the same double ("0.5", "1e+20"); a '+'
    // in an exponent is not Kubernetes grammar.
    std::string s = value.dump();
    if (size_t plus = s.find("e+"); plus != std::string::npos) s.erase(plus + 1, 1);
    return s;
  }
  return sdk::InvalidArgument("a quantity must be a string such as \"500m\" or \"128Mi\" (got " + value.dump() + ")");
}

}  // namespace capstan::plugins
