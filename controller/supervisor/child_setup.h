// What a forked child does before exec, shared by ChildSupervisor and RunCommand. Only
// async-signal-safe calls: the parent is multi-threaded.
#pragma once

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <unistd.h>

namespace capstan::supervisor::internal {

// An empty signal mask and default dispositions (the server blocks SIGTERM/SIGINT and ignores
// SIGPIPE; exec keeps both), stdin from /dev/null, stdout and stderr to `out_fd`, and every other
// descriptor closed at exec: Asio opens its sockets without O_CLOEXEC, so HAProxy would otherwise
// keep the API server's listener and client connections open (no FIN reaches a client the server
// closed while HAProxy runs, and each reload's workers inherit them again).
inline void PrepareChild(int out_fd) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
}

}  // namespace capstan::supervisor::internal
