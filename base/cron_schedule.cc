#include "base/cron_schedule.h"

#include <cctype>
#include <ctime>
#include <map>
#include <sstream>
#include <vector>

namespace capstan {
namespace {

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) out.push_back(item);
  if (!text.empty() && text.back() == sep) out.push_back("");
  return out;
}

struct Field {
  const char* name;
  int min;
  int max;
  std::map<std::string, int> names;
};

Result<int> Value(const Field& field, std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto it = field.names.find(text); it != field.names.end()) return it->second;
  if (text.empty() || text.size() > 3) return Status::Invalid(std::string(field.name) + ": \"" + text + "\" is not a number");
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Status::Invalid(std::string(field.name) + ": \"" + text + "\" is not a number");
    }
  }
  int value = std::stoi(text);
  int max = field.max == 6 ? 7 : field.max;  // weekday 7 is Sunday
  if (value < field.min || value > max) {
    return Status::Invalid(std::string(field.name) + ": " + text + " is out of range " + std::to_string(field.min) +
                           "-" + std::to_string(field.max));
  }
  return field.max == 6 ? value % 7 : value;
}

// Sets the bits a field's text selects; `restricted` is false for a bare `*`.
template <size_t N>
Status ParseField(const Field& field, const std::string& text, std::bitset<N>* bits, bool* restricted) {
  *restricted = text != "*" && text != "?";
  for (const std::string& part : Split(text, ',')) {
    std::string range = part;
    int step = 1;
    if (size_t slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      std::string step_text = part.substr(slash + 1);
      if (step_text.empty() || step_text.size() > 3 ||
          step_text.find_first_not_of("0123456789") != std::string::npos || std::stoi(step_text) == 0) {
        return Status::Invalid(std::string(field.name) + ": bad step in \"" + part + "\"");
      }
      step = std::stoi(step_text);
    }
    int low = field.min;
    int high = field.max;
    if (range != "*" && range != "?") {
      size_t dash = range.find('-');
      Result<int> a = Value(field, range.substr(0, dash));
      if (!a.ok()) return a.status();
      low = *a;
      high = part.find('/') != std::string::npos && dash == std::string::npos ? field.max : low;
      if (dash != std::string::npos) {
        Result<int> b = Value(field, range.substr(dash + 1));
        if (!b.ok()) return b.status();
        high = *b;
        if (field.max == 6 && high == 0 && low > 0) high = 7;  // "fri-sun"
      }
      if (high < low) return Status::Invalid(std::string(field.name) + ": range \"" + range + "\" is backwards");
    }
    for (int v = low; v <= high; v += step) bits->set(static_cast<size_t>(field.max == 6 ? v % 7 : v));
  }
  return Status::Ok();
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(const std::string& raw) {
  static const std::map<std::string, std::string> kMacros = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  std::string text = raw;
  if (auto it = kMacros.find(text); it != kMacros.end()) text = it->second;
  std::vector<std::string> fields;
  std::istringstream in(text);
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return Status::Invalid("\"" + raw + "\" has " + std::to_string(fields.size()) +
                           " fields; cron needs 5 (minute hour day-of-month month day-of-week)");
  }
  static const Field kMinute{"minute", 0, 59, {}};
  static const Field kHour{"hour", 0, 23, {}};
  static const Field kDay{"day-of-month", 1, 31, {}};
  static const Field kMonth{"month", 1, 12, {{"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4}, {"may", 5}, {"jun", 6},
                                             {"jul", 7}, {"aug", 8}, {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12}}};
  static const Field kWeekday{"day-of-week", 0, 6, {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4},
                                                    {"fri", 5}, {"sat", 6}}};
  CronSchedule s;
  bool ignored;
  CAPSTAN_RETURN_IF_ERROR(ParseField(kMinute, fields[0], &s.minutes_, &ignored));
  CAPSTAN_RETURN_IF_ERROR(ParseField(kHour, fields[1], &s.hours_, &ignored));
  CAPSTAN_RETURN_IF_ERROR(ParseField(kDay, fields[2], &s.days_, &s.day_restricted_));
  CAPSTAN_RETURN_IF_ERROR(ParseField(kMonth, fields[3], &s.months_, &ignored));
  CAPSTAN_RETURN_IF_ERROR(ParseField(kWeekday, fields[4], &s.weekdays_, &s.weekday_restricted_));
  return s;
}

int64_t CronSchedule::Next(int64_t after) const {
  int64_t t = (after / 60 + 1) * 60;  // the next whole minute
  // Five years bound the search: a schedule like "0 0 30 2 *" never matches.
  for (int64_t end = t + int64_t{5} * 366 * 86400; t < end;) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    if (!months_[static_cast<size_t>(tm.tm_mon + 1)]) {
      // To the first minute of the next month.
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      t = timegm(&tm);
      continue;
    }
    bool day_ok = days_[static_cast<size_t>(tm.tm_mday)];
    bool weekday_ok = weekdays_[static_cast<size_t>(tm.tm_wday)];
    bool matches = day_restricted_ && weekday_restricted_ ? (day_ok || weekday_ok) : (day_ok && weekday_ok);
    if (!matches) {
      t = (t / 86400 + 1) * 86400;
      continue;
    }
    if (!hours_[static_cast<size_t>(tm.tm_hour)]) {
      t = (t / 3600 + 1) * 3600;
      continue;
    }
    if (!minutes_[static_cast<size_t>(tm.tm_min)]) {
      t += 60;
      continue;
    }
    return t;
  }
  return INT64_MAX;
}

}  // namespace capstan
