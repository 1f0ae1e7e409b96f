#include "controller/supervisor/run_command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/supervisor/child_setup.h"

namespace capstan::supervisor {

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty() || argv[0].empty()) return Status::Invalid("RunCommand: argv is empty");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out[2], report[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Status::Internal(std::string("pipe: ") + ::strerror(errno));
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return Status::Internal(std::string("pipe: ") + ::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {out[0], out[1], report[0], report[1]}) ::close(fd);
    return Status::Internal(std::string("fork: ") + ::strerror(err));
  }
  if (pid == 0) {
    internal::PrepareChild(out[1]);
    ::execvp(args[0], args.data());
    const int err = errno;
    ssize_t ignored = ::write(report[1], &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  CommandResult result;
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    ::close(out[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Status::NotFound("cannot execute \"" + argv[0] + "\": " + ::strerror(child_errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t got = ::read(out[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (result.output.size() < (1u << 20)) result.output.append(buf, static_cast<size_t>(got));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace capstan::supervisor
