// Test helpers about processes: finding the live processes a test started (by an entry of their
// environment, which children and grandchildren inherit) and waiting for one to die.
//
// Thread-safety: stateless functions.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "plugins/process/proc.h"

namespace capstan::plugins::process {

// Live (not zombie) processes whose environment holds exactly `entry` ("NAME=value").
inline std::vector<pid_t> LiveProcessesWithEnv(const std::string& entry) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    // A zombie's environment reads as empty: only live processes match.
    std::ifstream in("/proc/" + std::string(e->d_name) + "/environ", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string env = ss.str();
    for (size_t at = 0; (at = env.find(entry, at)) != std::string::npos; at += entry.size()) {
      const size_t end_at = at + entry.size();
      if ((at == 0 || env[at - 1] == '\0') && (end_at == env.size() || env[end_at] == '\0')) {
        out.push_back(static_cast<pid_t>(pid));
        break;
      }
    }
  }
  ::closedir(d);
  return out;
}

// Waits until no live process holds `entry` (10 s at most); returns those that still do.
inline std::vector<pid_t> AwaitNoProcessWithEnv(const std::string& entry) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<pid_t> left;
  while (!(left = LiveProcessesWithEnv(entry)).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no event exists for another's exit
  }
  return left;
}

// Whether `pid` is dead (gone, or a zombie no one reaps) within 10 s.
inline bool AwaitDead(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<ProcStat> st = ReadProcStat(pid);
    if (!st || st->state == 'Z' || st->state == 'X') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // no event exists for another's exit
  }
  return false;
}

// The environment entry the unit tests put on every process they start.
inline std::string UnitTestMarker() { return "CAPSTAN_PROCESS_UNIT_TEST=" + std::to_string(::getpid()); }

}  // namespace capstan::plugins::process
