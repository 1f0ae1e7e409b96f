#include "plugins/containerd/containerd_driver.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>
#include <utility>

#include "plugins/common/host_info.h"
#include "plugins/common/image_ref.h"
#include "plugins/containerd/cri_log.h"
#include "plugins/containerd/pod_request.h"
#include "plugins/containerd/run_status.h"

namespace capstan::plugins::containerd {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

sdk::Error NoRun(const std::string& id) { return sdk::NotFound("containerd driver: no run " + id); }

bool IsNotFound(const sdk::Error& e) { return e.code == CAPSTAN_ERR_NOT_FOUND; }

// A duration in whole seconds, rounded up (the CRI's unit for grace periods and exec timeouts).
int64_t CeilSeconds(milliseconds d) { return (d.count() + 999) / 1000; }

cri::ContainerFilter OurContainers() {
  cri::ContainerFilter f;
  (*f.mutable_label_selector())[kDriverLabel] = kDriverLabelValue;
  return f;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

// ---- Creation -----------------------------------------------------------------------------------

sdk::Result<std::unique_ptr<sdk::Driver>> ContainerdDriver::Create(const nlohmann::json& config,
                                                                   const sdk::Host& host) {
  sdk::Result<Config> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.error();
  std::error_code ec;
  // Logs may hold secrets: a directory the driver makes is its owner's alone (containerd makes
  // the runs' directories inside it). An existing one is the admin's choice.
  if (std::filesystem::create_directories(parsed.value().log_dir, ec)) {
    std::filesystem::permissions(parsed.value().log_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) return sdk::InvalidConfig("logDir: cannot create " + parsed.value().log_dir + ": " + ec.message());
  return std::make_unique<ContainerdDriver>(std::move(parsed.value()), host);
}

ContainerdDriver::ContainerdDriver(Config config, sdk::Host host)
    : config_(std::move(config)),
      host_(host),
      cri_(std::make_unique<CriClient>(config_.endpoint, config_.call_timeout)),
      watcher_(
          cri_.get(), config_.poll_interval, [host](const sdk::ContainerExited& e) { host.EmitContainerExited(e); },
          host) {}

ContainerdDriver::~ContainerdDriver() {
  cri_->Shutdown();  // the watcher's call in flight ends now, not at its deadline
  watcher_.Stop();
}

sdk::Capabilities ContainerdDriver::GetCapabilities() {
  sdk::Capabilities c;
  c.exec = c.logs = c.image_pull = c.images = c.exit_events = true;
  c.remote_endpoint = false;  // logs are files on this host
  c.image_fs = true;
  c.network_modes = {"host"};
  return c;
}

std::string ContainerdDriver::ContainerdSandboxImage(const cri::StatusResponse& status) {
  auto it = status.info().find("config");
  if (it == status.info().end()) return "";
  const nlohmann::json config = nlohmann::json::parse(it->second, nullptr, false);
  if (!config.is_object() || !config.contains("sandboxImage") || !config["sandboxImage"].is_string()) return "";
  return config["sandboxImage"].get<std::string>();
}

std::string ContainerdDriver::SandboxImageMismatch(const std::string& theirs) const {
  if (config_.sandbox_image.empty() || theirs.empty() ||
      NormalizeImageRef(theirs) == NormalizeImageRef(config_.sandbox_image)) {
    return "";
  }
  return "containerd runs sandbox image " + theirs + " (its sandbox_image setting) but the driver is configured " +
         "with sandboxImage " + config_.sandbox_image + ": make them the same";
}

sdk::Result<sdk::Fingerprint> ContainerdDriver::GetFingerprint() {
  const HostInfo h = ReadHostInfo();
  sdk::Fingerprint fp;
  fp.os = h.os;
  fp.arch = h.arch;
  fp.runtime_version = "containerd://unknown";
  fp.capacity = {{"cpu", std::to_string(h.cpus)},
                 {"memory", std::to_string(h.memory_kib) + "Ki"},
                 {"pods", std::to_string(config_.pods)}};
  fp.attributes = {{"kernel", h.kernel}, {"endpoint", config_.endpoint}, {"logDir", config_.log_dir}};
  auto unhealthy = [&fp](std::string message) {
    fp.healthy = false;
    fp.message = std::move(message);
    return fp;
  };
  sdk::Result<cri::VersionResponse> version = cri_->Version(config_.health_timeout);
  if (!version.ok()) return unhealthy("containerd is not reachable: " + version.error().message);
  fp.runtime_version = version.value().runtime_name() + "://" + version.value().runtime_version();
  fp.attributes["runtimeApiVersion"] = version.value().runtime_api_version();
  sdk::Result<cri::StatusResponse> status = cri_->Status(true, config_.health_timeout);
  if (!status.ok()) return unhealthy("containerd's CRI status: " + status.error().message);
  bool runtime_ready = false;
  std::string why;
  for (const cri::RuntimeCondition& c : status.value().status().conditions()) {
    if (c.type() == "NetworkReady") fp.attributes["networkReady"] = c.status() ? "true" : "false";
    if (c.type() != "RuntimeReady") continue;
    runtime_ready = c.status();
    why = c.reason() + (c.message().empty() ? "" : ": " + c.message());
  }
  if (!runtime_ready) return unhealthy("containerd's runtime is not ready (RuntimeReady false): " + why);
  const std::string theirs = ContainerdSandboxImage(status.value());
  const std::string sandbox = config_.sandbox_image.empty() ? theirs : config_.sandbox_image;
  fp.attributes["sandboxImage"] = sandbox;
  if (std::string mismatch = SandboxImageMismatch(theirs); !mismatch.empty()) return unhealthy(mismatch);
  if (!sandbox.empty()) {
    sdk::Result<cri::ImageStatusResponse> image = cri_->ImageStatus(sandbox, config_.health_timeout);
    const bool present = image.ok() && image.value().has_image();
    fp.attributes["sandboxImagePresent"] = present ? "true" : "false";
    if (!present) fp.message = "the sandbox image " + sandbox + " is not present; the first start pulls it";
  }
  return fp;
}

// ---- Runs in containerd -------------------------------------------------------------------------

sdk::Result<std::vector<cri::Container>> ContainerdDriver::ContainersOf(const std::string& sandbox_id) {
  cri::ContainerFilter filter = OurContainers();
  filter.set_pod_sandbox_id(sandbox_id);
  sdk::Result<cri::ListContainersResponse> listed = cri_->ListContainers(filter);
  if (!listed.ok()) return listed.error();
  std::vector<cri::Container> out;
  for (const cri::Container& c : listed.value().containers()) {
    if (c.pod_sandbox_id() == sandbox_id) out.push_back(c);
  }
  SortBySpecOrder(&out);
  return out;
}

sdk::Result<ContainerdDriver::Run> ContainerdDriver::FindRun(const std::string& id) {
  if (!IsFullId(id)) return NoRun(id);
  sdk::Result<cri::PodSandboxStatusResponse> status = cri_->PodSandboxStatus(id);
  if (!status.ok()) return IsNotFound(status.error()) ? NoRun(id) : status.error();
  if (status.value().status().id() != id || !IsOurs(status.value().status().labels())) return NoRun(id);
  Run run;
  run.sandbox = status.value().status();
  sdk::Result<std::vector<cri::Container>> containers = ContainersOf(id);
  if (!containers.ok()) return containers.error();
  run.containers = std::move(containers.value());
  return run;
}

sdk::Result<cri::Container> ContainerdDriver::FindContainer(const Run& run, const std::string& name) {
  for (const cri::Container& c : run.containers) {
    if (c.metadata().name() == name) return c;
  }
  return sdk::NotFound("containerd driver: run " + run.sandbox.id() + " has no container " + name);
}

sdk::Result<std::vector<sdk::ContainerStatus>> ContainerdDriver::StatusesOf(const Run& run) {
  std::vector<sdk::ContainerStatus> out;
  for (const cri::Container& c : run.containers) {
    sdk::Result<cri::ContainerStatusResponse> s = cri_->ContainerStatus(c.id());
    if (!s.ok()) {
      // Removed between the list and now: the run is being removed.
      if (IsNotFound(s.error())) return NoRun(run.sandbox.id());
      return s.error();
    }
    out.push_back(StatusFromCri(s.value().status()));
  }
  return out;
}

// ---- Start --------------------------------------------------------------------------------------

sdk::Result<void> ContainerdDriver::EnsureSandboxImage() {
  sdk::Result<cri::StatusResponse> runtime = cri_->Status(true);
  if (!runtime.ok()) return runtime.error();
  const std::string theirs = ContainerdSandboxImage(runtime.value());
  if (std::string mismatch = SandboxImageMismatch(theirs); !mismatch.empty()) {
    return sdk::Unavailable("containerd driver: " + mismatch);
  }
  const std::string image = config_.sandbox_image.empty() ? theirs : config_.sandbox_image;
  if (image.empty()) return sdk::Ok();  // containerd does not say: it makes sure itself
  sdk::Result<cri::ImageStatusResponse> status = cri_->ImageStatus(image);
  if (!status.ok()) return status.error();
  if (status.value().has_image()) return sdk::Ok();
  host_.Info("containerd driver: pulling the sandbox image " + image);
  cri::PullImageRequest pull;
  pull.mutable_image()->set_image(image);
  sdk::Result<cri::PullImageResponse> pulled = cri_->PullImage(pull, config_.pull_timeout);
  if (!pulled.ok()) {
    const sdk::Error e = PullError(pulled.error(), image);
    return sdk::Error{e.code, "containerd driver: the sandbox image " + image +
                                  " is not present and pulling it failed (import it into containerd's k8s.io "
                                  "namespace, or set sandboxImage and containerd's sandbox_image to one that is "
                                  "present): " +
                                  e.message};
  }
  return sdk::Ok();
}

sdk::Result<uint32_t> ContainerdDriver::NextAttempt(const sdk::PodRef& pod) {
  cri::PodSandboxFilter filter;
  (*filter.mutable_label_selector())[kDriverLabel] = kDriverLabelValue;
  sdk::Result<cri::ListPodSandboxResponse> listed = cri_->ListPodSandbox(filter);
  if (!listed.ok()) return listed.error();
  uint32_t next = 0;
  for (const cri::PodSandbox& s : listed.value().items()) {
    const cri::PodSandboxMetadata& m = s.metadata();
    if (m.uid() == pod.uid && m.name() == PodNameOf(pod) && m.namespace_() == PodNamespaceOf(pod)) {
      next = std::max(next, m.attempt() + 1);
    }
  }
  return next;
}

void ContainerdDriver::Discard(const std::string& sandbox_id, const std::string& log_dir) {
  sdk::Result<void> stopped = cri_->StopPodSandbox(sandbox_id);
  sdk::Result<void> removed = cri_->RemovePodSandbox(sandbox_id);
  if (!removed.ok() && !IsNotFound(removed.error())) {
    host_.Warn("containerd driver: cannot remove sandbox " + sandbox_id + " of a failed start: " +
               removed.error().message + (stopped.ok() ? "" : "; stopping it: " + stopped.error().message));
  }
  std::error_code ec;
  std::filesystem::remove_all(log_dir, ec);
  watcher_.PollNow();
}

sdk::Result<sdk::PodRunHandle> ContainerdDriver::Start(const sdk::PodRunSpec& spec) {
  if (sdk::Result<void> checked = CheckSpec(spec); !checked.ok()) return checked.error();
  if (sdk::Result<void> sandbox = EnsureSandboxImage(); !sandbox.ok()) return sandbox.error();
  std::set<std::string> images;
  for (const sdk::ContainerSpec& c : spec.containers) images.insert(c.image);
  for (const std::string& image : images) {
    sdk::Result<cri::ImageStatusResponse> status = cri_->ImageStatus(image);
    if (!status.ok()) return status.error();
    if (!status.value().has_image()) {
      return sdk::NotFound("containerd driver: image " + image +
                           " is not present in containerd (start does not pull: pull the image first)");
    }
  }
  sdk::Result<uint32_t> attempt = NextAttempt(spec.pod);
  if (!attempt.ok()) return attempt.error();
  const cri::RunPodSandboxRequest sandbox_request =
      BuildSandboxRequest(spec, config_.log_dir, attempt.value(), config_.runtime_handler);
  const std::string log_dir = sandbox_request.config().log_directory();
  sdk::Result<cri::RunPodSandboxResponse> sandbox = cri_->RunPodSandbox(sandbox_request);
  if (!sandbox.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(log_dir, ec);
    return sandbox.error();
  }
  const std::string sandbox_id = sandbox.value().pod_sandbox_id();

  sdk::PodRunHandle handle;
  handle.id = sandbox_id;
  handle.pod = spec.pod;
  for (size_t i = 0; i < spec.containers.size(); ++i) {
    sdk::Result<cri::ContainerConfig> config = BuildContainerConfig(spec, i);
    if (!config.ok()) {
      Discard(sandbox_id, log_dir);
      return config.error();
    }
    cri::CreateContainerRequest request;
    request.set_pod_sandbox_id(sandbox_id);
    *request.mutable_config() = std::move(config.value());
    *request.mutable_sandbox_config() = sandbox_request.config();
    sdk::Result<cri::CreateContainerResponse> created = cri_->CreateContainer(request);
    if (!created.ok()) {
      Discard(sandbox_id, log_dir);
      return sdk::Error{created.error().code, "containerd driver: creating container " + spec.containers[i].name +
                                                  ": " + created.error().message};
    }
    watcher_.Track(created.value().container_id());
    handle.containers.push_back({spec.containers[i].name, created.value().container_id()});
  }
  for (const sdk::ContainerRef& c : handle.containers) {
    sdk::Result<void> started = cri_->StartContainer(c.id);
    if (started.ok()) continue;
    // A workload that cannot start (no such command) leaves an exited container with
    // containerd's StartError: that is the container's outcome, not start's.
    sdk::Result<cri::ContainerStatusResponse> status = cri_->ContainerStatus(c.id);
    if (status.ok() && status.value().status().state() == cri::CONTAINER_EXITED) {
      host_.Debug("containerd driver: container " + c.name + " of run " + sandbox_id +
                  " did not start: " + started.error().message);
      continue;
    }
    Discard(sandbox_id, log_dir);
    return sdk::Error{started.error().code,
                      "containerd driver: starting container " + c.name + ": " + started.error().message};
  }
  return handle;
}

// ---- The other operations on runs ---------------------------------------------------------------

sdk::Result<void> ContainerdDriver::Recover(const sdk::PodRunHandle& handle) {
  sdk::Result<Run> run = FindRun(handle.id);
  if (!run.ok()) return run.error();
  for (const cri::Container& c : run.value().containers) {
    if (c.state() != cri::CONTAINER_EXITED) watcher_.Track(c.id());
  }
  return sdk::Ok();
}

sdk::Result<sdk::PodRunStatus> ContainerdDriver::Inspect(const sdk::PodRunHandle& handle) {
  sdk::Result<Run> run = FindRun(handle.id);
  if (!run.ok()) return run.error();
  sdk::Result<std::vector<sdk::ContainerStatus>> statuses = StatusesOf(run.value());
  if (!statuses.ok()) return statuses.error();
  sdk::PodRunStatus out;
  out.containers = std::move(statuses.value());
  for (const sdk::ContainerStatus& s : out.containers) {
    if (s.state == sdk::ContainerState::kWaiting) out.recheck_after_ms = config_.poll_interval.count();
  }
  return out;
}

sdk::Result<sdk::WaitResult> ContainerdDriver::Wait(const sdk::PodRunHandle& handle, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  bool first = true;
  for (;;) {
    // The generation before the look: a change after it wakes the wait below.
    const uint64_t generation = watcher_.generation();
    sdk::Result<Run> run = FindRun(handle.id);
    if (!run.ok()) {
      if (IsNotFound(run.error()) && !first) {
        return sdk::NotFound("containerd driver: run " + handle.id + " was removed while waiting");
      }
      return run.error();
    }
    first = false;
    sdk::Result<std::vector<sdk::ContainerStatus>> statuses = StatusesOf(run.value());
    if (!statuses.ok()) return statuses.error();
    sdk::WaitResult out;
    out.exited = std::all_of(statuses.value().begin(), statuses.value().end(),
                             [](const sdk::ContainerStatus& s) { return s.state == sdk::ContainerState::kTerminated; });
    if (out.exited || Clock::now() >= deadline) {
      out.containers = std::move(statuses.value());
      return out;
    }
    // Woken by the watcher's next change; a look every few intervals regardless, should the
    // watcher be unable to reach containerd.
    watcher_.AwaitChange(generation, std::min(deadline, Clock::now() + 4 * config_.poll_interval));
  }
}

sdk::Result<void> ContainerdDriver::StopRun(const Run& run, milliseconds grace) {
  std::vector<std::string> running;
  for (const cri::Container& c : run.containers) {
    if (c.state() != cri::CONTAINER_EXITED) running.push_back(c.id());
  }
  // Every container at once: the grace periods run together, as the contract wants.
  std::vector<sdk::Result<void>> results(running.size());
  std::vector<std::thread> stoppers;
  for (size_t i = 0; i < running.size(); ++i) {
    stoppers.emplace_back(
        [&, i] { results[i] = cri_->StopContainer(running[i], CeilSeconds(grace), grace + config_.call_timeout); });
  }
  for (std::thread& t : stoppers) t.join();
  for (const sdk::Result<void>& r : results) {
    if (!r.ok() && !IsNotFound(r.error())) return r;
  }
  if (sdk::Result<void> r = cri_->StopPodSandbox(run.sandbox.id()); !r.ok() && !IsNotFound(r.error())) return r;
  watcher_.PollNow();  // the exit events now, not a poll interval later
  sdk::Result<std::vector<cri::Container>> after = ContainersOf(run.sandbox.id());
  if (!after.ok()) return after.error();
  for (const cri::Container& c : after.value()) {
    if (c.state() != cri::CONTAINER_EXITED) {
      return sdk::RetryLater("containerd driver: container " + c.metadata().name() + " of run " + run.sandbox.id() +
                             " still runs after StopContainer");
    }
  }
  return sdk::Ok();
}

sdk::Result<void> ContainerdDriver::Stop(const sdk::PodRunHandle& handle, milliseconds grace) {
  sdk::Result<Run> run = FindRun(handle.id);
  if (!run.ok()) return run.error();
  return StopRun(run.value(), grace);
}

void ContainerdDriver::DeleteLogs(const cri::PodSandboxStatus& sandbox) {
  auto it = sandbox.annotations().find(kLogDirAnnotation);
  if (it == sandbox.annotations().end()) return;
  const std::filesystem::path dir = std::filesystem::path(it->second).lexically_normal();
  // Only a directory of ours: directly under logDir, named as SandboxLogDirectory names it.
  const sdk::PodRef pod{sandbox.metadata().uid(), sandbox.metadata().namespace_(), sandbox.metadata().name()};
  if (dir.parent_path() != std::filesystem::path(config_.log_dir) ||
      dir.string() != SandboxLogDirectory(config_.log_dir, pod, sandbox.metadata().attempt())) {
    host_.Warn("containerd driver: not deleting the logs of run " + sandbox.id() + " at " + dir.string() +
               ": not a run directory under logDir " + config_.log_dir);
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) host_.Warn("containerd driver: cannot delete the logs " + dir.string() + ": " + ec.message());
}

sdk::Result<void> ContainerdDriver::Remove(const sdk::PodRunHandle& handle) {
  sdk::Result<Run> found = FindRun(handle.id);
  if (!found.ok()) return IsNotFound(found.error()) ? sdk::Ok() : found.error();
  const Run& run = found.value();
  // Killed first, so that exit events go out; RemoveContainer would kill what is left anyway.
  if (sdk::Result<void> stopped = StopRun(run, milliseconds(0)); !stopped.ok()) {
    host_.Warn("containerd driver: removing run " + run.sandbox.id() +
               " that did not stop: " + stopped.error().message);
  }
  for (const cri::Container& c : run.containers) {
    if (sdk::Result<void> r = cri_->RemoveContainer(c.id()); !r.ok() && !IsNotFound(r.error())) return r;
  }
  if (sdk::Result<void> r = cri_->RemovePodSandbox(run.sandbox.id()); !r.ok() && !IsNotFound(r.error())) return r;
  DeleteLogs(run.sandbox);
  watcher_.PollNow();  // waiters learn that the run is gone
  return sdk::Ok();
}

sdk::Result<std::vector<sdk::PodRunHandle>> ContainerdDriver::List(
    const std::map<std::string, std::string>& label_selector) {
  cri::PodSandboxFilter filter;
  for (const auto& [k, v] : label_selector) (*filter.mutable_label_selector())[k] = v;
  if (auto it = label_selector.find(kDriverLabel); it != label_selector.end() && it->second != kDriverLabelValue) {
    return std::vector<sdk::PodRunHandle>{};  // never one of ours
  }
  (*filter.mutable_label_selector())[kDriverLabel] = kDriverLabelValue;
  sdk::Result<cri::ListPodSandboxResponse> sandboxes = cri_->ListPodSandbox(filter);
  if (!sandboxes.ok()) return sandboxes.error();
  sdk::Result<cri::ListContainersResponse> containers = cri_->ListContainers(OurContainers());
  if (!containers.ok()) return containers.error();
  std::map<std::string, std::vector<cri::Container>> by_sandbox;
  for (const cri::Container& c : containers.value().containers()) by_sandbox[c.pod_sandbox_id()].push_back(c);
  std::vector<sdk::PodRunHandle> out;
  for (const cri::PodSandbox& s : sandboxes.value().items()) {
    std::vector<cri::Container>& mine = by_sandbox[s.id()];
    SortBySpecOrder(&mine);
    out.push_back(HandleOf(s.id(), s.metadata(), mine));
  }
  return out;
}

// ---- Logs and exec ------------------------------------------------------------------------------

sdk::Result<void> ContainerdDriver::Logs(const sdk::LogsRequest& request, sdk::LogSink& sink) {
  sdk::Result<Run> run = FindRun(request.handle.id);
  if (!run.ok()) return run.error();
  sdk::Result<cri::Container> c = FindContainer(run.value(), request.container);
  if (!c.ok()) return c.error();
  const std::string id = c.value().id();
  sdk::Result<cri::ContainerStatusResponse> status = cri_->ContainerStatus(id);
  if (!status.ok()) return IsNotFound(status.error()) ? NoRun(request.handle.id) : status.error();
  const std::string path = status.value().status().log_path();
  if (path.empty()) return sdk::Internal("containerd driver: container " + request.container + " has no log path");
  auto ended = [this, &id] {
    sdk::Result<cri::ContainerStatusResponse> s = cri_->ContainerStatus(id);
    if (!s.ok()) return IsNotFound(s.error());  // removed: over; containerd unreachable: go on
    return s.value().status().state() == cri::CONTAINER_EXITED;
  };
  return StreamCriLog(path, request.tail_lines, request.follow, ended, sink);
}

sdk::Result<sdk::ExecResult> ContainerdDriver::Exec(const sdk::ExecRequest& request) {
  sdk::Result<Run> run = FindRun(request.handle.id);
  if (!run.ok()) return run.error();
  sdk::Result<cri::Container> c = FindContainer(run.value(), request.container);
  if (!c.ok()) return c.error();
  sdk::Result<cri::ContainerStatusResponse> status = cri_->ContainerStatus(c.value().id());
  if (!status.ok()) return IsNotFound(status.error()) ? NoRun(request.handle.id) : status.error();
  if (status.value().status().state() != cri::CONTAINER_RUNNING) {
    return sdk::Conflict("containerd driver: container " + request.container + " of run " + request.handle.id +
                         " is not running");
  }
  cri::ExecSyncRequest r;
  r.set_container_id(c.value().id());
  for (const std::string& arg : request.command) r.add_cmd(arg);
  const milliseconds timeout(request.timeout_ms);
  r.set_timeout(CeilSeconds(timeout));
  // The runtime enforces the timeout (and kills the command); the call's own deadline only
  // guards against a runtime that does not.
  const milliseconds deadline = request.timeout_ms > 0
                                    ? milliseconds(CeilSeconds(timeout) * 1000) + config_.call_timeout
                                    : milliseconds(sdk::kMaxDurationMs);
  sdk::Result<cri::ExecSyncResponse> done = cri_->ExecSync(r, deadline);
  sdk::ExecResult out;
  if (!done.ok()) {
    if (done.error().code == CAPSTAN_ERR_TIMEOUT) {
      return sdk::Timeout("containerd driver: exec of " + request.command[0] + " did not finish within " +
                          std::to_string(CeilSeconds(timeout)) + " s: " + done.error().message);
    }
    // A command the runtime could not start is a failed command, as a shell reports it (127 not
    // found, 126 not executable), not a failed exec.
    const std::string& m = done.error().message;
    if (Contains(m, "executable file not found") || Contains(m, "no such file or directory")) {
      out.exit_code = 127;
    } else if (Contains(m, "permission denied")) {
      out.exit_code = 126;
    } else {
      return done.error();
    }
    out.err = "exec: " + m + "\n";
    return out;
  }
  out.exit_code = done.value().exit_code();
  out.out = done.value().stdout();
  out.err = done.value().stderr();
  return out;
}

}  // namespace capstan::plugins::containerd
