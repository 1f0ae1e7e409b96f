// Reading a container's log file (<logDir>/<run id>/<container>.log, where its stdout and stderr
// are appended, interleaved as written) for the logs operation: the last N lines, then, when
// following, what is appended until the container has terminated and the file is drained.
//
// Following waits on inotify (the file was written or closed) and on the container's exit
// descriptor (readable once it terminated), never on a fixed sleep; while idle it calls the
// sink's heartbeat every kHeartbeatMs (below CAPSTAN_LOG_HEARTBEAT_MS). Both streams went to one
// file, so every chunk is reported as stdout.
//
// Thread-safety: stateless functions; StreamLog uses the sink on the calling thread only.
#pragma once

#include <cstdint>
#include <string>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::process {

inline constexpr int kHeartbeatMs = CAPSTAN_LOG_HEARTBEAT_MS / 2;

// The offset of the first byte of the last `lines` lines of the open file `fd` whose size is
// `size` (a last line without a final newline counts as a line). `lines` < 0: 0 (everything).
sdk::Result<int64_t> TailOffset(int fd, int64_t size, int64_t lines);

// Writes the file at `path` to `sink` (see the file comment). `exited_fd` is polled, never read:
// readable means the container terminated. A file that does not exist is an empty log. Returns
// OK when done or when the sink said stop.
sdk::Result<void> StreamLog(const std::string& path, int64_t tail_lines, bool follow, int exited_fd,
                            sdk::LogSink& sink);

}  // namespace capstan::plugins::process
