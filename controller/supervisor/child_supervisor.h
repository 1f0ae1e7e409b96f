// ChildSupervisor: keeps one helper process running (the managed HAProxy; later the private
// registry), as a tiny init would.
//
// Start() spawns argv (argv[0] an absolute path, or a name looked up in PATH) with the server's
// environment plus `env`, stdout and stderr appended to `log_path`, in a session of its own, with
// the default signal dispositions and an empty signal mask (the server blocks SIGTERM/SIGINT and
// ignores SIGPIPE; a child must not inherit that), and PR_SET_PDEATHSIG = SIGTERM so a server
// killed with -9 does not leave it behind. A child that exits for any reason is started again
// after a backoff that doubles from `initial_backoff` up to `max_backoff`; a run that lasted at
// least `reset_after` starts the doubling over. `on_start(pid, restarts)` runs after every spawn
// (restarts = 0 for the first), on the supervisor's thread: a user re-applies its state there.
//
// Stop() sends `stop_signal`, waits up to `stop_timeout` for the exit, then SIGKILLs, and never
// restarts again. Signals go through a pidfd, so a pid reused after the child was reaped is never
// signalled.
//
// Thread-safety: every method may be called from any thread; callbacks run on the supervisor's
// own thread, never concurrently with each other, and must not call Stop().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace capstan::supervisor {

struct ChildSpec {
  std::string name;                          // for log lines ("haproxy")
  std::vector<std::string> argv;             // argv[0] is the program; required
  std::map<std::string, std::string> env;    // added to (or replacing in) the server's environment
  std::string log_path;                      // stdout+stderr, appended; empty: /dev/null
  std::string working_dir;                   // empty: the server's
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds reset_after{10000};
  int stop_signal = 15;                      // SIGTERM
  std::chrono::milliseconds stop_timeout{10000};
  // After every spawn: the child's pid and how many restarts preceded it (0 = first start).
  std::function<void(pid_t pid, int restarts)> on_start;
  // After every exit: the wait status (as from waitpid). Not called for the exit Stop() caused.
  std::function<void(pid_t pid, int wait_status)> on_exit;
};

struct ChildStats {
  pid_t pid = -1;         // the running child's, -1 between runs and after Stop()
  int restarts = 0;       // spawns after the first
  int last_exit_status = 0;
  bool stopped = false;
};

class ChildSupervisor {
 public:
  // Spawns the first child before returning: kInvalid for an empty argv, kNotFound (naming the
  // program) when it cannot be executed, kInternal for other spawn errors (log file, fork).
  static Result<std::unique_ptr<ChildSupervisor>> Start(ChildSpec spec);
  ~ChildSupervisor();  // Stop()

  ChildSupervisor(const ChildSupervisor&) = delete;
  ChildSupervisor& operator=(const ChildSupervisor&) = delete;

  // The current child's pid; -1 while waiting to restart and after Stop().
  pid_t pid() const;
  ChildStats Stats() const;
  // Waits until a child other than `not_pid` runs (e.g. the restart after a kill); its pid, or -1
  // on timeout. Its on_start may still be running.
  pid_t WaitForChild(pid_t not_pid, std::chrono::milliseconds timeout) const;
  // Stops the child (stop_signal, then SIGKILL after stop_timeout) and the supervision. Idempotent.
  void Stop();

 private:
  explicit ChildSupervisor(ChildSpec spec);
  // Forks and execs; sets pid_ and pidfd_. kNotFound/kInternal as Start(). Only the supervisor
  // thread spawns: PR_SET_PDEATHSIG fires when the forking *thread* ends, and this one lives as
  // long as the supervision.
  Status Spawn();
  void Run();      // the supervisor thread's top frame: RunLoop, no exception escapes
  void RunLoop();  // spawn, wait, back off, respawn
  void SignalLocked(int sig);  // mu_ held; the current child, if any

  // Constant after construction.
  const ChildSpec spec_;
  std::vector<std::string> envp_;  // the full environment, built once

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // a child started or exited; stopping_ set
  // Guarded by mu_. pid_ and pidfd_ are set after a spawn and cleared (pidfd closed) only after
  // the child was reaped, so a signal through pidfd_ never reaches another process.
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int restarts_ = 0;
  int last_exit_status_ = 0;
  bool stopping_ = false;
  bool first_done_ = false;  // the first spawn was attempted; first_status_ is its result
  Status first_status_;
  std::thread thread_;
  std::mutex stop_mu_;  // serializes Stop() callers around the join
};

}  // namespace capstan::supervisor
