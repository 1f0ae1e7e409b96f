#include "plugins/process/process_driver.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "plugins/common/host_info.h"
#include "plugins/process/container_start.h"
#include "plugins/process/exec_runner.h"
#include "plugins/process/log_file.h"
#include "plugins/process/spawn.h"

namespace capstan::plugins::process {
namespace {

using Clock = std::chrono::steady_clock;

void Signal(const UniqueFd& efd) {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(efd.get(), &one, sizeof one);
}

sdk::Error NoRun(const std::string& id) { return sdk::NotFound("process driver: no run " + id); }

}  // namespace

// ---- Creation -----------------------------------------------------------------------------------

sdk::Result<std::unique_ptr<sdk::Driver>> ProcessDriver::Create(const nlohmann::json& config, const sdk::Host& host) {
  sdk::Result<Config> parsed = ParseConfig(config, DefaultStateDir());
  if (!parsed.ok()) return parsed.error();
  sdk::Result<std::shared_ptr<StateStore>> store = StateStore::Open(parsed.value().state_dir);
  if (!store.ok()) return store.error();
  if (int e = MakeDirs(parsed.value().log_dir); e != 0) {
    return sdk::InvalidConfig("logDir: cannot create " + parsed.value().log_dir + ": " + std::strerror(e));
  }
  return std::make_unique<ProcessDriver>(std::move(parsed.value()), std::move(store.value()), host);
}

ProcessDriver::ProcessDriver(Config config, std::shared_ptr<StateStore> store, sdk::Host host)
    : config_(std::move(config)),
      store_(std::move(store)),
      host_(host),
      boot_id_(ReadBootId()),
      reaper_([this](const std::string& key) { return OnProcessEvent(key); }) {}

ProcessDriver::~ProcessDriver() { reaper_.Shutdown(); }

sdk::Capabilities ProcessDriver::GetCapabilities() {
  sdk::Capabilities c;
  c.exec = c.logs = c.exit_events = true;
  c.image_pull = c.images = c.remote_endpoint = false;
  c.network_modes = {"host"};
  return c;
}

sdk::Result<sdk::Fingerprint> ProcessDriver::GetFingerprint() {
  const HostInfo h = ReadHostInfo();
  sdk::Fingerprint fp;
  fp.os = h.os;
  fp.arch = h.arch;
  fp.runtime_version = std::string("process://") + kVersion;
  fp.capacity = {{"cpu", std::to_string(h.cpus)},
                 {"memory", std::to_string(h.memory_kib) + "Ki"},
                 {"pods", std::to_string(config_.pods)}};
  fp.attributes = {{"kernel", h.kernel}, {"stateDir", config_.state_dir}, {"logDir", config_.log_dir}};
  for (const std::string& dir : {store_->runs_dir(), config_.log_dir}) {
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      fp.healthy = false;
      fp.message = dir + " is not writable: " + std::strerror(errno);
      break;
    }
  }
  return fp;
}

// ---- Runs in memory -----------------------------------------------------------------------------

std::shared_ptr<ProcessDriver::Container> ProcessDriver::MakeContainer(ContainerRecord rec) {
  auto c = std::make_shared<Container>();
  c->rec = std::move(rec);
  c->exited.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (c->rec.exited) Signal(c->exited);
  return c;
}

bool ProcessDriver::AllTerminatedLocked(const Run& run) {
  return std::all_of(run.containers.begin(), run.containers.end(),
                     [](const std::shared_ptr<Container>& c) { return c->rec.exited; });
}

sdk::ContainerStatus ProcessDriver::StatusLocked(const Container& c) {
  const ContainerRecord& r = c.rec;
  sdk::ContainerStatus s;
  s.name = r.name;
  s.id = r.id;
  s.image = r.image;
  s.image_id = r.image_id;
  s.started_at_unix_nano = r.started_at_unix_nano;
  if (r.exited) {
    s.state = sdk::ContainerState::kTerminated;
    s.exit_code = r.exit_code;
    s.reason = r.reason;
    s.message = r.message;
    s.finished_at_unix_nano = r.finished_at_unix_nano;
  } else {
    s.state = sdk::ContainerState::kRunning;
    s.ready = true;  // no probes here: the host runs them (through exec)
  }
  return s;
}

