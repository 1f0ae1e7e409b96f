#include "plugins/process/config.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace capstan::plugins::process {
namespace {

constexpr int64_t kMaxPods = 100000;

// An absolute path from a string field, normalised ("/a/./b/" -> "/a/b").
sdk::Result<std::string> AbsolutePath(const nlohmann::json& value, const char* field) {
  if (!value.is_string()) return sdk::InvalidConfig(std::string(field) + ": must be a string");
  const std::string s = value.get<std::string>();
  if (s.empty() || s[0] != '/') {
    return sdk::InvalidConfig(std::string(field) + ": must be an absolute path (got \"" + s + "\")");
  }
  if (s.find('\0') != std::string::npos) return sdk::InvalidConfig(std::string(field) + ": contains a NUL byte");
  std::string norm = std::filesystem::path(s).lexically_normal().string();
  if (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  return norm;
}

}  // namespace

std::string DefaultStateDir() {
  if (geteuid() == 0) return "/var/lib/capstan/driver-process";
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/capstan/driver-process";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.local/state/capstan/driver-process";
  return "";
}

sdk::Result<Config> ParseConfig(const nlohmann::json& config, const std::string& default_state_dir) {
  if (!config.is_null() && !config.is_object()) {
    return sdk::InvalidConfig("config: must be an object with stateDir, logDir, pods (or null)");
  }
  Config out;
  nlohmann::json state_dir = default_state_dir, log_dir;
  if (config.is_object()) {
    for (auto it = config.begin(); it != config.end(); ++it) {
      const std::string& key = it.key();
      if (key == "stateDir") {
        state_dir = *it;
      } else if (key == "logDir") {
        log_dir = *it;
      } else if (key == "pods") {
        if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > kMaxPods) {
          return sdk::InvalidConfig("pods: must be an integer in 1.." + std::to_string(kMaxPods));
        }
        out.pods = it->get<int64_t>();
      } else {
        return sdk::InvalidConfig("unknown field \"" + key + "\" (known: stateDir, logDir, pods)");
      }
    }
  }
  if (state_dir.is_string() && state_dir.get<std::string>().empty()) {
    return sdk::InvalidConfig("stateDir: required (no default: neither HOME nor XDG_STATE_HOME is set)");
  }
  sdk::Result<std::string> sd = AbsolutePath(state_dir, "stateDir");
  if (!sd.ok()) return sd.error();
  out.state_dir = sd.value();
  if (log_dir.is_null()) {
    out.log_dir = out.state_dir + "/logs";
  } else {
    sdk::Result<std::string> ld = AbsolutePath(log_dir, "logDir");
    if (!ld.ok()) return ld.error();
    out.log_dir = ld.value();
  }
  return out;
}

}  // namespace capstan::plugins::process
