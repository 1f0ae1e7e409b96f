#include "bench/lb_reload_peer.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include <httplib.h>

#include "controller/haproxy/haproxy_test_util.h"

namespace capstan::bench {

bool Answers(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(0, 200000);
  c.set_read_timeout(1, 0);
  auto r = c.Get(path.c_str());
  return r && r->status == 200;
}

ReloadPeer::ReloadPeer(std::string dir, std::string workload_bin, int port, int threads)
    : dir_(std::move(dir)),
      workload_bin_(std::move(workload_bin)),
      config_path_(dir_ + "/haproxy.cfg"),
      port_(port),
      threads_(threads),
      cli_(dir_ + "/master.sock") {}

ReloadPeer::~ReloadPeer() {
  if (haproxy_) haproxy_->Stop();
  for (auto& [name, r] : replicas_) r.process->Stop();
}

std::string ReloadPeer::Render(const std::vector<std::string>& names) const {
  std::string cfg =
      "global\n"
      "  maxconn 4096\n" +
      (threads_ > 0 ? "  nbthread " + std::to_string(threads_) + "\n" : std::string()) +
      "defaults\n"
      "  mode http\n"
      "  timeout connect 5s\n"
      "  timeout client 50s\n"
      "  timeout server 50s\n"
      "frontend web\n"
      "  bind 127.0.0.1:" + std::to_string(port_) + "\n"
      "  default_backend app\n"
      "backend app\n"
      "  balance roundrobin\n"
      "  option httpchk GET /health\n";
  for (const std::string& n : names) {
    auto it = replicas_.find(n);
    if (it == replicas_.end()) continue;
    cfg += "  server " + n + " 127.0.0.1:" + std::to_string(it->second.port) + " check\n";
  }
  return cfg;
}

Result<std::unique_ptr<ReloadPeer>> ReloadPeer::Start(const std::string& dir, const std::string& haproxy_bin,
                                                      const std::string& workload_bin, int port, int threads) {
  std::unique_ptr<ReloadPeer> peer(new ReloadPeer(dir, workload_bin, port, threads));
  std::filesystem::create_directories(dir);
  std::ofstream(peer->config_path_) << peer->Render({});
  supervisor::ChildSpec spec;
  spec.name = "peer-haproxy";
  spec.argv = {haproxy_bin, "-W", "-S", dir + "/master.sock,mode,600", "-f", peer->config_path_};
  spec.log_path = dir + "/haproxy.log";
  auto h = supervisor::ChildSupervisor::Start(spec);
  if (!h.ok()) return h.status();
  peer->haproxy_ = std::move(h).value();
  for (int i = 0; i < 100; ++i) {
    auto proc = peer->cli_.ShowProc();
    if (proc.ok() && !proc->workers.empty()) return peer;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Unavailable("the peer's haproxy did not start; see " + spec.log_path);
}

Result<LbClock::time_point> ReloadPeer::StartReplica(const std::string& name) {
  Replica r;
  r.port = controller::haproxy::testing::FreePort();
  supervisor::ChildSpec spec;
  spec.name = name;
  spec.argv = {workload_bin_, name, std::to_string(r.port)};
  spec.log_path = dir_ + "/" + name + ".log";
  spec.stop_timeout = std::chrono::milliseconds(2000);
  spec.env = {{"LB_WORKLOAD_MAX_SECONDS", "900"}};
  auto p = supervisor::ChildSupervisor::Start(spec);
  if (!p.ok()) return p.status();
  r.process = std::move(p).value();
  const int port = r.port;
  replicas_[name] = std::move(r);
  const auto end = LbClock::now() + std::chrono::seconds(10);
  while (LbClock::now() < end) {
    if (Answers(port, "/health")) return LbClock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Unavailable("replica " + name + " did not answer on port " + std::to_string(port));
}

void ReloadPeer::StopReplica(const std::string& name) {
  auto it = replicas_.find(name);
  if (it == replicas_.end()) return;
  it->second.process->Stop();
  replicas_.erase(it);
}

Status ReloadPeer::Serve(const std::vector<std::string>& names) {
  const std::string tmp = config_path_ + ".new";
  {
    std::ofstream out(tmp);
    out << Render(names);
    if (!out.flush()) return Status::Internal("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, config_path_);
  ++reloads_;
  auto worker = cli_.Reload(std::chrono::seconds(20));
  if (!worker.ok()) return worker.status();
  return Status::Ok();
}

}  // namespace capstan::bench