std::vector<sdk::ContainerStatus> ProcessDriver::StatusesLocked(const Run& run) {
  std::vector<sdk::ContainerStatus> out;
  for (const std::shared_ptr<Container>& c : run.containers) out.push_back(StatusLocked(*c));
  return out;
}

sdk::Result<std::shared_ptr<ProcessDriver::Run>> ProcessDriver::Find(const std::string& id) {
  if (!ValidRunId(id)) return NoRun(id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = runs_.find(id); it != runs_.end()) return it->second;
  }
  std::lock_guard<std::mutex> load_lock(load_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = runs_.find(id); it != runs_.end()) return it->second;
  }
  sdk::Result<RunRecord> rec = store_->Load(id);
  if (!rec.ok()) {
    if (rec.error().code == CAPSTAN_ERR_NOT_FOUND) return NoRun(id);
    return rec.error();
  }
  return AttachLocked(rec.value());
}

std::shared_ptr<ProcessDriver::Run> ProcessDriver::AttachLocked(const RunRecord& rec) {
  auto run = std::make_shared<Run>();
  run->id = rec.id;
  run->pod = rec.pod;
  run->same_boot = !boot_id_.empty() && rec.boot_id == boot_id_;
  for (const ContainerRecord& c : rec.containers) run->containers.push_back(MakeContainer(c));
  {
    std::lock_guard<std::mutex> lock(mu_);
    runs_[run->id] = run;
  }
  for (const std::shared_ptr<Container>& c : run->containers) {
    if (c->rec.exited) continue;  // its exit is on record already
    if (!run->same_boot) {
      MarkTerminated(*run, *c, {Liveness::kGone, 0}, "the host rebooted since the container started");
      continue;
    }
    const ProbeResult probe = ProbeProcess(static_cast<pid_t>(c->rec.pid), c->rec.start_ticks);
    if (probe.liveness == Liveness::kRunning) {
      reaper_.Watch(Key(run->id, c->rec.name), static_cast<pid_t>(c->rec.pid));
    } else {
      MarkTerminated(*run, *c, probe, "the process ended while no driver instance watched it (a host restart)");
    }
  }
  host_.Debug("process driver: re-attached to run " + run->id);
  return run;
}

sdk::Result<std::shared_ptr<ProcessDriver::Container>> ProcessDriver::FindContainer(const Run& run,
                                                                                    const std::string& name) {
  for (const std::shared_ptr<Container>& c : run.containers) {
    if (c->rec.name == name) return c;
  }
  return sdk::NotFound("process driver: run " + run.id + " has no container " + name);
}

// ---- Exits --------------------------------------------------------------------------------------

bool ProcessDriver::OnProcessEvent(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return true;
  std::shared_ptr<Run> run;
  std::shared_ptr<Container> c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runs_.find(key.substr(0, slash));
    if (it == runs_.end()) return true;
    run = it->second;
    for (const std::shared_ptr<Container>& each : run->containers) {
      if (each->rec.name == key.substr(slash + 1)) c = each;
    }
    if (c == nullptr || c->rec.exited) return true;
  }
  // pid and start time are constant after construction: read without the lock.
  const ProbeResult probe = ProbeProcess(static_cast<pid_t>(c->rec.pid), c->rec.start_ticks);
  if (probe.liveness == Liveness::kRunning) return false;
  MarkTerminated(*run, *c, probe, "the process was not started by this host process, so its exit code is unknown");
  return true;
}

