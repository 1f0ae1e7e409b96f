#include "plugins/process/exec_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "plugins/process/reaper.h"
#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {
namespace {

using Clock = std::chrono::steady_clock;

struct Stream {
  UniqueFd fd;
  std::string* data;
  bool* truncated;
};

// Reads what `s` has now (non-blocking). false at EOF or on an error (the stream is done).
bool ReadSome(Stream& s, size_t limit) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(s.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN;
    if (n == 0) return false;
    const size_t room = limit > s.data->size() ? limit - s.data->size() : 0;
    const size_t keep = static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room;
    s.data->append(buf, keep);
    if (keep < static_cast<size_t>(n)) *s.truncated = true;
  }
}

pid_t WaitBlocking(pid_t pid, int* status) {
  for (;;) {
    const pid_t r = ::waitpid(pid, status, 0);
    if (r >= 0 || errno != EINTR) return r;
  }
}

}  // namespace

sdk::Result<ExecOutcome> RunAndCapture(const SpawnSpec& spec, std::chrono::milliseconds timeout, size_t limit,
                                       int* spawn_errno) {
  ExecOutcome out;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return sdk::Internal(std::string("pipe: ") + std::strerror(errno));
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return sdk::Internal(std::string("pipe: ") + std::strerror(errno));
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  // The child's ends must block: a program may not expect a non-blocking stdout.
  ::fcntl(out_w.get(), F_SETFL, 0);
  ::fcntl(err_w.get(), F_SETFL, 0);

  SpawnSpec s = spec;
  s.stdout_fd = out_w.get();
  s.stderr_fd = err_w.get();
  const Spawned child = Spawn(s);
  if (child.pid <= 0) {
    if (spawn_errno != nullptr) *spawn_errno = child.error;
    return sdk::Internal("cannot run " + spec.path + ": " + std::strerror(child.error));
  }
  out_w.reset();  // only the child holds the write ends now: EOF when it (and its heirs) close them
  err_w.reset();
  UniqueFd pidfd = OpenPidfd(child.pid);

  Stream streams[2] = {{std::move(out_r), &out.out, &out.out_truncated},
                       {std::move(err_r), &out.err, &out.err_truncated}};
  const bool has_deadline = timeout.count() > 0;
  const Clock::time_point deadline = Clock::now() + timeout;
  bool exited = false;
  int status = 0;
  for (;;) {
    if (!exited) {
      // Our own child: waitpid on its pid only; WNOHANG so the loop keeps reading the pipes.
      const pid_t r = ::waitpid(child.pid, &status, WNOHANG);
      exited = r == child.pid;
      if (r < 0 && errno == ECHILD) {
        // Reaped behind our back (a host that ignores SIGCHLD or waits for any child): the exit
        // status is lost; report 255 rather than a success.
        exited = true;
        status = 255 << 8;
      }
    }
    if (exited) break;
    std::vector<pollfd> fds;
    std::vector<Stream*> polled;
    for (Stream& st : streams) {
      if (st.fd.valid()) {
        fds.push_back({st.fd.get(), POLLIN, 0});
        polled.push_back(&st);
      }
    }
    if (pidfd.valid()) fds.push_back({pidfd.get(), POLLIN, 0});
    int wait_ms = -1;
    if (has_deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        // Timed out: kill the command's whole group, and reap it (SIGKILL cannot be ignored).
        ::kill(-child.pid, SIGKILL);
        WaitBlocking(child.pid, &status);
        out.timed_out = true;
        return out;
      }
      wait_ms = static_cast<int>(left);
    }
    // Without a pidfd (old kernels) the exit is only seen by waitpid: look again every 50 ms.
    if (!pidfd.valid() && (wait_ms < 0 || wait_ms > 50)) wait_ms = 50;
    const int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) {
      ::kill(-child.pid, SIGKILL);
      WaitBlocking(child.pid, &status);
      return sdk::Internal(std::string("poll: ") + std::strerror(errno));
    }
    for (size_t i = 0; i < polled.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !ReadSome(*polled[i], limit)) polled[i]->fd.reset();
    }
  }
  // Exited: take what the pipes hold now, and no more (see the file comment).
  for (Stream& st : streams) {
    if (st.fd.valid()) ReadSome(st, limit);
  }
  out.wait_status = status;
  return out;
}

}  // namespace capstan::plugins::process
