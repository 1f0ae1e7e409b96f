// Reaper: one thread that learns when watched processes exit, without SIGCHLD (the host owns
// signal handling) and without waitpid(-1) (the host has other children).
//
// Each watched process has a pidfd (pidfd_open), which becomes readable when the process exits,
// for children and non-children alike (a run re-attached after a host restart is not our child).
// The thread polls the pidfds and an eventfd (to learn of new watches and of shutdown) and calls
// `on_exit(key)` for each process whose pidfd became readable; the callback probes and reaps
// (ProbeProcess) and returns true when the process is done with, false to keep watching. Where
// pidfd_open is unavailable (kernels before 5.3), such entries are probed every 100 ms instead.
//
// Lifetime: the thread starts at the first Watch (an instance that never starts a run costs no
// thread) and is joined by Shutdown or the destructor; callbacks run on it only, never after
// Shutdown returns. Unwatch never closes a descriptor the thread may be polling: entries are
// shared and closed by the last holder.
//
// Thread-safety: Watch, Unwatch and Shutdown are thread-safe, and may be called from the callback
// (it runs without the Reaper's mutex held), except Shutdown.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {

class Reaper {
 public:
  using Callback = std::function<bool(const std::string& key)>;

  explicit Reaper(Callback on_exit);
  ~Reaper();  // Shutdown()
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Watches process `pid` under `key` (replacing a watch of the same key). `pidfd` is the
  // process's pidfd if the caller opened one (taken over), else one is opened here.
  void Watch(const std::string& key, pid_t pid, UniqueFd pidfd = UniqueFd());
  void Unwatch(const std::string& key);
  // Stops and joins the thread. Idempotent.
  void Shutdown();

 private:
  struct Entry {
    pid_t pid = 0;
    UniqueFd pidfd;  // invalid: probed on every tick instead
  };

  void Loop();
  void Wake();

  const Callback on_exit_;
  UniqueFd wake_;  // eventfd; constant after construction
  std::mutex mu_;
  // Guarded by mu_.
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool stopping_ = false;
  std::thread thread_;  // started at the first Watch
};

// pidfd_open(pid), or an invalid UniqueFd when the kernel has no pidfds (or the process is gone).
UniqueFd OpenPidfd(pid_t pid);

}  // namespace capstan::plugins::process
