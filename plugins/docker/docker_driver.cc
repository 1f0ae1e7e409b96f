#include "plugins/docker/docker_driver.h"

#include <algorithm>
#include <future>
#include <thread>

#include "plugins/docker/container_config.h"
#include "plugins/docker/container_status.h"
#include "plugins/docker/json_fields.h"

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;

// While a container waits, the host looks again after this long.
constexpr int64_t kRecheckWaitingMs = 500;
// Wait looks again at least this often, in case an event is lost.
constexpr std::chrono::milliseconds kWaitPoll{1000};
// Calls that must answer quickly either way: fingerprint (at every heartbeat) and the event
// thread's inspect of a container that died.
constexpr std::chrono::milliseconds kShortCallTimeout{10000};
// How long remove waits for a removal another caller began.
constexpr std::chrono::seconds kRemovalInProgressWait{30};

const char* HostArch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

json LabelFilter(const std::map<std::string, std::string>& selector) {
  json labels = json::array({kLabelRunId});  // every container of this driver has it
  for (const auto& [k, v] : selector) labels.push_back(k + "=" + v);
  return {{"label", labels}};
}

}  // namespace

sdk::Result<std::unique_ptr<sdk::Driver>> DockerDriver::Create(const nlohmann::json& config, const sdk::Host& host) {
  sdk::Result<Config> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.error();
  sdk::Result<std::unique_ptr<DockerClient>> client = DockerClient::Create(parsed.value());
  if (!client.ok()) return client.error();
  return std::unique_ptr<sdk::Driver>(new DockerDriver(std::move(client.value()), host));
}

DockerDriver::DockerDriver(std::unique_ptr<DockerClient> client, sdk::Host host)
    : client_(std::move(client)), host_(host) {
  const json filters = {{"type", {"container"}}, {"event", {"die", "destroy"}}, {"label", {kLabelRunId}}};
  watcher_ = std::make_unique<EventWatcher>(*client_, filters, [this](const json& e) { OnEvent(e); }, host_);
}

DockerDriver::~DockerDriver() { watcher_.reset(); }

sdk::Capabilities DockerDriver::GetCapabilities() {
  sdk::Capabilities caps;
  caps.exec = true;
  caps.logs = true;
  caps.image_pull = true;
  caps.images = true;
  caps.exit_events = true;
  caps.remote_endpoint = true;
  caps.image_fs = client_->config().endpoint.kind == Endpoint::Kind::kUnix;
  caps.network_modes = {"host", "bridge", "none"};
  return caps;
}

sdk::Result<sdk::Fingerprint> DockerDriver::GetFingerprint() {
  sdk::Fingerprint fp;
  fp.os = "linux";
  fp.arch = HostArch();
  fp.runtime_version = "docker://unknown";
  fp.attributes["docker.endpoint"] = client_->endpoint().text;
  const std::chrono::milliseconds timeout = std::min(kShortCallTimeout, client_->default_timeout());
  sdk::Result<json> version = client_->Json({"GET", "/version", "", {}}, "docker version", timeout);
  sdk::Result<json> info =
      version.ok() ? client_->Json({"GET", "/info", "", {}}, "docker info", timeout) : version.error();
  if (!info.ok()) {
    fp.healthy = false;
    fp.message = info.error().message;
    return fp;
  }
  const json& v = version.value();
  const json& i = info.value();
  fp.healthy = true;
  if (!JsonString(v, "Os").empty()) fp.os = JsonString(v, "Os");
  if (!JsonString(v, "Arch").empty()) fp.arch = JsonString(v, "Arch");
  fp.runtime_version = "docker://" + JsonString(v, "Version");
  fp.attributes["docker.apiVersion"] = JsonString(v, "ApiVersion");
  fp.attributes["docker.storageDriver"] = JsonString(i, "Driver");
  fp.attributes["docker.cgroupDriver"] = JsonString(i, "CgroupDriver");
  fp.attributes["docker.cgroupVersion"] = JsonString(i, "CgroupVersion");
  fp.attributes["kernel.version"] = JsonString(i, "KernelVersion");
  fp.attributes["os.name"] = JsonString(i, "OperatingSystem");
  if (i.contains("NCPU") && i["NCPU"].is_number_integer()) fp.capacity["cpu"] = std::to_string(i["NCPU"].get<int64_t>());
  if (i.contains("MemTotal") && i["MemTotal"].is_number_integer()) {
    fp.capacity["memory"] = std::to_string(i["MemTotal"].get<int64_t>() / 1024) + "Ki";
  }
  fp.capacity["pods"] = std::to_string(client_->config().pods);
  return fp;
}