void ProcessDriver::MarkTerminated(const Run& run, Container& c, const ProbeResult& probe,
                                   const std::string& unknown_why) {
  ExitInfo info;
  if (probe.liveness == Liveness::kExited) {
    info = DescribeWaitStatus(probe.wait_status);
  } else {
    info.exit_code = kUnknownExitCode;
    info.reason = kUnknownReason;
    info.message = "exit code unknown: " + unknown_why;
  }
  sdk::ContainerExited event;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (c.rec.exited) return;
    c.rec.exited = true;
    c.rec.exit_code = info.exit_code;
    c.rec.reason = info.reason;
    c.rec.message = info.message;
    c.rec.finished_at_unix_nano = sdk::NowUnixNano();
    Signal(c.exited);
    event.handle_id = run.id;
    event.pod_uid = run.pod.uid;
    event.container = StatusLocked(c);
  }
  changed_.notify_all();
  // The rest of the container goes with its main process (see the file comment).
  if (run.same_boot && c.rec.pid > 0) SignalGroup(static_cast<pid_t>(c.rec.pid), c.rec.start_ticks, SIGKILL);
  const ContainerRecord rec = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return c.rec;
  }();
  sdk::Result<void> saved = store_->Update(run.id, [&rec](RunRecord* r) {
    for (ContainerRecord& stored : r->containers) {
      if (stored.name != rec.name || stored.exited) continue;
      stored.exited = true;
      stored.exit_code = rec.exit_code;
      stored.reason = rec.reason;
      stored.message = rec.message;
      stored.finished_at_unix_nano = rec.finished_at_unix_nano;
      return true;
    }
    return false;
  });
  if (!saved.ok() && saved.error().code != CAPSTAN_ERR_NOT_FOUND) {
    host_.Warn("process driver: cannot record the exit of " + rec.id + ": " + saved.error().message);
  }
  host_.EmitContainerExited(event);
}

// ---- Operations ---------------------------------------------------------------------------------

