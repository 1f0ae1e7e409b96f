#include "plugins/common/host_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <utility>

namespace capstan::plugins {

std::optional<int64_t> ParseMemTotalKib(std::string_view meminfo) {
  size_t at = 0;
  while (at < meminfo.size()) {
    size_t eol = meminfo.find('\n', at);
    if (eol == std::string_view::npos) eol = meminfo.size();
    std::string_view line = meminfo.substr(at, eol - at);
    at = eol + 1;
    if (line.rfind("MemTotal:", 0) != 0) continue;
    line.remove_prefix(9);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    int64_t kib = 0;
    size_t digits = 0;
    while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) {
      kib = kib * 10 + (line[digits] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return kib;
  }
  return std::nullopt;
}

std::string GoArch(std::string_view machine) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"x86_64", "amd64"},    {"amd64", "amd64"}, {"aarch64", "arm64"},   {"arm64", "arm64"},
      {"i386", "386"},        {"i686", "386"},    {"armv7l", "arm"},      {"armv6l", "arm"},
      {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"},
  };
  for (const auto& [uname, goarch] : kNames) {
    if (machine == uname) return goarch;
  }
  return std::string(machine);
}

HostInfo ReadHostInfo() {
  HostInfo h;
  struct utsname u;
  if (::uname(&u) == 0) {
    h.os = u.sysname;
    for (char& c : h.os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    h.arch = GoArch(u.machine);
    h.kernel = u.release;
  }
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  h.cpus = cpus > 0 ? cpus : 1;
  std::ifstream in("/proc/meminfo");
  std::stringstream text;
  text << in.rdbuf();
  h.memory_kib = ParseMemTotalKib(text.str()).value_or(0);
  return h;
}

}  // namespace capstan::plugins
