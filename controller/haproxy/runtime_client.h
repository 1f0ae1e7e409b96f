// HaproxyRuntimeClient: HAProxy 2.6's runtime API through the master CLI (the `-S` unix socket
// of a master-worker HAProxy). Each call is one connection: the command, a shutdown of the
// write side, and the answer read to EOF (the CLI's non-interactive mode). Worker commands go
// through the master with the "@1" prefix (the current worker), so the client never needs to
// know worker pids or which stats socket belongs to which generation.
//
// Server commands of one change go in one connection (ServerCommands): straight to the current
// worker's stats socket when its pid is known, else through the master. A round trip through the
// master costs about three times one to the worker, and one connection for all of a change's
// commands costs a third of three: this is most of the runtime API's share of Ready -> routed.
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

// Commands for ServerCommands (and the single-command setters below).
std::string ServerAddrCommand(const std::string& backend, const std::string& server, const std::string& address,
                              int port);
std::string ServerStateCommand(const std::string& backend, const std::string& server, AdminState state);
std::string ServerHealthCommand(const std::string& backend, const std::string& server, Health health);

// Checks the concatenated answers to server commands: every line must be empty or an
// acknowledgement (`set server ... addr` says what changed); anything else ("No such server.",
// "Require 'backend/server'.") is kInvalid with that line.
Status CheckServerAnswers(const std::string& commands, const std::string& answers);

class HaproxyRuntimeClient {
 public:
  // `stats_socket`: the workers' stats socket (the config's `stats socket` path); empty: none,
  // and ServerCommands always goes through the master.
  explicit HaproxyRuntimeClient(std::string master_socket,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                std::string stats_socket = "");

  // One command to the master; its whole answer. kUnavailable when the socket does not answer.
  Result<std::string> Master(const std::string& command) const;
  // One command to the current worker ("@1 " + command).
  Result<std::string> Worker(const std::string& command) const;

  // Retries for about half a second while the master answers nothing (starting, re-executing).
  Result<ProcInfo> ShowProc() const;
  // `show stat` of every proxy; with `worker` > 0 as ServerCommands sends (its stats socket,
  // straight, when it is `worker`: the master's forwarding took 4-8 ms at times).
  Result<std::vector<ServerStat>> ShowStat(pid_t worker = 0, bool* direct = nullptr) const;
  // The server rows of one backend only (`show stat BACKEND 4 -1`); none when there is no such
  // backend.
  Result<std::vector<ServerStat>> ShowServerStats(const std::string& backend) const;

  // `commands` (server commands: no ';' inside) in one connection, in order. With `worker` > 0
  // they go to the stats socket, after a `show info`: when the pid it names is not `worker` (after
  // a reload the old worker may still accept on the socket for a moment, or HAProxy restarted)
  // they are sent again through the master to the current worker ("@1 "); the commands are
  // idempotent. With `worker` 0, or no stats socket, through the master at once. *direct (may be
  // null) says whether the stats socket's worker was `worker`.
  Status ServerCommands(const std::vector<std::string>& commands, pid_t worker = 0, bool* direct = nullptr) const;

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
  // `commands` answered by the current worker: with `worker` > 0 through the stats socket after a
  // `show info` naming it (*direct true; the answers after show info's), else through the master.
  Result<std::string> ToWorker(const std::vector<std::string>& commands, pid_t worker, bool* direct) const;
  // One connection to `path`: `text` and a newline, the write side shut, the answer read to EOF.
  Result<std::string> Exchange(const std::string& path, const std::string& text) const;

  const std::string socket_;
  const std::chrono::milliseconds timeout_;
  const std::string stats_socket_;
};

}  // namespace capstan::controller::haproxy
