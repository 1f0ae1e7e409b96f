#include "controller/haproxy/applier.h"

#include <stdio.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "base/log.h"
#include "controller/haproxy/config_check.h"

namespace capstan::controller::haproxy {
namespace {

using Clock = std::chrono::steady_clock;

ApplierOptions Complete(ApplierOptions o) {
  o.render.stats_socket = o.dir + "/stats.sock";
  o.render.cert_dir = o.dir + "/certs";
  o.render.crt_list = o.dir + "/certs/crt-list.txt";
  return o;
}

// Writes `content` to `path` through a temporary file and a rename.
Status WriteAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return Status::Internal("cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::Internal("cannot rename " + tmp + " to " + path);
  return Status::Ok();
}

// Removes the files under `dir` that `keep` does not name: certificates and crt-lists of configs
// HAProxy no longer runs. Called only once the config naming `keep` is the one HAProxy runs.
void RemoveUnused(const std::string& dir, const std::map<std::string, std::string>& keep) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!keep.count(entry.path().string())) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

HaproxyApplier::HaproxyApplier(ApplierOptions options, HaproxyRuntimeClient* client)
    : options_(Complete(std::move(options))), client_(client), config_path_(options_.dir + "/haproxy.cfg") {}

Status HaproxyApplier::RenderAndCheck(const HaproxyModel& model, RenderedConfig* rendered,
                                      std::set<std::string>* blamed, bool check_config) {
  std::error_code ec;
  std::filesystem::create_directories(options_.render.cert_dir, ec);
  if (ec) return Status::Internal("cannot create " + options_.render.cert_dir + ": " + ec.message());
  *rendered = RenderHaproxyConfig(model, options_.render);
  for (const auto& [path, content] : rendered->files) {
    // Names carry a hash of the content (renderer.h): one already there holds these bytes.
    if (std::filesystem::exists(path, ec)) continue;
    CAPSTAN_RETURN_IF_ERROR(WriteAtomically(path, content));
  }
  // haproxy.cfg.new is only ever read by `haproxy -c` below and then renamed over haproxy.cfg:
  // written in place, with no rename of its own.
  const std::string next = config_path_ + ".new";
  {
    std::ofstream out(next, std::ios::binary | std::ios::trunc);
    out << rendered->text;
    out.flush();
    if (!out) return Status::Internal("cannot write " + next);
  }
  if (!check_config) return Status::Ok();
  auto check = CheckHaproxyConfig(options_.haproxy_bin, next);
  if (!check.ok()) return check.status();
  if (!check->valid) {
    *blamed = BlameSources(check->output, *rendered);
    return Status::Invalid("haproxy -c refused the configuration: " + AlertSummary(check->output));
  }
  return Status::Ok();
}

Status HaproxyApplier::WriteInitial(const HaproxyModel& model) {
  RenderedConfig rendered;
  std::set<std::string> blamed;
  CAPSTAN_RETURN_IF_ERROR(RenderAndCheck(model, &rendered, &blamed, /*check_config=*/true));
  if (::rename((config_path_ + ".new").c_str(), config_path_.c_str()) != 0) {
    return Status::Internal("cannot rename the new config over " + config_path_);
  }
  applied_ = model;
  applied_text_ = rendered.text;
  RemoveUnused(options_.render.cert_dir, rendered.files);
  return Status::Ok();
}

void HaproxyApplier::OnRestart() {
  draining_.clear();
  leaving_.clear();
  worker_pid_ = 0;
  reload_after_restart_ = true;
}

pid_t HaproxyApplier::WorkerPid() {
  if (worker_pid_ == 0) {
    auto proc = client_->ShowProc();
    if (proc.ok() && proc->workers.size() == 1) worker_pid_ = proc->workers.front();
  }
  return worker_pid_;
}

Status HaproxyApplier::SendServerCommands(const std::vector<std::string>& commands) {
  if (commands.empty()) return Status::Ok();
  bool direct = false;
  Status st = client_->ServerCommands(commands, WorkerPid(), &direct);
  if (!direct) worker_pid_ = 0;  // the worker changed under us: ask again next time
  return st;
}

Result<std::vector<ServerStat>> HaproxyApplier::WorkerStats() {
  bool direct = false;
  auto stats = client_->ShowStat(WorkerPid(), &direct);
  if (!direct) worker_pid_ = 0;
  return stats;
}

bool HaproxyApplier::SlotInUse(const std::string& backend, int slot) const {
  for (const Pending& p : draining_) {
    if (p.backend == backend && p.slot == slot) return true;
  }
  for (const Pending& p : leaving_) {
    if (p.backend == backend && p.slot == slot) return true;
  }
  for (const Backend& b : applied_.backends) {
    if (b.name != backend) continue;
    for (const ServerSlot& s : b.servers) {
      if (s.slot == slot) return s.state != ServerState::kDrained;
    }
  }
  return false;
}

ApplyResult HaproxyApplier::Apply(const HaproxyModel& desired, Clock::time_point now) {
  ApplyResult result;
  replaced_backends_.clear();
  for (const Backend& b : desired.backends) {
    for (const ServerSlot& s : b.servers) {
      if (s.state == ServerState::kReady) replaced_backends_.insert(b.name);
    }
  }
  RuntimePlan plan = PlanRuntime(applied_, desired);
  if (reload_after_restart_) {
    // HAProxy restarted from the file, which may not have held the last runtime change yet (see
    // below): one reload from the file as it is now puts every server where applied_ says.
    plan = RuntimePlan{true, "HAProxy restarted: reload from the current config", {}};
  }
  if (!plan.reload && plan.ops.empty()) {
    reload_wanted_since_.reset();
    // What differs, if anything, is never rendered (an endpoint's Pod): the file stays as it is.
    applied_ = desired;
    result.retry_after = Tick(now);
    return result;
  }
  // A plan without a reload ends any earlier wish to reload (one that failed, say): the next
  // structural change waits out the debounce again instead of reloading at once.
  if (!plan.reload) reload_wanted_since_.reset();
  if (plan.reload) {
    if (!reload_wanted_since_) reload_wanted_since_ = now;
    const auto waited = now - *reload_wanted_since_;
    if (waited < options_.reload_debounce) {
      result.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(options_.reload_debounce - waited) +
                           std::chrono::milliseconds(1);
      result.deferred = true;
      return result;
    }
  }
  bool reload = plan.reload;
  result.reload_reason = plan.reason;
  // Server changes go to HAProxy first and to the file right after: a new endpoint is routed
  // without waiting for the file (render and write, a few hundred microseconds for a small
  // config, milliseconds for a large one). Should HAProxy restart in between, it started from
  // the old file: OnRestart makes the next Apply reload from the new one.
  if (!reload) {
    std::vector<std::string> commands;
    for (const ServerOp& op : plan.ops) {
      AddOpCommands(op, now, &commands);
      ++result.runtime_updates;
    }
    if (Status st = SendServerCommands(commands); !st.ok()) {
      log::Warn("haproxy runtime update failed; reloading instead", {{"error", st.ToString()}});
      reload = true;
      result.reload_reason = "runtime update failed: " + st.message();
      result.runtime_updates = 0;
    }
  }
  RenderedConfig rendered;
  // A plan without a reload changes server lines only (IP literals and ports, see the model
  // builder) of a config HAProxy accepted: no `haproxy -c` for it.
  result.status = RenderAndCheck(desired, &rendered, &result.blamed, /*check_config=*/plan.reload);
  if (!result.status.ok()) {
    // The wish to reload stands (reload_wanted_since_ kept): the caller's next candidate, without
    // the blamed objects, goes through at once instead of waiting out the debounce again.
    return result;
  }
  if (::rename((config_path_ + ".new").c_str(), config_path_.c_str()) != 0) {
    result.status = Status::Internal("cannot rename the new config over " + config_path_);
    return result;
  }
  if (reload) {
    std::error_code ec;
    const auto log_before = options_.log_path.empty() ? 0 : std::filesystem::file_size(options_.log_path, ec);
    auto pid = client_->Reload();
    if (!pid.ok()) {
      // Keep what serves: the file goes back to the config the running worker has. What the
      // master logged for this attempt (a port another process holds: "Binding [file:line] ...
      // cannot bind socket") names the objects at fault, as `haproxy -c` output does. The
      // pending reload keeps its debounce, so a retry without them goes through at once.
      (void)WriteAtomically(config_path_, applied_text_);
      result.status = pid.status();
      result.reload_failed = true;
      if (!options_.log_path.empty()) {
        std::ifstream in(options_.log_path, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(ec ? 0 : log_before));
        const std::string logged((std::istreambuf_iterator<char>(in)), {});
        result.blamed = BlameSources(logged, rendered);
        const std::string alerts = AlertSummary(logged);
        if (!alerts.empty()) result.status = Status::Invalid(pid.status().message() + ": " + alerts);
      }
      return result;
    }
    reload_wanted_since_.reset();
    reload_after_restart_ = false;
    worker_pid_ = *pid;
    result.reloaded = true;
    RemoveUnused(options_.render.cert_dir, rendered.files);
    draining_.clear();  // the old worker finishes its sessions; the new one has the file's states
    leaving_.clear();
    log::Info("haproxy reloaded", {{"reason", result.reload_reason}, {"worker", std::to_string(*pid)}});
  }
  applied_ = desired;
  applied_text_ = rendered.text;
  result.retry_after = Tick(now);
  return result;
}

void HaproxyApplier::AddOpCommands(const ServerOp& op, Clock::time_point now, std::vector<std::string>* commands) {
  const std::string srv = ServerName(op.slot);
  auto add = [&](std::string c) { commands->push_back(std::move(c)); };
  switch (op.kind) {
    case ServerOp::kEnter: {
      // A slot still serving or draining an earlier endpoint is taken out first and over now; an
      // empty one is in MAINT already (the file has it disabled, and leaving ends in maint).
      if (SlotInUse(op.backend, op.slot)) add(ServerStateCommand(op.backend, srv, AdminState::kMaint));
      std::erase_if(draining_, [&](const Pending& p) { return p.backend == op.backend && p.slot == op.slot; });
      std::erase_if(leaving_, [&](const Pending& p) { return p.backend == op.backend && p.slot == op.slot; });
      add(ServerAddrCommand(op.backend, srv, op.address, op.port));
      if (!op.probed) {
        add(ServerStateCommand(op.backend, srv, AdminState::kDrain));
        add(ServerHealthCommand(op.backend, srv, Health::kDown));
      }
      add(ServerStateCommand(op.backend, srv, AdminState::kReady));
      return;
    }
    case ServerOp::kDrain:
      return add(ServerStateCommand(op.backend, srv, AdminState::kDrain));
    case ServerOp::kReady:
      return add(ServerStateCommand(op.backend, srv, AdminState::kReady));
    case ServerOp::kMaint:
      return add(ServerStateCommand(op.backend, srv, AdminState::kMaint));
    case ServerOp::kLeave:
      // Drained by Tick (in this same Apply) unless it is its backend's last UP server.
      leaving_.push_back({op.backend, op.slot, now + options_.drain_timeout});
      return;
  }
}

std::set<std::string> HaproxyApplier::BlameOutput(const std::string& output) const {
  // Rendering is deterministic: the applied model renders to the file HAProxy read, line for line.
  return BlameSources(output, RenderHaproxyConfig(applied_, options_.render));
}

std::set<std::pair<std::string, int>> HaproxyApplier::leaving() const {
  std::set<std::pair<std::string, int>> out;
  for (const Pending& p : draining_) out.insert({p.backend, p.slot});
  for (const Pending& p : leaving_) out.insert({p.backend, p.slot});  // held UP: still serving
  return out;
}

std::chrono::milliseconds HaproxyApplier::Tick(Clock::time_point now) {
  if (draining_.empty() && leaving_.empty()) return std::chrono::milliseconds(0);
  auto stats = WorkerStats();
  std::map<std::pair<std::string, std::string>, int64_t> sessions;
  std::map<std::pair<std::string, std::string>, bool> up;  // UP in `show stat` ("UP", "UP 1/3", "no check")
  if (stats.ok()) {
    for (const ServerStat& s : *stats) {
      sessions[{s.backend, s.server}] = s.current_sessions;
      up[{s.backend, s.server}] = s.status.rfind("UP", 0) == 0 || s.status == "no check";
    }
  }
  // A leaving server that is UP keeps serving while no other server of its backend is UP (a
  // Service's selector switched to Pods whose checks have not passed yet: draining it now would
  // leave the backend without a server and fail requests), at most drain_timeout; then it drains.
  std::set<std::pair<std::string, std::string>> leaving;
  for (const Pending& p : leaving_) leaving.insert({p.backend, ServerName(p.slot)});
  std::set<std::string> served;  // backends with a server UP that is not leaving
  for (const auto& [key, is_up] : up) {
    if (is_up && !leaving.count(key)) served.insert(key.first);
  }
  // One batch: the drains, then the maints (a server drained now whose sessions had ended already
  // goes on to maint in the same batch).
  std::vector<std::string> commands;
  std::vector<Pending> still_leaving, still_draining, drained_now, maint_now;
  for (const Pending& p : leaving_) {
    const bool other_up = served.count(p.backend) > 0;
    const bool self_up = up[{p.backend, ServerName(p.slot)}];
    // Nothing to wait for when no server of the backend is meant to serve (a selector matching
    // nothing, the Pod taken out of service): Kubernetes would stop routing to it at once.
    const bool replacement_coming = replaced_backends_.count(p.backend) > 0;
    if (!stats.ok() || other_up || !self_up || !replacement_coming || now >= p.deadline) {
      commands.push_back(ServerStateCommand(p.backend, ServerName(p.slot), AdminState::kDrain));
      drained_now.push_back(p);
    } else {
      still_leaving.push_back(p);
    }
  }
  auto to_maint = [&](const Pending& p) {
    auto it = sessions.find({p.backend, ServerName(p.slot)});
    const bool idle = stats.ok() && (it == sessions.end() || it->second == 0);
    return idle || now >= p.deadline;
  };
  // The hold counts against the drain's bound (p.deadline is kept): leaving takes drain_timeout
  // at most in all, within what a terminating Pod's node agent waits (termination_gate.h).
  for (const Pending& p : draining_) (to_maint(p) ? maint_now : still_draining).push_back(p);
  for (const Pending& p : drained_now) (to_maint(p) ? maint_now : still_draining).push_back(p);
  for (const Pending& p : maint_now) commands.push_back(ServerStateCommand(p.backend, ServerName(p.slot), AdminState::kMaint));
  if (Status st = SendServerCommands(commands); !st.ok()) {
    // None of it known to have happened: everything waits on as it was, none past its deadline.
    std::erase_if(leaving_, [&](const Pending& p) { return now >= p.deadline; });
    std::erase_if(draining_, [&](const Pending& p) { return now >= p.deadline; });
    return std::chrono::milliseconds(200);
  }
  leaving_ = std::move(still_leaving);
  draining_ = std::move(still_draining);
  return draining_.empty() && leaving_.empty() ? std::chrono::milliseconds(0) : std::chrono::milliseconds(200);
}

}  // namespace capstan::controller::haproxy
