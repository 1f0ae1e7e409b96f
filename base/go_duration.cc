#include "base/go_duration.h"

#include <cctype>

namespace capstan {

Result<int64_t> ParseGoDurationSeconds(const std::string& text) {
  auto invalid = [&] {
    return Status::Invalid("\"" + text + "\" is not a duration (e.g. 720h, 1h30m, 90s)");
  };
  if (text.empty()) return invalid();
  if (text == "0") return int64_t{0};
  long double seconds = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return invalid();
    std::string number = text.substr(start, i - start);
    if (number == "." || number.find('.') != number.rfind('.')) return invalid();
    size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    long double scale;
    if (unit == "h") scale = 3600;
    else if (unit == "m") scale = 60;
    else if (unit == "s") scale = 1;
    else if (unit == "ms") scale = 1e-3L;
    else if (unit == "us" || unit == "\xC2\xB5s") scale = 1e-6L;
    else if (unit == "ns") scale = 1e-9L;
    else return invalid();
    seconds += std::stold(number) * scale;
    if (seconds > 9.2e18L / 1e9L) return invalid();  // Go's limit: about 292 years
  }
  return static_cast<int64_t>(seconds);
}

}  // namespace capstan
