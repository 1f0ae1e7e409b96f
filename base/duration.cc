#include "base/duration.h"

#include <cctype>
#include <cmath>
#include <string>

namespace capstan {
namespace {

// Nanoseconds (rounded, so "500ms" is exactly 500,000,000 whatever binary fractions do), or
// nullopt. Go's limit, int64 nanoseconds (about 292 years), bounds the result.
std::optional<int64_t> ParseNanoseconds(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return std::nullopt;
  long double seconds = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    const std::string number(text.substr(start, i - start));
    if (number.empty() || number == "." || number.find('.') != number.rfind('.') || number.size() > 18) {
      return std::nullopt;
    }
    const size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    long double scale;
    if (unit == "h") scale = 3600;
    else if (unit == "m") scale = 60;
    else if (unit == "s") scale = 1;
    else if (unit == "ms") scale = 1e-3L;
    else if (unit == "us" || unit == "\xC2\xB5s") scale = 1e-6L;
    else if (unit == "ns") scale = 1e-9L;
    else return std::nullopt;
    seconds += std::stold(number) * scale;
    if (seconds > 9.2e18L / 1e9L) return std::nullopt;
  }
  return static_cast<int64_t>(std::llroundl(seconds * 1e9L));
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::optional<int64_t> ns = ParseNanoseconds(text);
  if (!ns) return std::nullopt;
  return std::chrono::milliseconds(*ns / 1'000'000);
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  std::optional<int64_t> ns = ParseNanoseconds(text);
  if (!ns) return Status::Invalid("\"" + std::string(text) + "\" is not a duration (e.g. 720h, 1h30m, 90s)");
  return *ns / 1'000'000'000;
}

}  // namespace capstan
