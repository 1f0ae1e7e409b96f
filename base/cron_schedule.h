// CronSchedule: the five-field cron syntax of Kubernetes CronJobs (minute hour day-of-month month
// day-of-week), in UTC: `*`, lists `a,b`, ranges `a-b`, steps `*/n` and `a-b/n`, month and weekday
// names (jan..dec, sun..sat; 7 is Sunday too), and @yearly @annually @monthly @weekly @daily
// @midnight @hourly. As in Vixie cron, when both day-of-month and day-of-week are restricted, a
// day matches when either does.
//
// Thread-safety: a value; const methods may be called from any thread.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace capstan {

class CronSchedule {
 public:
  // kInvalid naming the field ("hour: 24 is out of range 0-23").
  static Result<CronSchedule> Parse(const std::string& text);

  // The first matching minute strictly after `after` (epoch seconds, UTC).
  int64_t Next(int64_t after) const;

 private:
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1..31
  std::bitset<13> months_;    // 1..12
  std::bitset<7> weekdays_;   // 0 = Sunday
  bool day_restricted_ = false;
  bool weekday_restricted_ = false;
};

}  // namespace capstan
