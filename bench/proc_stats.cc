#include "bench/proc_stats.h"

#include <algorithm>
#include <cmath>
#include <fstream>

namespace capstan::bench {

double Percentile(std::vector<double>* v, double p) {
  if (v->empty()) return std::nan("");
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * v->size()));
  size_t k = rank == 0 ? 0 : std::min(rank - 1, v->size() - 1);
  std::nth_element(v->begin(), v->begin() + k, v->end());
  return (*v)[k];
}

ProcMemory ReadProcMemory(int pid) {
  ProcMemory m;
  if (pid <= 0) return m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    // "VmRSS:	  123456 kB"
    double* field = line.rfind("VmRSS:", 0) == 0 ? &m.rss_mib : line.rfind("VmHWM:", 0) == 0 ? &m.hwm_mib : nullptr;
    if (field) *field = std::atof(line.c_str() + 6) / 1024.0;
  }
  return m;
}

}  // namespace capstan::bench
