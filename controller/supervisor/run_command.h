// RunCommand: runs a short-lived helper (`haproxy -c -f FILE`) to completion and returns its exit
// status and combined stdout+stderr. The child gets an empty signal mask and default dispositions
// (the server blocks SIGTERM and ignores SIGPIPE), and is SIGKILLed when it outlives `timeout`.
//
// Thread-safety: any thread; reaps only its own child (waitpid on its pid).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"

namespace capstan::supervisor {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal (or by the timeout)
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved as written; at most 1 MiB kept
};

// kNotFound when argv[0] cannot be executed; kInvalid for an empty argv.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace capstan::supervisor
