#include "plugins/containerd/config.h"

#include <filesystem>

namespace capstan::plugins::containerd {
namespace {

constexpr int64_t kMaxPods = 100000;
constexpr char kUnixScheme[] = "unix://";
// sockaddr_un's sun_path holds 108 bytes with the final NUL.
constexpr size_t kMaxSocketPath = 107;

sdk::Error Bad(const std::string& field, const std::string& why) { return sdk::InvalidConfig(field + ": " + why); }

// An absolute path, normalised ("/a/./b/" -> "/a/b").
sdk::Result<std::string> AbsolutePath(const std::string& s, const std::string& field) {
  if (s.empty() || s[0] != '/') return Bad(field, "must be an absolute path (got \"" + s + "\")");
  if (s.find('\0') != std::string::npos) return Bad(field, "contains a NUL byte");
  std::string norm = std::filesystem::path(s).lexically_normal().string();
  if (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  return norm;
}

sdk::Result<std::string> String(const nlohmann::json& v, const std::string& field) {
  if (!v.is_string()) return Bad(field, "must be a string");
  return v.get<std::string>();
}

sdk::Result<int64_t> Integer(const nlohmann::json& v, const std::string& field, int64_t min, int64_t max) {
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return Bad(field, "must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return v.get<int64_t>();
}

sdk::Result<void> ParseTimeouts(const nlohmann::json& v, Config* out) {
  if (!v.is_object()) return Bad("timeouts", "must be an object with callMs, pullMs, healthMs");
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::chrono::milliseconds* target = nullptr;
    if (it.key() == "callMs") {
      target = &out->call_timeout;
    } else if (it.key() == "pullMs") {
      target = &out->pull_timeout;
    } else if (it.key() == "healthMs") {
      target = &out->health_timeout;
    } else {
      return sdk::InvalidConfig("unknown field \"timeouts." + it.key() + "\" (known: callMs, pullMs, healthMs)");
    }
    sdk::Result<int64_t> ms = Integer(*it, "timeouts." + it.key(), 1, sdk::kMaxDurationMs);
    if (!ms.ok()) return ms.error();
    *target = std::chrono::milliseconds(ms.value());
  }
  return sdk::Ok();
}

}  // namespace

sdk::Result<Config> ParseConfig(const nlohmann::json& config) {
  if (!config.is_null() && !config.is_object()) {
    return sdk::InvalidConfig(
        "config: must be an object (endpoint, sandboxImage, logDir, runtimeHandler, pods, pollIntervalMs, timeouts) "
        "or null");
  }
  Config out;
  if (config.is_object()) {
    for (auto it = config.begin(); it != config.end(); ++it) {
      const std::string& key = it.key();
      if (key == "endpoint") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        out.endpoint = s.value();
      } else if (key == "sandboxImage") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        if (s.value().empty()) return Bad(key, "must not be empty (leave it out to use containerd's sandbox_image)");
        out.sandbox_image = s.value();
      } else if (key == "logDir") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        sdk::Result<std::string> path = AbsolutePath(s.value(), key);
        if (!path.ok()) return path.error();
        out.log_dir = path.value();
      } else if (key == "runtimeHandler") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        out.runtime_handler = s.value();
      } else if (key == "pods") {
        sdk::Result<int64_t> n = Integer(*it, key, 1, kMaxPods);
        if (!n.ok()) return n.error();
        out.pods = n.value();
      } else if (key == "pollIntervalMs") {
        sdk::Result<int64_t> n = Integer(*it, key, 10, 10000);
        if (!n.ok()) return n.error();
        out.poll_interval = std::chrono::milliseconds(n.value());
      } else if (key == "timeouts") {
        if (sdk::Result<void> t = ParseTimeouts(*it, &out); !t.ok()) return t.error();
      } else {
        return sdk::InvalidConfig("unknown field \"" + key +
                                  "\" (known: endpoint, sandboxImage, logDir, runtimeHandler, pods, pollIntervalMs, "
                                  "timeouts)");
      }
    }
  }
  // Logs are files containerd writes on this host, so only a local socket will do.
  if (out.endpoint.rfind(kUnixScheme, 0) != 0) {
    return Bad("endpoint", "must be unix:///<absolute path of containerd's socket> (got \"" + out.endpoint + "\")");
  }
  sdk::Result<std::string> socket = AbsolutePath(out.endpoint.substr(sizeof(kUnixScheme) - 1), "endpoint");
  if (!socket.ok()) return socket.error();
  if (socket.value().size() > kMaxSocketPath) {
    return Bad("endpoint", "the socket path is longer than " + std::to_string(kMaxSocketPath) + " bytes");
  }
  out.socket_path = socket.value();
  out.endpoint = kUnixScheme + socket.value();
  return out;
}

}  // namespace capstan::plugins::containerd
