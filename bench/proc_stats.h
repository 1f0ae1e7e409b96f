// Small measurement helpers: percentiles and a process's memory from /proc.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace capstan::bench {

// The p-th percentile (0..100, nearest rank) of `v`; NaN if empty. Reorders `v`.
double Percentile(std::vector<double>* v, double p);

struct ProcMemory {
  double rss_mib = std::numeric_limits<double>::quiet_NaN();  // VmRSS: resident now
  double hwm_mib = std::numeric_limits<double>::quiet_NaN();  // VmHWM: peak resident
};

// Reads /proc/<pid>/status; NaN fields when the process or the line is missing.
ProcMemory ReadProcMemory(int pid);

// utime + stime of a process, in seconds (from /proc/PID/stat); 0 when it cannot be read.
double ProcCpuSeconds(int pid);

}  // namespace capstan::bench