// ---- Runs ---------------------------------------------------------------------------------------

sdk::Result<std::vector<DockerDriver::Run>> DockerDriver::FindRuns(
    const std::map<std::string, std::string>& label_selector) const {
  const std::string target = "/containers/json?all=1&filters=" + UrlEncode(LabelFilter(label_selector).dump());
  sdk::Result<json> listed = client_->Json({"GET", target, "", {}}, "list containers");
  if (!listed.ok()) return listed.error();
  std::map<std::string, Run> runs;
  for (const json& c : listed.value().is_array() ? listed.value() : json::array()) {
    const json& labels = JsonChild(c, "Labels");
    const std::string run_id = JsonString(labels, kLabelRunId);
    if (run_id.empty()) continue;
    Run& run = runs[run_id];
    run.id = run_id;
    run.pod = {JsonString(labels, kLabelPodUid), JsonString(labels, kLabelPodNamespace), JsonString(labels, kLabelPodName)};
    const std::string index = JsonString(labels, kLabelIndex);
    run.containers.push_back({JsonString(labels, kLabelContainer), JsonString(c, "Id"),
                              index.empty() || index.size() > 6 ? 0 : std::atoi(index.c_str())});
  }
  std::vector<Run> out;
  for (auto& [id, run] : runs) {
    std::sort(run.containers.begin(), run.containers.end(),
              [](const RunContainer& a, const RunContainer& b) { return a.index < b.index; });
    out.push_back(std::move(run));
  }
  return out;
}

sdk::Result<DockerDriver::Run> DockerDriver::FindRun(const std::string& run_id) const {
  if (!IsRunId(run_id)) return sdk::NotFound("no run " + run_id + " (not a docker driver run id)");
  sdk::Result<std::vector<Run>> runs = FindRuns({{kLabelRunId, run_id}});
  if (!runs.ok()) return runs.error();
  if (runs.value().empty()) return sdk::NotFound("no run " + run_id + ": no container of it is left");
  return std::move(runs.value().front());
}

sdk::Result<DockerDriver::RunContainer> DockerDriver::FindContainer(const std::string& run_id,
                                                                    const std::string& name) const {
  sdk::Result<Run> run = FindRun(run_id);
  if (!run.ok()) return run.error();
  for (const RunContainer& c : run.value().containers) {
    if (c.name == name) return c;
  }
  return sdk::NotFound("run " + run_id + " has no container \"" + name + "\"");
}

