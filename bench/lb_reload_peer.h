// ReloadPeer: the seed's way of load balancing, automated for bench/haproxy.sh. Debian's haproxy
// in master-worker mode (-W -S master.sock) reading a hand-written style haproxy.cfg: one HTTP
// frontend, `balance roundrobin`, `option httpchk GET /health`, one `server` line per replica,
// nothing else (no retries/redispatch tuning, no stats socket with expose-fd, no
// idle-close-on-response) — the setup the issue starts from. Every change rewrites the file and
// reloads through the master CLI, confirmed with `show proc`. Its one addition: `nbthread` as
// Capstan's HAProxy has it, so that the two sides differ only in how a change reaches HAProxy.
//
// Replicas are lb_workload processes on free 127.0.0.1 ports; "ready" is the moment one first
// answers GET /health directly (what a readiness probe would see).
//
// Thread-safety: none; one benchmark thread drives it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "bench/lb_traffic.h"
#include "controller/haproxy/runtime_client.h"
#include "controller/supervisor/child_supervisor.h"

namespace capstan::bench {

class ReloadPeer {
 public:
  // Starts haproxy on 127.0.0.1:`port` with no server yet and `threads` threads (0: HAProxy's
  // default, one per CPU); files in `dir`.
  static Result<std::unique_ptr<ReloadPeer>> Start(const std::string& dir, const std::string& haproxy_bin,
                                                   const std::string& workload_bin, int port, int threads);
  ~ReloadPeer();  // stops the replicas and haproxy

  // Starts replica `name` and waits (bounded) until it answers /health; that moment.
  Result<LbClock::time_point> StartReplica(const std::string& name);
  // SIGTERM (it exits at once), waits for the exit.
  void StopReplica(const std::string& name);
  // Rewrites haproxy.cfg with one server line per name (in this order) and reloads; returns once
  // `show proc` shows the new worker.
  Status Serve(const std::vector<std::string>& names);

  int reloads() const { return reloads_; }
  const std::string& config_path() const { return config_path_; }

 private:
  ReloadPeer(std::string dir, std::string workload_bin, int port, int threads);
  std::string Render(const std::vector<std::string>& names) const;

  const std::string dir_, workload_bin_, config_path_;
  const int port_;
  const int threads_;
  controller::haproxy::HaproxyRuntimeClient cli_;
  std::unique_ptr<supervisor::ChildSupervisor> haproxy_;
  struct Replica {
    int port = 0;
    std::unique_ptr<supervisor::ChildSupervisor> process;
  };
  std::map<std::string, Replica> replicas_;
  int reloads_ = 0;
};

// GET http://127.0.0.1:port/path answered 200 (one short-timeout attempt).
bool Answers(int port, const std::string& path);

}  // namespace capstan::bench
