#include "plugins/containerd/quantity.h"

#include <cstdlib>
#include <limits>
#include <string>

namespace capstan::plugins::containerd {
namespace {

using Int128 = __int128;
constexpr Int128 kMax = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxDigits = 18;  // below 2^60: shifted by Ei (2^60) it still fits in 127 bits
constexpr int kMaxExponent = 100;

// value = mantissa * 10^pow10 * 2^pow2, exactly.
struct Parsed {
  int64_t mantissa = 0;
  int pow10 = 0;
  int pow2 = 0;
};

sdk::Error Bad(std::string_view q, const std::string& why) {
  return sdk::InvalidArgument("quantity \"" + std::string(q) + "\": " + why);
}

bool Digit(char c) { return c >= '0' && c <= '9'; }

sdk::Result<void> ParseSuffix(std::string_view q, std::string_view s, Parsed* p) {
  static constexpr struct {
    const char* suffix;
    int pow10, pow2;
  } kSuffixes[] = {{"", 0, 0},    {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50},
                   {"Ei", 0, 60}, {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},
                   {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0}};
  for (const auto& k : kSuffixes) {
    if (s == k.suffix) {
      p->pow10 += k.pow10;
      p->pow2 = k.pow2;
      return sdk::Ok();
    }
  }
  // An exponent: e or E, an optional sign, digits ("E" alone, handled above, is exa).
  if (s[0] != 'e' && s[0] != 'E') return Bad(q, "unknown suffix \"" + std::string(s) + "\"");
  size_t i = 1;
  const bool negative = i < s.size() && s[i] == '-';
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i == s.size()) return Bad(q, "an exponent without digits");
  int exp = 0;
  for (; i < s.size(); ++i) {
    if (!Digit(s[i])) return Bad(q, "unknown suffix \"" + std::string(s) + "\"");
    exp = exp * 10 + (s[i] - '0');
    if (exp > kMaxExponent) return Bad(q, "the exponent is out of range");
  }
  p->pow10 += negative ? -exp : exp;
  return sdk::Ok();
}

sdk::Result<Parsed> Parse(std::string_view q) {
  if (q.empty()) return Bad(q, "empty");
  size_t i = 0;
  if (q[0] == '-') return Bad(q, "must not be negative");
  if (q[0] == '+') ++i;
  std::string digits;  // significant digits only
  int fraction = 0;
  bool any = false, dot = false;
  for (; i < q.size(); ++i) {
    const char c = q[i];
    if (Digit(c)) {
      any = true;
      if (dot) ++fraction;
      if (!digits.empty() || c != '0') digits.push_back(c);
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any) return Bad(q, "no digits");
  // Trailing zeros of the fraction say nothing ("1.50" is "1.5").
  while (fraction > 0 && !digits.empty() && digits.back() == '0') {
    digits.pop_back();
    --fraction;
  }
  if (digits.size() > kMaxDigits) return Bad(q, "more than " + std::to_string(kMaxDigits) + " significant digits");
  Parsed p;
  p.mantissa = digits.empty() ? 0 : std::strtoll(digits.c_str(), nullptr, 10);
  p.pow10 = -fraction;
  if (sdk::Result<void> s = ParseSuffix(q, q.substr(i), &p); !s.ok()) return s.error();
  return p;
}

// ceil(p * 10^extra10) as an int64.
sdk::Result<int64_t> Scaled(std::string_view q, int extra10) {
  sdk::Result<Parsed> parsed = Parse(q);
  if (!parsed.ok()) return parsed.error();
  const Parsed& p = parsed.value();
  Int128 v = static_cast<Int128>(p.mantissa) << p.pow2;
  const int pow10 = p.pow10 + extra10;
  if (pow10 >= 0) {
    if (v > kMax) return Bad(q, "too large");
    for (int k = 0; k < pow10 && v != 0; ++k) {
      v *= 10;
      if (v > kMax) return Bad(q, "too large");
    }
    return static_cast<int64_t>(v);
  }
  // 10^38 is the largest power of ten below 2^127; a smaller value than 10^-38 of a unit rounds
  // up to one unit (or stays zero).
  if (-pow10 > 38) return int64_t{v > 0 ? 1 : 0};
  Int128 den = 1;
  for (int k = 0; k < -pow10; ++k) den *= 10;
  const Int128 result = (v + den - 1) / den;
  if (result > kMax) return Bad(q, "too large");
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

}  // namespace capstan::plugins::containerd
