// Child processes for end-to-end tests: run a command to completion with a time limit and its
// output captured, or keep a long-running one (a server) and stop it by signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace capstan::e2e {

struct RunResult {
  int exit_code = -1;       // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string out;          // stdout
  std::string err;          // stderr
};

// Runs argv with optional stdin text and extra environment; kills it (SIGKILL) after `timeout`.
RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_text = "",
              const std::map<std::string, std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs `sh -c script`.
RunResult Shell(const std::string& script, std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A long-running child whose stdout and stderr go to a log file.
class Child {
 public:
  Child() = default;
  ~Child();  // SIGKILLs a child still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool Start(const std::vector<std::string>& argv, const std::string& log_path,
             const std::map<std::string, std::string>& env = {});
  // Sends `sig` and waits up to `timeout` for exit; returns the exit status (or -sig).
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  bool Running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

std::string ReadFile(const std::string& path);

// Polls `done` every `poll` until it is true (true) or `timeout` has passed (false).
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds poll = std::chrono::milliseconds(100));

// Pids of live (not zombie) processes whose environment holds the entry `marker` (NAME=VALUE):
// how tests find the processes their Pods started, and kill what is left.
std::set<pid_t> MarkedProcesses(const std::string& marker);
// A fresh directory under $TMPDIR (or /tmp), removed by the caller if wanted.
std::string MakeTempDir(const std::string& prefix);

// A fresh directory that is removed with everything in it when this goes out of scope, unless the
// running test has failed (kept for the post-mortem; the path is printed) or the environment sets
// CAPSTAN_KEEP_TEST_DIRS. Without it every server a suite starts leaves its data dir behind.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix) : path_(MakeTempDir(prefix)) {}
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace capstan::e2e
