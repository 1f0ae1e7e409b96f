// The host a driver runs on, as a fingerprint reports it: os and arch (GOARCH names, as
// containerd and Kubernetes spell them), kernel, online processors and total memory. Read afresh
// at every call (uname, sysconf, /proc/meminfo): cheap enough for each heartbeat.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace capstan::plugins {

struct HostInfo {
  std::string os;          // "linux"
  std::string arch;        // "amd64", "arm64", ...
  std::string kernel;      // uname release
  int64_t cpus = 0;        // online processors
  int64_t memory_kib = 0;  // MemTotal
};

HostInfo ReadHostInfo();
// MemTotal in KiB from the text of /proc/meminfo.
std::optional<int64_t> ParseMemTotalKib(std::string_view meminfo);
// uname's machine as a GOARCH ("x86_64" -> "amd64"); unknown names pass through.
std::string GoArch(std::string_view machine);

}  // namespace capstan::plugins
