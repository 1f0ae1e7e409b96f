// Small helpers of the engine e2e tests (docker_driver_test.cc, containerd_driver_test.cc).
#pragma once

#include <signal.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace capstan::e2e {

inline std::string SourceDir() { return CAPSTAN_SOURCE_DIR; }

// KEY=VALUE lines.
inline std::map<std::string, std::string> ParseEnv(const std::string& text) {
  std::map<std::string, std::string> env;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// Non-empty lines.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// SIGKILL of a workload's process, found in the engine: a kill from outside the engine.
inline bool KillPid(const std::string& pid) {
  return !pid.empty() && pid != "0" && ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL) == 0;
}

}  // namespace capstan::e2e
