#include "plugins/docker/quantity.h"

#include <cctype>
#include <limits>

namespace capstan::plugins::docker {
namespace {

using U128 = unsigned __int128;

constexpr U128 kU128Max = ~U128{0};

// a * b, or nullopt on overflow.
std::optional<U128> Mul(U128 a, U128 b) {
  if (a != 0 && b > kU128Max / a) return std::nullopt;
  return a * b;
}

std::optional<U128> Pow(U128 base, int exp) {
  U128 r = 1;
  for (int i = 0; i < exp; ++i) {
    std::optional<U128> next = Mul(r, base);
    if (!next) return std::nullopt;
    r = *next;
  }
  return r;
}

// The suffix's power of two (binary) and power of ten (decimal or exponent).
struct Suffix {
  int pow2 = 0;
  int pow10 = 0;
};

std::optional<Suffix> ParseSuffix(std::string_view s) {
  if (s.empty()) return Suffix{};
  if (s.size() == 2 && s[1] == 'i') {
    const std::string_view binary = "KMGTPE";
    const size_t i = binary.find(s[0]);
    if (i == std::string_view::npos) return std::nullopt;
    return Suffix{static_cast<int>(10 * (i + 1)), 0};
  }
  if (s.size() == 1) {
    switch (s[0]) {
      case 'n': return Suffix{0, -9};
      case 'u': return Suffix{0, -6};
      case 'm': return Suffix{0, -3};
      case 'k': return Suffix{0, 3};
      case 'M': return Suffix{0, 6};
      case 'G': return Suffix{0, 9};
      case 'T': return Suffix{0, 12};
      case 'P': return Suffix{0, 15};
      case 'E': return Suffix{0, 18};
      default: return std::nullopt;
    }
  }
  if (s[0] == 'e' || s[0] == 'E') {
    std::string_view exp = s.substr(1);
    bool negative = false;
    if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) {
      negative = exp[0] == '-';
      exp.remove_prefix(1);
    }
    if (exp.empty() || exp.size() > 3) return std::nullopt;
    int v = 0;
    for (char c : exp) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return Suffix{0, negative ? -v : v};
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> ParseQuantity(std::string_view q, int scale) {
  if (!q.empty() && q[0] == '+') q.remove_prefix(1);
  // The number: digits with at most one '.', at least one digit.
  size_t i = 0;
  U128 mantissa = 0;
  int digits = 0, fraction_digits = 0;
  bool dot = false;
  for (; i < q.size(); ++i) {
    const char c = q[i];
    if (c == '.') {
      if (dot) return std::nullopt;
      dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    if (mantissa == 0 && c == '0') {  // leading zeros carry no value (but a fraction's do count)
      if (dot) ++fraction_digits;
      ++digits;
      continue;
    }
    if (digits >= 36) return std::nullopt;  // more precision than any resource needs
    mantissa = mantissa * 10 + static_cast<U128>(c - '0');
    ++digits;
    if (dot) ++fraction_digits;
  }
  if (digits == 0) return std::nullopt;
  std::optional<Suffix> suffix = ParseSuffix(q.substr(i));
  if (!suffix) return std::nullopt;

  // value = mantissa * 2^pow2 * 10^(pow10 - fraction_digits); result = ceil(value / 10^scale).
  std::optional<U128> n = Mul(mantissa, U128{1} << suffix->pow2);
  if (!n) return std::nullopt;
  const int exp10 = suffix->pow10 - fraction_digits - scale;
  U128 result;
  if (exp10 >= 0) {
    std::optional<U128> p = Pow(10, exp10);
    if (!p) return *n == 0 ? std::optional<int64_t>(0) : std::nullopt;
    std::optional<U128> v = Mul(*n, *p);
    if (!v) return std::nullopt;
    result = *v;
  } else {
    std::optional<U128> d = Pow(10, -exp10);
    if (!d) {
      result = *n == 0 ? 0 : 1;  // a positive value far below one unit rounds up to one
    } else {
      result = *n / *d + (*n % *d != 0 ? 1 : 0);
    }
  }
  if (result > static_cast<U128>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(result);
}

}  // namespace capstan::plugins::docker
