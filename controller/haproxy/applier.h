// HaproxyApplier: brings a running HAProxy to a desired model, keeping the last good config when
// a new one is refused.
//
// Apply(desired):
//   1. Render; write certificates and crt-list; write the config to haproxy.cfg.new; `haproxy -c`
//      (not for an endpoint-only plan: only server lines of an accepted config change).
//      Refused: nothing is renamed or reloaded, the last good config keeps serving, and the
//      result names the objects the errors point at (BlameSources) with HAProxy's message.
//   2. Rename haproxy.cfg.new over haproxy.cfg (atomic). The file always holds the current
//      endpoints, also when only the runtime API moved them: a later reload (or a restart of
//      HAProxy) starts from them, since a reload does not carry runtime address changes over.
//      For server-only changes the runtime commands (3) go first and the file right after, so a
//      new endpoint is routed without waiting for the render; a HAProxy restarted in between
//      gets a reload from the new file at the next Apply (OnRestart).
//   3. PlanRuntime(applied, desired): server-only changes go through the runtime API (see
//      runtime_plan.h), all of one Apply's commands in one connection to the worker; a leaving server is drained by Tick() — at once, unless it is UP and no
//      other server of its backend is (a selector switched to Pods not checked yet), then once
//      one is or drain_timeout passed — and put in maint once its sessions ended or
//      drain_timeout passed. Structural changes reload through the master CLI,
//      at most once per `reload_debounce`: a structural change first waits that long
//      (Apply returns deferred with the wait), so a burst of changes costs one reload. A runtime
//      command that fails falls back to a reload (the file already holds the desired state).
//   4. A failed reload (HAProxy kept the old worker) restores the last good config file and is
//      reported like a refused check, blaming the objects the master's log lines point at (a
//      listener whose port another process holds).
//
// Thread-safety: not thread-safe; one reconcile thread calls it (the controller's single key).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "controller/haproxy/haproxy_model.h"
#include "controller/haproxy/renderer.h"
#include "controller/haproxy/runtime_client.h"
#include "controller/haproxy/runtime_plan.h"

namespace capstan::controller::haproxy {

struct ApplierOptions {
  std::string haproxy_bin = "/usr/sbin/haproxy";
  std::string dir;                  // <data-dir>/haproxy: haproxy.cfg, certs/, crt-list.txt, sockets
  RenderOptions render;             // socket and certificate paths are filled in from `dir`
  std::string log_path;             // HAProxy's output (blame for a failed reload); empty: none
  std::chrono::milliseconds drain_timeout{30000};   // a leaving server's sessions get this long
  std::chrono::milliseconds reload_debounce{200};   // structural changes wait this long to coalesce
};

struct ApplyResult {
  Status status;                     // not ok: refused config, failed reload, I/O
  std::set<std::string> blamed;      // sources at fault (for a refused config or reload)
  bool reloaded = false;
  bool reload_failed = false;        // HAProxy refused the reload (the check had passed)
  int runtime_updates = 0;           // server ops applied through the runtime API
  std::chrono::milliseconds retry_after{0};  // > 0: deferred (debounce) or drains to finish
  bool deferred = false;             // a reload waits out the debounce: nothing was applied
  std::string reload_reason;
};

class HaproxyApplier {
 public:
  // `client` is borrowed (the master CLI of the HAProxy that reads options.dir/haproxy.cfg).
  HaproxyApplier(ApplierOptions options, HaproxyRuntimeClient* client);

  // Before HAProxy starts: render, check and write `model` as the config it will start with.
  Status WriteInitial(const HaproxyModel& model);
  ApplyResult Apply(const HaproxyModel& desired, std::chrono::steady_clock::time_point now);
  // Puts drained servers whose sessions ended (or whose time is up) in maint. Returns how long
  // until it should run again (0: nothing pending).
  std::chrono::milliseconds Tick(std::chrono::steady_clock::time_point now);
  // HAProxy restarted from the file: runtime states are the file's again, nothing is draining.
  void OnRestart();

  const HaproxyModel& applied() const { return applied_; }
  // The objects HAProxy's own output (a run that failed to start from the current file:
  // "Binding [haproxy.cfg:LINE] ... cannot bind socket") points at, as BlameSources.
  std::set<std::string> BlameOutput(const std::string& output) const;
  // `show stat` of the current worker, through its stats socket once its pid is known.
  Result<std::vector<ServerStat>> WorkerStats();
  // Slots (backend, slot) whose endpoint left and that are still draining before maint.
  std::set<std::pair<std::string, int>> leaving() const;
  const std::string& config_path() const { return config_path_; }
  std::string master_socket() const { return options_.dir + "/master.sock"; }

 private:
  struct Pending {
    std::string backend;
    int slot;
    std::chrono::steady_clock::time_point deadline;
  };
  // Render, write extra files, write .new and (check_config) check it. On success *rendered holds
  // the config.
  Status RenderAndCheck(const HaproxyModel& model, RenderedConfig* rendered, std::set<std::string>* blamed,
                        bool check_config);
  // The runtime commands of `op` appended to *commands (a kLeave only becomes pending).
  void AddOpCommands(const ServerOp& op, std::chrono::steady_clock::time_point now, std::vector<std::string>* commands);
  // Whether `slot` of `backend` may hold an endpoint in HAProxy now: the applied model has one
  // there that is not drained, or it is still leaving/draining. An empty slot is in MAINT.
  bool SlotInUse(const std::string& backend, int slot) const;
  // worker_pid_, asked of the master (`show proc`) when unknown; 0 when that fails.
  pid_t WorkerPid();
  // Sends server commands in one connection: to the current worker's stats socket once its pid
  // is known (worker_pid_), through the master otherwise.
  Status SendServerCommands(const std::vector<std::string>& commands);

  const ApplierOptions options_;
  HaproxyRuntimeClient* const client_;
  const std::string config_path_;
  HaproxyModel applied_;
  std::string applied_text_;
  std::optional<std::chrono::steady_clock::time_point> reload_wanted_since_;
  std::vector<Pending> draining_;
  // Gone endpoints still UP and serving until another server of their backend is UP (Tick).
  std::vector<Pending> leaving_;
  // Backends of the last desired model with a server meant to serve: only there may a leaving
  // server that is the last UP one be held (Tick).
  std::set<std::string> replaced_backends_;
  // The current worker's pid for ServerCommands' direct path; 0: unknown (after a reload or a
  // restart of HAProxy, or before the first command): asked of the master before the next batch.
  pid_t worker_pid_ = 0;
  // HAProxy restarted: the next Apply reloads (the file it started from may have lacked the last
  // runtime change, which reaches HAProxy before the file).
  bool reload_after_restart_ = false;
};

}  // namespace capstan::controller::haproxy