sdk::Result<std::vector<sdk::ContainerStatus>> DockerDriver::Statuses(const Run& run,
                                                                      const sdk::PodRunHandle& handle) const {
  std::vector<sdk::ContainerStatus> out;
  std::set<std::string> seen;
  for (const RunContainer& c : run.containers) {
    sdk::Result<json> inspected = client_->Json({"GET", "/containers/" + c.id + "/json", "", {}}, "inspect " + c.name);
    if (!inspected.ok()) {
      if (inspected.error().code == CAPSTAN_ERR_NOT_FOUND) continue;  // removed meanwhile
      return inspected.error();
    }
    out.push_back(StatusFromInspect(inspected.value(), sdk::NowUnixNano()));
    seen.insert(c.name);
  }
  if (out.empty()) return sdk::NotFound("no run " + run.id + ": its containers were removed");
  // What the handle knows of and the engine has lost: removed behind the driver's back.
  for (const sdk::ContainerRef& ref : handle.containers) {
    if (seen.count(ref.name) != 0) continue;
    sdk::ContainerStatus lost;
    lost.name = ref.name;
    lost.id = ref.id;
    lost.state = sdk::ContainerState::kTerminated;
    lost.exit_code = kUnknownExitCode;
    lost.reason = kUnknownReason;
    lost.message = "the container is gone from the docker engine (removed outside Capstan)";
    lost.finished_at_unix_nano = sdk::NowUnixNano();
    out.push_back(lost);
  }
  // Spec order: the handle's, which is the order of the index labels.
  std::map<std::string, size_t> order;
  for (const RunContainer& c : run.containers) order.emplace(c.name, static_cast<size_t>(c.index));
  for (size_t i = 0; i < handle.containers.size(); ++i) order.emplace(handle.containers[i].name, i);
  std::stable_sort(out.begin(), out.end(), [&](const sdk::ContainerStatus& a, const sdk::ContainerStatus& b) {
    return order[a.name] < order[b.name];
  });
  return out;
}

