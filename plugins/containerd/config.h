// The containerd driver's configuration: the "config" value of the DriverConfig document given to
// create (docs/drivers/containerd.md has the user's table).
//
//   null, or {"endpoint": "unix:///run/containerd/containerd.sock",  containerd's CRI socket
//             "sandboxImage": "registry.k8s.io/pause:3.6",  the image containerd runs for sandboxes
//                                     (default: whatever containerd's own sandbox_image says)
//             "logDir": "/var/log/capstan/containerd",  where CRI writes container logs
//             "runtimeHandler": "",   the CRI runtime handler (containerd runtime) of every sandbox
//             "pods": 110,            the pod capacity the fingerprint reports
//             "pollIntervalMs": 250,  how often exits are looked for (containerd 1.6 has no events)
//             "timeouts": {"callMs": 30000,     every CRI call but the ones below
//                          "pullMs": 600000,    PullImage
//                          "healthMs": 2000}}   the calls of a fingerprint
//
// Unknown fields, relative paths and values of the wrong type or out of range are INVALID_CONFIG
// errors naming the field.
//
// Thread-safety: plain values and stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::containerd {

inline constexpr char kDefaultEndpoint[] = "unix:///run/containerd/containerd.sock";
inline constexpr char kDefaultLogDir[] = "/var/log/capstan/containerd";

struct Config {
  std::string endpoint = kDefaultEndpoint;  // "unix://" + an absolute, normalised path
  std::string socket_path;                  // that path
  std::string sandbox_image;                // "" when not configured: containerd's own
  std::string log_dir = kDefaultLogDir;     // absolute, normalised
  std::string runtime_handler;              // "" the default handler
  int64_t pods = 110;
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds call_timeout{30000};
  std::chrono::milliseconds pull_timeout{600000};
  std::chrono::milliseconds health_timeout{2000};
};

// Checks and completes `config` (see the file comment). Errors are INVALID_CONFIG naming the field.
sdk::Result<Config> ParseConfig(const nlohmann::json& config);

}  // namespace capstan::plugins::containerd
