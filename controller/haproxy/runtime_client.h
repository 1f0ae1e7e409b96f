// HaproxyRuntimeClient: HAProxy 2.6's runtime API through the master CLI (the `-S` unix socket
// of a master-worker HAProxy). Each call is one connection: the command, a shutdown of the
// write side, and the answer read to EOF (the CLI's non-interactive mode). Worker commands go
// through the master with the "@1" prefix (the current worker), so the client never needs to
// know worker pids or which stats socket belongs to which generation.
//
// Reload: 2.6's `reload` answers nothing and closes the connection, so Reload() reads `show
// proc` before, sends `reload`, and polls `show proc` until the master's reload count moved: a
// worker pid that was not there before means success; "[failed: N]" with N > 0 means the new
// configuration did not load and the old worker keeps serving.
//
// Thread-safety: every method may be called from any thread (no state beyond constants).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"

namespace capstan::controller::haproxy {

// `show proc` of the master.
struct ProcInfo {
  pid_t master_pid = 0;
  int reloads = 0;         // of the master since it started
  int failed_reloads = 0;  // since the last successful one
  std::vector<pid_t> workers;      // current
  std::vector<pid_t> old_workers;  // finishing their sessions after a reload
};
Result<ProcInfo> ParseShowProc(const std::string& text);

// One server row of `show stat`.
struct ServerStat {
  std::string backend, server;
  std::string status;        // UP, DOWN, MAINT, DRAIN, "UP 1/3", "DOWN 1/2", "no check", ...
  int64_t current_sessions = 0;  // scur
  int weight = 0;
  std::string check_status;  // L7OK, L4CON, INI, ...
  std::string address;       // addr ("127.0.0.1:20001")
  int check_code = 0;        // check_code: the last check's HTTP status (L7 checks); 0: none
  std::string last_check;    // last_chk: what the last check said ("Connection refused", ...)
  int64_t last_change_seconds = -1;  // lastchg: since the last UP/DOWN transition; -1: unknown
};
// The server rows (not FRONTEND/BACKEND) of `show stat` CSV, columns found by the header names.
Result<std::vector<ServerStat>> ParseShowStat(const std::string& csv);

enum class AdminState { kReady, kDrain, kMaint };
enum class Health { kUp, kStopping, kDown };

class HaproxyRuntimeClient {
 public:
  explicit HaproxyRuntimeClient(std::string master_socket,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // One command to the master; its whole answer. kUnavailable when the socket does not answer.
  Result<std::string> Master(const std::string& command) const;
  // One command to the current worker ("@1 " + command).
  Result<std::string> Worker(const std::string& command) const;

  // Retries for about half a second while the master answers nothing (starting, re-executing).
  Result<ProcInfo> ShowProc() const;
  Result<std::vector<ServerStat>> ShowStat() const;
  // The server rows of one backend only (`show stat BACKEND 4 -1`); none when there is no such
  // backend.
  Result<std::vector<ServerStat>> ShowServerStats(const std::string& backend) const;

  Status SetServerAddr(const std::string& backend, const std::string& server, const std::string& address,
                       int port) const;
  Status SetServerState(const std::string& backend, const std::string& server, AdminState state) const;
  Status SetServerHealth(const std::string& backend, const std::string& server, Health health) const;
  Status SetWeight(const std::string& backend, const std::string& server, int weight) const;

  // Reloads through the master and waits (up to `timeout`) for the outcome: the new worker's pid;
  // kInvalid ("reload failed") when HAProxy kept the old configuration, kTimeout otherwise.
  Result<pid_t> Reload(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

  const std::string& socket_path() const { return socket_; }

 private:
  // A worker command whose success answer is empty or starts with one of `ok_prefixes`.
  Status WorkerCommand(const std::string& command, std::initializer_list<const char*> ok_prefixes) const;

  const std::string socket_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace capstan::controller::haproxy