sdk::Result<void> DockerDriver::RemoveContainers(const std::vector<RunContainer>& containers) const {
  // Later containers may live in the first one's network namespace: remove them first.
  for (auto it = containers.rbegin(); it != containers.rend(); ++it) {
    const std::string target = "/containers/" + it->id + "?force=true&v=true";
    const auto give_up = std::chrono::steady_clock::now() + kRemovalInProgressWait;
    while (true) {
      sdk::Result<HttpResponse> r = client_->Do({"DELETE", target, "", {}});
      if (!r.ok()) return r.error();
      const int status = r.value().status;
      if (status == 204 || status == 200 || status == 404) break;
      // Another caller is removing it (docker answers 409 "already in progress"): wait for it.
      if (status == 409 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      return ErrorFromResponse(r.value(), "remove container " + it->name);
    }
  }
  return sdk::Ok();
}

// ---- Lifecycle ----------------------------------------------------------------------------------

sdk::Result<sdk::PodRunHandle> DockerDriver::Start(const sdk::PodRunSpec& spec) {
  if (sdk::Result<void> checked = CheckSpec(spec); !checked.ok()) return checked.error();
  const std::string run_id = NewRunId();
  const CreateOptions options{client_->config().bridge_network, client_->config().stop_signal};
  std::vector<RunContainer> created;
  auto undo = [&](const sdk::Error& error) -> sdk::Error {
    if (sdk::Result<void> removed = RemoveContainers(created); !removed.ok()) {
      host_.Warn("start of run " + run_id + " failed and its containers could not all be removed: " +
                 removed.error().message);
    }
    return error;
  };

  for (size_t i = 0; i < spec.containers.size(); ++i) {
    const sdk::ContainerSpec& c = spec.containers[i];
    const json body = CreateBody(spec, i, run_id, options, created.empty() ? "" : created.front().id);
    const std::string target = "/containers/create?name=" + UrlEncode(ContainerName(spec.pod, c.name, run_id));
    sdk::Result<HttpResponse> r = client_->Do({"POST", target, body.dump(), {}});
    if (!r.ok()) return undo(r.error());
    if (r.value().status != 201) {
      const std::string message = EngineMessage(r.value().body);
      if (r.value().status == 404 && message.find("No such image") != std::string::npos) {
        return undo(sdk::NotFound("container " + c.name + ": image " + c.image +
                                  " is not present on the docker engine (pull it first): " + message));
      }
      if (r.value().status == 404 && spec.network_mode == "bridge" && message.find("network") != std::string::npos) {
        return undo(sdk::Internal("container " + c.name + ": the bridge network \"" + options.bridge_network +
                                  "\" (bridgeNetwork in the driver's configuration) does not exist: " + message));
      }
      return undo(ErrorFromResponse(r.value(), "create container " + c.name));
    }
    const json answer = json::parse(r.value().body, nullptr, false);
    if (JsonString(answer, "Id").empty()) return undo(sdk::Internal("create container " + c.name + ": no Id in the answer"));
    created.push_back({c.name, JsonString(answer, "Id"), static_cast<int>(i)});
  }

  std::vector<RunContainer> failed;
  for (const RunContainer& c : created) {
    sdk::Result<HttpResponse> r = client_->Do({"POST", "/containers/" + c.id + "/start", "", {}});
    if (!r.ok()) return undo(r.error());  // the engine went away: nothing may be left half-started
    if (r.value().status != 204 && r.value().status != 304) {
      host_.Info("run " + run_id + ": container " + c.name + " did not start: " + EngineMessage(r.value().body));
      failed.push_back(c);
    }
  }

  sdk::PodRunHandle handle;
  handle.id = run_id;
  handle.pod = spec.pod;
  for (const RunContainer& c : created) handle.containers.push_back({c.name, c.id});
  // A container that could not start has terminated: docker sends no event for it, the driver does.
  for (const RunContainer& c : failed) {
    sdk::Result<json> inspected = client_->Json({"GET", "/containers/" + c.id + "/json", "", {}}, "inspect " + c.name);
    if (inspected.ok()) {
      const sdk::ContainerStatus status = StatusFromInspect(inspected.value(), sdk::NowUnixNano());
      if (status.state == sdk::ContainerState::kTerminated) EmitExited(run_id, spec.pod.uid, status);
    }
  }
  return handle;
}

sdk::Result<void> DockerDriver::Recover(const sdk::PodRunHandle& handle) {
  sdk::Result<Run> run = FindRun(handle.id);
  if (!run.ok()) return run.error();
  return sdk::Ok();  // the engine keeps the run; the event stream already covers it
}

sdk::Result<sdk::PodRunStatus> DockerDriver::Inspect(const sdk::PodRunHandle& handle) {
  sdk::Result<Run> run = FindRun(handle.id);
  if (!run.ok()) return run.error();
  sdk::Result<std::vector<sdk::ContainerStatus>> statuses = Statuses(run.value(), handle);
  if (!statuses.ok()) return statuses.error();
  sdk::PodRunStatus out;
  out.containers = std::move(statuses.value());
  for (const sdk::ContainerStatus& s : out.containers) {
    if (s.state == sdk::ContainerState::kWaiting) out.recheck_after_ms = kRecheckWaitingMs;
  }
  return out;
}

sdk::Result<sdk::WaitResult> DockerDriver::Wait(const sdk::PodRunHandle& handle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = generation_;
    }
    sdk::Result<sdk::PodRunStatus> status = Inspect(handle);
    if (!status.ok()) return status.error();
    sdk::WaitResult out;
    out.containers = std::move(status.value().containers);
    out.exited = std::all_of(out.containers.begin(), out.containers.end(), [](const sdk::ContainerStatus& s) {
      return s.state == sdk::ContainerState::kTerminated;
    });
    const auto now = std::chrono::steady_clock::now();
    if (out.exited || now >= deadline) return out;
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_until(lock, std::min(deadline, now + kWaitPoll), [&] { return generation_ != seen; });
  }
}

