// What the process driver reads of the kernel about processes: /proc/<pid>/stat and the boot id
// (the host's size is plugins/common/host_info.h); and the two process-wide guards of pid
// handling:
//
//   - ProbeProcess, the only place that reaps (waitpid) a container, and only the exact pid
//     asked for, never waitpid(-1): the host has other children. The exit statuses it reaped are
//     kept for the life of the library, so every driver instance (several may watch one run, or
//     a new one may re-attach after the old one reaped) learns the same exit code.
//   - SignalGroup, which refuses to signal a process group whose leader's pid now belongs to
//     another process (its start time differs): a recycled pid is never mistaken for ours.
//
// Thread-safety: every function is thread-safe (ProbeProcess and ForgetProcess share one mutex).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace capstan::plugins::process {

// The fields of /proc/<pid>/stat the driver uses.
struct ProcStat {
  char state = '?';  // R, S, D, Z (zombie), X (dead), T, ...
  int64_t ppid = 0, pgrp = 0, session = 0;
  uint64_t start_ticks = 0;  // field 22: start time in clock ticks after boot
};

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
std::optional<ProcStat> ParseProcStat(std::string_view text);
// Reads /proc/<pid>/stat; nullopt when there is no such process.
std::optional<ProcStat> ReadProcStat(pid_t pid);
// /proc/sys/kernel/random/boot_id without the newline ("" when unreadable).
std::string ReadBootId();

enum class Liveness {
  kRunning,  // the process (pid and start time) is alive
  kExited,   // it exited and this library reaped it: wait_status is exact
  kGone,     // it exited, and its exit status is unknown (not a child of this process: it was
             // started before a host restart; or the pid now belongs to another process)
};
struct ProbeResult {
  Liveness liveness = Liveness::kGone;
  int wait_status = 0;  // for kExited: as from waitpid
};

// The state of the process `pid` started at `start_ticks` (see Liveness). Reaps it (waitpid on
// that pid only, WNOHANG) when it is an exited child of this process. Never blocks.
ProbeResult ProbeProcess(pid_t pid, uint64_t start_ticks);
// Drops what ProbeProcess remembers of that process (its run was removed).
void ForgetProcess(pid_t pid, uint64_t start_ticks);

// Sends `sig` (0: only checks) to process group `pid`, the group of the container whose leader is
// `pid` started at `start_ticks`. Refused (returns EPERM, sends nothing) when a process `pid`
// exists with another start time: the pid was recycled, and so might the group be. When the
// leader has exited, the group's remaining members are signalled (a group id is not reused while
// the group has members). Returns 0 when sent, else the errno (ESRCH: the group is empty).
int SignalGroup(pid_t pid, uint64_t start_ticks, int sig);

// A description of a wait status: exit code (the shell's 128+N for a signal), the Kubernetes
// reason ("Completed" for 0, else "Error") and a message for signals ("killed by signal 9 (SIGKILL)").
struct ExitInfo {
  int64_t exit_code = 0;
  std::string reason, message;
};
ExitInfo DescribeWaitStatus(int wait_status);

}  // namespace capstan::plugins::process