sdk::Result<sdk::PodRunHandle> ProcessDriver::Start(const sdk::PodRunSpec& spec) {
  for (size_t i = 0; i < spec.containers.size(); ++i) {
    if (!ValidContainerName(spec.containers[i].name)) {
      return sdk::InvalidArgument("containers[" + std::to_string(i) + "].name: \"" + spec.containers[i].name +
                                  "\" is not a valid name for the process driver (it names the log file: "
                                  "[A-Za-z0-9][A-Za-z0-9._-]*, at most 253 characters)");
    }
  }
  RunRecord rec;
  rec.id = NewRunId();
  rec.boot_id = boot_id_;
  rec.pod = spec.pod;
  rec.labels = spec.labels;
  rec.created_at_unix_nano = sdk::NowUnixNano();
  const std::string log_dir = LogDirOf(rec.id);
  if (int e = MakeDirs(log_dir); e != 0) {
    return sdk::Internal("process driver: cannot create the log directory " + log_dir + ": " + std::strerror(e));
  }
  std::vector<UniqueFd> pidfds;
  for (const sdk::ContainerSpec& c : spec.containers) {
    StartedContainer started = StartContainer(c, rec.id, log_dir + "/" + c.name + ".log");
    rec.containers.push_back(std::move(started.record));
    pidfds.push_back(std::move(started.pidfd));
  }
  // Recorded before start returns: a run the host holds a handle of is always found again.
  if (sdk::Result<void> saved = store_->Write(rec); !saved.ok()) {
    for (const ContainerRecord& c : rec.containers) {
      if (c.pid <= 0) continue;
      // Our children, known to no one else yet: a blocking wait on each exact pid is safe.
      ::kill(-static_cast<pid_t>(c.pid), SIGKILL);
      while (::waitpid(static_cast<pid_t>(c.pid), nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(log_dir, ignored);
    return sdk::Unavailable("process driver: cannot record the run in " + store_->runs_dir() + ": " +
                            saved.error().message);
  }
  auto run = std::make_shared<Run>();
  run->id = rec.id;
  run->pod = rec.pod;
  for (const ContainerRecord& c : rec.containers) run->containers.push_back(MakeContainer(c));
  {
    std::lock_guard<std::mutex> lock(mu_);
    runs_[run->id] = run;
  }
  std::vector<sdk::ContainerExited> start_errors;
  for (size_t i = 0; i < run->containers.size(); ++i) {
    const Container& c = *run->containers[i];
    if (c.rec.pid > 0) {
      reaper_.Watch(Key(run->id, c.rec.name), static_cast<pid_t>(c.rec.pid), std::move(pidfds[i]));
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      start_errors.push_back({run->id, run->pod.uid, StatusLocked(c)});
    }
  }
  // A start error is an exit the host learns of at once.
  for (const sdk::ContainerExited& e : start_errors) host_.EmitContainerExited(e);
  return HandleOf(rec);
}

sdk::Result<void> ProcessDriver::Recover(const sdk::PodRunHandle& handle) {
  sdk::Result<std::shared_ptr<Run>> run = Find(handle.id);
  if (!run.ok()) return run.error();
  return sdk::Ok();
}

sdk::Result<sdk::PodRunStatus> ProcessDriver::Inspect(const sdk::PodRunHandle& handle) {
  sdk::Result<std::shared_ptr<Run>> run = Find(handle.id);
  if (!run.ok()) return run.error();
  std::lock_guard<std::mutex> lock(mu_);
  if (run.value()->removed) return NoRun(handle.id);
  sdk::PodRunStatus out;
  out.containers = StatusesLocked(*run.value());
  return out;
}

sdk::Result<sdk::WaitResult> ProcessDriver::Wait(const sdk::PodRunHandle& handle, std::chrono::milliseconds timeout) {
  sdk::Result<std::shared_ptr<Run>> found = Find(handle.id);
  if (!found.ok()) return found.error();
  const Run& run = *found.value();
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (run.removed) return sdk::NotFound("process driver: run " + handle.id + " was removed while waiting");
    sdk::WaitResult out;
    out.exited = AllTerminatedLocked(run);
    if (out.exited || Clock::now() >= deadline) {
      out.containers = StatusesLocked(run);
      return out;
    }
    changed_.wait_until(lock, deadline);
  }
}

void ProcessDriver::SignalRun(const Run& run, int sig) {
  if (!run.same_boot) return;  // nothing of a run from before the last boot runs
  for (const std::shared_ptr<Container>& c : run.containers) {
    if (c->rec.pid > 0) SignalGroup(static_cast<pid_t>(c->rec.pid), c->rec.start_ticks, sig);
  }
}

sdk::Result<void> ProcessDriver::StopRun(const Run& run, std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!AllTerminatedLocked(run) && grace.count() > 0) {
    lock.unlock();
    SignalRun(run, SIGTERM);
    lock.lock();
    changed_.wait_for(lock, grace, [&] { return AllTerminatedLocked(run); });
  }
  // Also when every main process is gone: what is left of their groups goes now.
  lock.unlock();
  SignalRun(run, SIGKILL);
  lock.lock();
  if (!changed_.wait_for(lock, kKillWait, [&] { return AllTerminatedLocked(run); })) {
    return sdk::RetryLater("process driver: a process of run " + run.id + " did not exit within " +
                           std::to_string(kKillWait.count()) + " s of SIGKILL");
  }
  return sdk::Ok();
}

sdk::Result<void> ProcessDriver::Stop(const sdk::PodRunHandle& handle, std::chrono::milliseconds grace) {
  sdk::Result<std::shared_ptr<Run>> run = Find(handle.id);
  if (!run.ok()) return run.error();
  return StopRun(*run.value(), grace);
}

sdk::Result<void> ProcessDriver::Remove(const sdk::PodRunHandle& handle) {
  if (!ValidRunId(handle.id)) return sdk::Ok();  // never one of ours
  sdk::Result<std::shared_ptr<Run>> found = Find(handle.id);
  if (!found.ok() && found.error().code != CAPSTAN_ERR_NOT_FOUND) {
    // An unreadable record: its processes cannot be found, but the run can still be released.
    host_.Warn("process driver: removing run " + handle.id + " whose record is unreadable: " + found.error().message);
  }
  if (found.ok()) {
    const std::shared_ptr<Run>& run = found.value();
    if (sdk::Result<void> stopped = StopRun(*run, std::chrono::milliseconds(0)); !stopped.ok()) return stopped;
    std::lock_guard<std::mutex> load_lock(load_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      run->removed = true;
      runs_.erase(run->id);
    }
    changed_.notify_all();
    for (const std::shared_ptr<Container>& c : run->containers) {
      reaper_.Unwatch(Key(run->id, c->rec.name));
      if (c->rec.pid > 0) ForgetProcess(static_cast<pid_t>(c->rec.pid), c->rec.start_ticks);
    }
    if (sdk::Result<void> gone = store_->Remove(handle.id); !gone.ok()) return gone;
  } else if (sdk::Result<void> gone = store_->Remove(handle.id); !gone.ok()) {
    return gone;
  }
  std::error_code ec;
  std::filesystem::remove_all(LogDirOf(handle.id), ec);
  if (ec) return sdk::Internal("process driver: cannot delete the logs " + LogDirOf(handle.id) + ": " + ec.message());
  return sdk::Ok();
}

sdk::Result<std::vector<sdk::PodRunHandle>> ProcessDriver::List(const std::map<std::string, std::string>& selector) {
  std::vector<std::string> problems;
  std::vector<sdk::PodRunHandle> out;
  for (const RunRecord& rec : store_->LoadAll(&problems)) {
    if (LabelsMatch(rec.labels, selector)) out.push_back(HandleOf(rec));
  }
  for (const std::string& p : problems) host_.Warn("process driver: list: skipped " + p);
  return out;
}

sdk::Result<void> ProcessDriver::Logs(const sdk::LogsRequest& request, sdk::LogSink& sink) {
  sdk::Result<std::shared_ptr<Run>> run = Find(request.handle.id);
  if (!run.ok()) return run.error();
  sdk::Result<std::shared_ptr<Container>> c = FindContainer(*run.value(), request.container);
  if (!c.ok()) return c.error();
  // The container (and its exit descriptor) stays alive through the shared pointer, even if the
  // run is removed meanwhile (it is stopped first, so the follow ends).
  return StreamLog(LogDirOf(request.handle.id) + "/" + request.container + ".log", request.tail_lines, request.follow,
                   c.value()->exited.get(), sink);
}

sdk::Result<sdk::ExecResult> ProcessDriver::Exec(const sdk::ExecRequest& request) {
  sdk::Result<std::shared_ptr<Run>> run = Find(request.handle.id);
  if (!run.ok()) return run.error();
  sdk::Result<std::shared_ptr<Container>> c = FindContainer(*run.value(), request.container);
  if (!c.ok()) return c.error();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (c.value()->rec.exited) {
      return sdk::Conflict("process driver: container " + request.container + " of run " + request.handle.id +
                           " is not running");
    }
  }
  // env and working directory are constant after construction.
  const ContainerRecord& rec = c.value()->rec;
  sdk::ExecResult out;
  const Resolved exe = ResolveCommand(request.command[0], EnvValue(rec.env, "PATH"), rec.working_dir);
  if (exe.error != 0) {
    out.exit_code = exe.error == ENOENT ? 127 : 126;  // as a shell says it
    out.err = "exec: " + exe.message + "\n";
    return out;
  }
  int spawn_errno = 0;
  sdk::Result<ExecOutcome> done =
      RunAndCapture({exe.path, request.command, rec.env, rec.working_dir, -1, -1},
                    std::chrono::milliseconds(request.timeout_ms), kExecOutputLimit, &spawn_errno);
  if (!done.ok()) {
    if (spawn_errno == 0) return done.error();
    out.exit_code = spawn_errno == ENOENT ? 127 : 126;
    out.err = "exec: " + done.error().message + "\n";
    return out;
  }
  if (done.value().timed_out) {
    return sdk::Timeout("process driver: exec of " + request.command[0] + " did not finish within " +
                        std::to_string(request.timeout_ms) + " ms; it was killed");
  }
  out.exit_code = DescribeWaitStatus(done.value().wait_status).exit_code;
  out.out = std::move(done.value().out);
  out.err = std::move(done.value().err);
  return out;
}

}  // namespace capstan::plugins::process
