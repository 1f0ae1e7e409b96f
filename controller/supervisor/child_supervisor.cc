#include "controller/supervisor/child_supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/log.h"
#include "controller/supervisor/child_setup.h"

extern char** environ;

namespace capstan::supervisor {
namespace {

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int PidfdSignal(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
#else
  (void)pidfd;
  (void)sig;
  errno = ENOSYS;
  return -1;
#endif
}

// argv[0] as an executable path: itself when it has a slash, else the first PATH entry that
// holds an executable of that name; empty when none does.
std::string ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start);
    if (candidate.empty()) candidate = ".";
    candidate += "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

ChildSupervisor::ChildSupervisor(ChildSpec spec) : spec_(std::move(spec)) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : spec_.env) merged[k] = v;
  for (const auto& [k, v] : merged) envp_.push_back(k + "=" + v);
}

Result<std::unique_ptr<ChildSupervisor>> ChildSupervisor::Start(ChildSpec spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return Status::Invalid("supervisor: argv is empty");
  std::unique_ptr<ChildSupervisor> s(new ChildSupervisor(std::move(spec)));
  s->thread_ = std::thread([raw = s.get()] { raw->Run(); });
  Status first;
  {
    std::unique_lock<std::mutex> lock(s->mu_);
    s->cv_.wait(lock, [&] { return s->first_done_; });
    first = s->first_status_;
  }
  if (!first.ok()) {
    s->Stop();
    return first;
  }
  return s;
}

ChildSupervisor::~ChildSupervisor() { Stop(); }

Status ChildSupervisor::Spawn() {
  const std::string program = ResolveProgram(spec_.argv[0]);
  if (program.empty()) {
    return Status::NotFound(spec_.name + ": cannot execute \"" + spec_.argv[0] + "\": not found or not executable");
  }
  const std::string log_path = spec_.log_path.empty() ? "/dev/null" : spec_.log_path;
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::Internal(spec_.name + ": cannot open log file " + log_path + ": " + ::strerror(errno));
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv, envp;
  for (const std::string& a : spec_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : envp_) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* dir = spec_.working_dir.empty() ? nullptr : spec_.working_dir.c_str();
  int report[2];  // the child writes its errno here when exec fails; CLOEXEC closes it on success
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return Status::Internal(spec_.name + ": pipe: " + ::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(log_fd);
    ::close(report[0]);
    ::close(report[1]);
    return Status::Internal(spec_.name + ": fork: " + ::strerror(err));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the server died before the prctl
    ::setsid();
    internal::PrepareChild(log_fd);
    int err = 0;
    if (dir != nullptr && ::chdir(dir) != 0) {
      err = errno;
    } else {
      ::execve(program.c_str(), argv.data(), envp.data());
      err = errno;
    }
    ssize_t ignored = ::write(report[1], &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Status::Internal(spec_.name + ": cannot start " + program + ": " + ::strerror(child_errno));
  }
  const int pidfd = PidfdOpen(pid);  // the child is not reaped yet: this is it
  std::lock_guard<std::mutex> lock(mu_);
  pid_ = pid;
  pidfd_ = pidfd;
  cv_.notify_all();
  return Status::Ok();
}

void ChildSupervisor::Run() {
  try {
    RunLoop();
    return;
  } catch (const std::exception& e) {
    log::Error("supervisor stopped by an exception", {{"name", spec_.name}, {"error", e.what()}});
  } catch (...) {
    log::Error("supervisor stopped by an exception", {{"name", spec_.name}});
  }
  // Whoever waits for the first spawn must not wait forever.
  std::lock_guard<std::mutex> lock(mu_);
  if (!first_done_) {
    first_done_ = true;
    first_status_ = Status::Internal("the supervisor of " + spec_.name + " failed");
  }
  cv_.notify_all();
}

void ChildSupervisor::RunLoop() {
  auto backoff = spec_.initial_backoff;
  bool first = true;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    const Status spawned = Spawn();
    if (first) {
      std::lock_guard<std::mutex> lock(mu_);
      first_done_ = true;
      first_status_ = spawned;
      cv_.notify_all();
      first = false;
      if (!spawned.ok()) return;
    }
    pid_t pid = -1;
    int restarts = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pid = pid_;
      restarts = restarts_;
      // Stop() came while this child was being spawned: it never saw the child, so end it here.
      if (stopping_ && spawned.ok()) SignalLocked(SIGKILL);
    }
    const auto started = std::chrono::steady_clock::now();
    if (spawned.ok()) {
      log::Info("supervised child started", {{"name", spec_.name}, {"pid", std::to_string(pid)},
                                              {"restarts", std::to_string(restarts)}});
      if (spec_.on_start) spec_.on_start(pid, restarts);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      bool stopping = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (pidfd_ >= 0) ::close(pidfd_);
        pidfd_ = -1;
        pid_ = -1;
        last_exit_status_ = status;
        stopping = stopping_;
        cv_.notify_all();
      }
      if (stopping) break;
      log::Warn("supervised child exited; restarting", {{"name", spec_.name}, {"pid", std::to_string(pid)},
                                                         {"status", DescribeExit(status)}});
      if (spec_.on_exit) spec_.on_exit(pid, status);
      if (std::chrono::steady_clock::now() - started >= spec_.reset_after) backoff = spec_.initial_backoff;
    } else {
      log::Error("supervised child did not start; retrying", {{"name", spec_.name}, {"error", spawned.ToString()}});
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, backoff, [&] { return stopping_; })) break;
    ++restarts_;
    backoff = std::min(backoff * 2, spec_.max_backoff);
  }
}

void ChildSupervisor::SignalLocked(int sig) {
  if (pidfd_ >= 0) {
    PidfdSignal(pidfd_, sig);
  } else if (pid_ > 0) {
    ::kill(pid_, sig);  // no pidfd (old kernel): the child is not reaped while pid_ is set
  }
}

pid_t ChildSupervisor::pid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pid_;
}

ChildStats ChildSupervisor::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ChildStats s;
  s.pid = pid_;
  s.restarts = restarts_;
  s.last_exit_status = last_exit_status_;
  s.stopped = stopping_;
  return s;
}

pid_t ChildSupervisor::WaitForChild(pid_t not_pid, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return stopping_ || (pid_ > 0 && pid_ != not_pid); })) return -1;
  return stopping_ ? -1 : pid_;
}

void ChildSupervisor::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    if (pid_ > 0) {
      SignalLocked(spec_.stop_signal);
      if (!cv_.wait_for(lock, spec_.stop_timeout, [&] { return pid_ < 0; })) {
        log::Warn("supervised child ignored the stop signal; killing it", {{"name", spec_.name},
                                                                            {"pid", std::to_string(pid_)}});
        SignalLocked(SIGKILL);
      }
    }
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace capstan::supervisor
