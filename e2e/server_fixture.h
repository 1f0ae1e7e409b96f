// A real `capstan server` child process for end-to-end tests: on 127.0.0.1 with a port it
// picks itself, a fresh data dir, and its own HOME (so nothing is written to the user's).
// Commands (the capstan CLI, kubectl) are run against it with its kubeconfig.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "e2e/process.h"

namespace capstan::e2e {

// The capstan binary under test ($CAPSTAN_BIN, set by CTest).
std::string CapstanBin();
// Installed kubectl binaries, oldest first: {"1.27", "/usr/.../kubectl.1.27"}, ... (may be empty).
std::vector<std::pair<std::string, std::string>> KubectlBinaries();
// A test name for a kubectl version: "1.27" -> "kubectl_1_27".
std::string KubectlTestName(const std::string& version);

class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir = "");
  ~ServerProcess();

  // Starts the server and waits (up to `timeout`) until it serves. Extra flags are appended;
  // without them: --driver none, --lb none, --image-gc-high-threshold 100 (no image GC).
  bool Start(const std::vector<std::string>& extra_flags = {},
             std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM (clean) or SIGKILL; returns the exit status as Child::Stop.
  int Stop(int sig = 15);

  const std::string& data_dir() const { return data_dir_; }
  const std::string& home() const { return home_; }
  std::string kubeconfig() const { return data_dir_ + "/kubeconfig.yaml"; }
  std::string log() const { return ReadFile(log_path_); }
  std::string url() const { return url_; }
  std::string token() const;
  // The server's process id while it runs (-1 otherwise).
  pid_t pid() const { return child_.pid(); }

  // `capstan ARGS --kubeconfig K`.
  RunResult Capstan(const std::vector<std::string>& args, const std::string& stdin_text = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // `KUBECTL --kubeconfig K ARGS`, with a cache dir inside the test's HOME.
  RunResult Kubectl(const std::string& kubectl, const std::vector<std::string>& args,
                    const std::string& stdin_text = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // curl-free raw HTTP through the capstan binary is not available; tests use this instead:
  // `curl -s -H Authorization ...` via /usr/bin/curl.
  RunResult Curl(const std::vector<std::string>& args) const;

 private:
  ScopedTempDir root_;  // home, log and (unless given) the data dir; declared first, removed last
  std::string data_dir_;
  std::string home_;
  std::string log_path_;
  std::string url_;
  Child child_;
};

}  // namespace capstan::e2e
