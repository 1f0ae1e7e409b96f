#include "bench/proc_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

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

double ProcCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::atof(field.c_str());
    if (i == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace capstan::bench
