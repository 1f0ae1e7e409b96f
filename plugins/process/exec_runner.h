// Running one command to completion with its output captured, for the exec operation.
//
// The command gets its own session (so a timeout kills it and whatever it started, as a group),
// stdin from /dev/null, stdout and stderr on pipes. Each stream keeps its first `limit` bytes; the
// rest is read and dropped (so the command never blocks on a full pipe) and the stream is marked
// truncated. The call returns once the command has exited and the pipes are drained of what is
// there (a background process that keeps a pipe open does not hold the call up), or at the
// timeout, when the group is killed and reaped.
//
// Thread-safety: stateless; reaps only the pid it spawned.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "capstan/driver_sdk.hpp"
#include "plugins/process/spawn.h"

namespace capstan::plugins::process {

inline constexpr size_t kExecOutputLimit = 1 << 20;  // per stream

struct ExecOutcome {
  bool timed_out = false;
  int wait_status = 0;  // when not timed out
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
};

// Runs `spec` (its stdout_fd/stderr_fd are ignored: pipes are used). `timeout` 0: none. An error
// only when the command could not be run at all (spawn failed: the errno is in the message and
// in *spawn_errno when given).
sdk::Result<ExecOutcome> RunAndCapture(const SpawnSpec& spec, std::chrono::milliseconds timeout, size_t limit,
                                       int* spawn_errno = nullptr);

}  // namespace capstan::plugins::process