sdk::Result<void> DockerDriver::Stop(const sdk::PodRunHandle& handle, std::chrono::milliseconds grace) {
  sdk::Result<Run> run = FindRun(handle.id);
  if (!run.ok()) return run.error();
  // docker takes whole seconds: round the grace period up, never cut it short.
  const int64_t seconds = (grace.count() + 999) / 1000;
  const auto timeout = client_->default_timeout() + std::chrono::seconds(seconds);
  auto stop_one = [this, seconds, timeout](const RunContainer& c) -> sdk::Result<void> {
    sdk::Result<HttpResponse> r =
        client_->Do({"POST", "/containers/" + c.id + "/stop?t=" + std::to_string(seconds), "", {}}, timeout);
    if (!r.ok()) return r.error();
    const int status = r.value().status;
    if (status == 204 || status == 304 || status == 404) return sdk::Ok();  // stopped, already stopped, gone
    return ErrorFromResponse(r.value(), "stop container " + c.name);
  };
  // All at once: the grace period is the pod's, not each container's in turn.
  std::vector<std::future<sdk::Result<void>>> stops;
  for (size_t i = 1; i < run.value().containers.size(); ++i) {
    stops.push_back(std::async(std::launch::async, stop_one, run.value().containers[i]));
  }
  sdk::Result<void> result = stop_one(run.value().containers.front());
  for (auto& f : stops) {
    sdk::Result<void> r = f.get();
    if (result.ok() && !r.ok()) result = r;
  }
  NotifyChanged();
  return result;
}

sdk::Result<void> DockerDriver::Remove(const sdk::PodRunHandle& handle) {
  if (!IsRunId(handle.id)) return sdk::Ok();  // nothing of this driver's: nothing to remove
  sdk::Result<std::vector<Run>> runs = FindRuns({{kLabelRunId, handle.id}});
  if (!runs.ok()) return runs.error();
  sdk::Result<void> result = sdk::Ok();
  for (const Run& run : runs.value()) {
    result = RemoveContainers(run.containers);
    if (!result.ok()) break;
  }
  NotifyChanged();
  return result;
}

sdk::Result<std::vector<sdk::PodRunHandle>> DockerDriver::List(
    const std::map<std::string, std::string>& label_selector) {
  sdk::Result<std::vector<Run>> runs = FindRuns(label_selector);
  if (!runs.ok()) return runs.error();
  std::vector<sdk::PodRunHandle> out;
  for (const Run& run : runs.value()) {
    sdk::PodRunHandle h;
    h.id = run.id;
    h.pod = run.pod;
    for (const RunContainer& c : run.containers) h.containers.push_back({c.name, c.id});
    out.push_back(std::move(h));
  }
  return out;
}

// ---- Exits --------------------------------------------------------------------------------------

void DockerDriver::OnEvent(const json& event) {
  const std::string action = JsonString(event, "Action");
  const json& actor = JsonChild(event, "Actor");
  const std::string id = JsonString(actor, "ID");
  const json& attributes = JsonChild(actor, "Attributes");
  const std::string run_id = JsonString(attributes, kLabelRunId);
  if (id.empty() || !IsRunId(run_id)) return;
  if (action == "destroy") {
    {
      std::lock_guard<std::mutex> lock(mu_);
      exited_.erase(id);
    }
    NotifyChanged();
    return;
  }
  if (action != "die") return;
  // The inspected status says more (OOMKilled, times); the event alone must do when it is gone.
  sdk::ContainerStatus status = StatusFromDieEvent(event);
  sdk::Result<json> inspected = client_->Json({"GET", "/containers/" + id + "/json", "", {}}, "inspect",
                                              std::min(kShortCallTimeout, client_->default_timeout()));
  if (inspected.ok()) {
    sdk::ContainerStatus s = StatusFromInspect(inspected.value(), sdk::NowUnixNano());
    if (s.state == sdk::ContainerState::kTerminated) status = s;
  }
  EmitExited(run_id, JsonString(attributes, kLabelPodUid), status);
  NotifyChanged();
}

void DockerDriver::EmitExited(const std::string& run_id, const std::string& pod_uid,
                              const sdk::ContainerStatus& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!exited_.insert(status.id).second) return;
  }
  sdk::ContainerExited event;
  event.handle_id = run_id;
  event.pod_uid = pod_uid;
  event.container = status;
  host_.EmitContainerExited(event);
}

void DockerDriver::NotifyChanged() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }
  changed_.notify_all();
}

}  // namespace capstan::plugins::docker
