// The process driver's configuration: the "config" value of the DriverConfig document given to
// create (docs/drivers/process.md).
//
//   null, or {"stateDir": "/abs/dir",   where runs are recorded (one JSON file per run);
//                                       default DefaultStateDir()
//             "logDir": "/abs/dir",     where containers' output goes; default <stateDir>/logs
//             "pods": 110}              the pod capacity the fingerprint reports (1..100000)
//
// Unknown fields, relative paths and values of the wrong type are errors naming the field.
//
// Thread-safety: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::process {

struct Config {
  std::string state_dir;  // absolute, normalised
  std::string log_dir;    // absolute, normalised
  int64_t pods = 110;
};

// /var/lib/capstan/driver-process for root; else $XDG_STATE_HOME/capstan/driver-process, or
// $HOME/.local/state/capstan/driver-process ("" when neither variable is set).
std::string DefaultStateDir();

// Checks and completes `config` (see the file comment). `default_state_dir` is used when stateDir
// is absent. Errors are INVALID_CONFIG with the field named. Creates no directory.
sdk::Result<Config> ParseConfig(const nlohmann::json& config, const std::string& default_state_dir);

}  // namespace capstan::plugins::process
