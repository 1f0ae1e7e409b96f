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
  for (const auto& [path, content] : rendered->files) CAPSTAN_RETURN_IF_ERROR(WriteAtomically(path, content));
  const std::string next = config_path_ + ".new";
  CAPSTAN_RETURN_IF_ERROR(WriteAtomically(next, rendered->text));
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
}

ApplyResult HaproxyApplier::Apply(const HaproxyModel& desired, Clock::time_point now) {
  ApplyResult result;
  replaced_backends_.clear();
  for (const Backend& b : desired.backends) {
    for (const ServerSlot& s : b.servers) {
      if (s.state == ServerState::kReady) replaced_backends_.insert(b.name);
    }
  }
  const RuntimePlan plan = PlanRuntime(applied_, desired);
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
  bool reload = plan.reload;
  result.reload_reason = plan.reason;
  if (!reload) {
    for (const ServerOp& op : plan.ops) {
      Status st = RunOp(op, now);
      if (!st.ok()) {
        log::Warn("haproxy runtime update failed; reloading instead", {{"error", st.ToString()}});
        reload = true;
        result.reload_reason = "runtime update failed: " + st.message();
        break;
      }
      ++result.runtime_updates;
    }
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

Status HaproxyApplier::RunOp(const ServerOp& op, Clock::time_point now) {
  const std::string srv = ServerName(op.slot);
  switch (op.kind) {
    case ServerOp::kEnter: {
      // A slot still draining an earlier endpoint is taken over now.
      std::erase_if(draining_, [&](const Pending& p) { return p.backend == op.backend && p.slot == op.slot; });
      std::erase_if(leaving_, [&](const Pending& p) { return p.backend == op.backend && p.slot == op.slot; });
      CAPSTAN_RETURN_IF_ERROR(client_->SetServerState(op.backend, srv, AdminState::kMaint));
      CAPSTAN_RETURN_IF_ERROR(client_->SetServerAddr(op.backend, srv, op.address, op.port));
      if (op.probed) return client_->SetServerState(op.backend, srv, AdminState::kReady);
      CAPSTAN_RETURN_IF_ERROR(client_->SetServerState(op.backend, srv, AdminState::kDrain));
      CAPSTAN_RETURN_IF_ERROR(client_->SetServerHealth(op.backend, srv, Health::kDown));
      return client_->SetServerState(op.backend, srv, AdminState::kReady);
    }
    case ServerOp::kDrain:
      return client_->SetServerState(op.backend, srv, AdminState::kDrain);
    case ServerOp::kReady:
      return client_->SetServerState(op.backend, srv, AdminState::kReady);
    case ServerOp::kMaint:
      return client_->SetServerState(op.backend, srv, AdminState::kMaint);
    case ServerOp::kLeave:
      // Drained by Tick (in this same Apply) unless it is its backend's last UP server.
      leaving_.push_back({op.backend, op.slot, now + options_.drain_timeout});
      return Status::Ok();
  }
  return Status::Ok();
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
  auto stats = client_->ShowStat();
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
  std::vector<Pending> still_leaving;
  for (const Pending& p : leaving_) {
    const bool other_up = served.count(p.backend) > 0;
    const bool self_up = up[{p.backend, ServerName(p.slot)}];
    // Nothing to wait for when no server of the backend is meant to serve (a selector matching
    // nothing, the Pod taken out of service): Kubernetes would stop routing to it at once.
    const bool replacement_coming = replaced_backends_.count(p.backend) > 0;
    if (!stats.ok() || other_up || !self_up || !replacement_coming || now >= p.deadline) {
      Status st = client_->SetServerState(p.backend, ServerName(p.slot), AdminState::kDrain);
      if (st.ok() || now >= p.deadline) {
        // The hold counts against the drain's bound: leaving takes drain_timeout at most in all,
        // within what a terminating Pod's node agent waits (termination_gate.h).
        draining_.push_back({p.backend, p.slot, p.deadline});
        continue;
      }
    }
    still_leaving.push_back(p);
  }
  leaving_ = std::move(still_leaving);
  std::vector<Pending> still;
  for (const Pending& p : draining_) {
    auto it = sessions.find({p.backend, ServerName(p.slot)});
    const bool idle = stats.ok() && (it == sessions.end() || it->second == 0);
    if (idle || now >= p.deadline) {
      Status st = client_->SetServerState(p.backend, ServerName(p.slot), AdminState::kMaint);
      if (st.ok() || now >= p.deadline) continue;
    }
    still.push_back(p);
  }
  draining_ = std::move(still);
  return draining_.empty() && leaving_.empty() ? std::chrono::milliseconds(0) : std::chrono::milliseconds(200);
}

}  // namespace capstan::controller::haproxy
