#include "node/plugin_driver.h"

#include <algorithm>
#include <utility>

#include "client/json_fields.h"

namespace capstan::node {

using json = nlohmann::json;

namespace {

std::chrono::system_clock::time_point FromUnixNano(int64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const json& e : v) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

PodHandle FromAbi(const sdk::PodRunHandle& h) {
  PodHandle out;
  out.id = h.id;
  out.pod_uid = h.pod.uid;
  out.pod_namespace = h.pod.namespace_name;
  out.pod_name = h.pod.name;
  for (const sdk::ContainerRef& c : h.containers) out.containers.push_back(ContainerHandle{c.name, c.id});
  return out;
}

}  // namespace

ContainerState ContainerStateFromAbi(const sdk::ContainerStatus& s) {
  ContainerState out;
  out.name = s.name;
  out.id = s.id;
  out.image = s.image;
  out.image_id = s.image_id;
  switch (s.state) {
    case sdk::ContainerState::kWaiting: out.phase = ContainerPhase::kWaiting; break;
    case sdk::ContainerState::kRunning: out.phase = ContainerPhase::kRunning; break;
    case sdk::ContainerState::kTerminated: out.phase = ContainerPhase::kTerminated; break;
  }
  out.reason = s.reason;
  out.message = s.message;
  out.exit_code = static_cast<int32_t>(s.exit_code);
  if (s.started_at_unix_nano) out.started_at = FromUnixNano(*s.started_at_unix_nano);
  if (s.finished_at_unix_nano) out.finished_at = FromUnixNano(*s.finished_at_unix_nano);
  out.ready = s.ready;
  return out;
}

Result<sdk::PodRunSpec> PodRunSpecFromPod(const json& pod, const PluginDriverOptions& options) {
  using client::Field;
  using client::StringField;
  sdk::PodRunSpec spec;
  spec.pod.uid = client::MetaString(pod, "uid");
  spec.pod.namespace_name = client::MetaString(pod, "namespace");
  spec.pod.name = client::MetaString(pod, "name");
  if (spec.pod.uid.empty()) return Status::Invalid("the pod has no metadata.uid");
  const json& podspec = Field(pod, "spec");
  const json& containers = Field(podspec, "containers");
  if (!containers.is_array() || containers.empty()) return Status::Invalid("the pod has no spec.containers");

  const json& labels = Field(Field(pod, "metadata"), "labels");
  if (labels.is_object()) {
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      if (it->is_string()) spec.labels[it.key()] = it->get<std::string>();
    }
  }
  spec.labels["capstan.io/pod-uid"] = spec.pod.uid;
  spec.labels["capstan.io/pod-namespace"] = spec.pod.namespace_name;
  spec.labels["capstan.io/pod-name"] = spec.pod.name;
  for (const auto& [k, v] : options.run_labels) spec.labels[k] = v;
  // Host networking is every driver's default (workloads get ports Capstan allocates); a Pod asks
  // for another mode with the annotation capstan.io/network-mode ("bridge" on docker, "none").
  const std::string mode = StringField(Field(Field(pod, "metadata"), "annotations"), kNetworkModeAnnotation);
  spec.network_mode = mode.empty() || client::BoolField(podspec, "hostNetwork") ? "host" : mode;

  // Host paths of hostPath volumes, by volume name.
  std::map<std::string, std::string> host_paths;
  const json& volumes = Field(podspec, "volumes");
  if (volumes.is_array()) {
    for (const json& v : volumes) {
      const std::string path = StringField(Field(v, "hostPath"), "path");
      if (!path.empty()) host_paths[StringField(v, "name")] = path;
    }
  }

  for (const json& c : containers) {
    sdk::ContainerSpec cs;
    cs.name = StringField(c, "name");
    cs.image = StringField(c, "image");
    cs.command = Strings(Field(c, "command"));
    cs.args = Strings(Field(c, "args"));
    cs.working_dir = StringField(c, "workingDir");
    const json& env = Field(c, "env");
    if (env.is_array()) {
      for (const json& e : env) {
        if (Field(e, "valueFrom").is_null()) cs.env.push_back({StringField(e, "name"), StringField(e, "value")});
      }
    }
    const json& ports = Field(c, "ports");
    if (ports.is_array()) {
      for (const json& p : ports) {
        sdk::PortSpec ps;
        ps.name = StringField(p, "name");
        ps.container_port = client::IntField(p, "containerPort");
        ps.host_port = client::IntField(p, "hostPort");
        ps.protocol = StringField(p, "protocol");
        ps.host_ip = StringField(p, "hostIP");
        cs.ports.push_back(std::move(ps));
      }
    }
    const json& resources = Field(c, "resources");
    if (resources.is_object()) cs.resources = resources;
    const json& mounts = Field(c, "volumeMounts");
    if (mounts.is_array()) {
      for (const json& m : mounts) {
        auto it = host_paths.find(StringField(m, "name"));
        if (it == host_paths.end()) continue;
        const std::string sub = StringField(m, "subPath");
        cs.mounts.push_back({sub.empty() ? it->second : it->second + "/" + sub, StringField(m, "mountPath"),
                             client::BoolField(m, "readOnly")});
      }
    }
    spec.containers.push_back(std::move(cs));
  }
  return spec;
}

// Routes the instance's events to the current exit handler. Shared with the instance's event
// callback, so it lives as long as either.
struct PluginDriver::EventRouter {
  std::mutex mu;
  std::function<void(const ContainerExit&)> handler;  // guarded by mu

  void Deliver(std::string_view event_json) {
    const json doc = json::parse(event_json, nullptr, /*allow_exceptions=*/false);
    const json* kind = doc.is_object() && doc.contains("kind") ? &doc["kind"] : nullptr;
    if (kind == nullptr || *kind != sdk::ContainerExited::kKind) return;  // other kinds: later ABIs
    sdk::ContainerExited event;
    std::string error;
    if (!sdk::DecodeJson(doc, &event, &error)) return;
    ContainerExit exit{event.handle_id, event.pod_uid, ContainerStateFromAbi(event.container)};
    // Called under mu so that SetExitHandler(nullptr) returning means no call is in flight.
    std::lock_guard<std::mutex> lock(mu);
    if (handler) handler(exit);
  }
};

PluginDriver::PluginDriver(std::shared_ptr<EventRouter> router, PluginDriverOptions options)
    : router_(std::move(router)), options_(std::move(options)) {}

PluginDriver::~PluginDriver() = default;

Result<std::unique_ptr<PluginDriver>> PluginDriver::Create(std::shared_ptr<PluginLibrary> library, const json& config,
                                                           PluginDriverOptions options) {
  auto router = std::make_shared<EventRouter>();
  auto instance =
      PluginInstance::Create(std::move(library), config, [router](std::string_view event) { router->Deliver(event); });
  if (!instance.ok()) return instance.status();
  std::unique_ptr<PluginDriver> driver(new PluginDriver(router, std::move(options)));
  driver->instance_ = std::move(*instance);
  driver->name_ = driver->instance_->library().name();
  auto caps = driver->instance_->CallDoc<sdk::Capabilities>(PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
  if (!caps.ok()) return caps.status();
  driver->capabilities_ = std::move(*caps);
  return driver;
}

sdk::PodRunHandle PluginDriver::ToAbi(const PodHandle& handle) const {
  sdk::PodRunHandle h;
  h.id = handle.id;
  h.pod = {handle.pod_uid, handle.pod_namespace, handle.pod_name};
  for (const ContainerHandle& c : handle.containers) h.containers.push_back({c.name, c.id});
  return h;
}

DriverFingerprint PluginDriver::Fingerprint() {
  DriverFingerprint fp;
  auto doc = instance_->CallDoc<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  if (!doc.ok()) {
    fp.healthy = false;
    fp.message = doc.status().message();
    return fp;
  }
  fp.capacity = doc->capacity;
  fp.os = doc->os;
  fp.arch = doc->arch;
  fp.runtime_version = doc->runtime_version;
  fp.healthy = doc->healthy;
  fp.message = doc->message;
  return fp;
}

Result<PodHandle> PluginDriver::StartPod(const json& pod) {
  auto spec = PodRunSpecFromPod(pod, options_);
  if (!spec.ok()) return spec.status().Annotate("driver " + name_ + " start");
  auto handle = instance_->CallDoc<sdk::PodRunHandle>(PluginOp::kStart, *spec);
  if (!handle.ok()) return handle.status();
  return FromAbi(*handle);
}

Result<PodState> PluginDriver::InspectPod(const PodHandle& handle) {
  auto status = instance_->CallDoc<sdk::PodRunStatus>(PluginOp::kInspect, sdk::HandleRequest{ToAbi(handle)});
  if (!status.ok()) return status.status();
  PodState state;
  for (const sdk::ContainerStatus& c : status->containers) state.containers.push_back(ContainerStateFromAbi(c));
  state.recheck_after = std::chrono::milliseconds(std::max<int64_t>(0, status->recheck_after_ms));
  return state;
}

Status PluginDriver::StopPod(const PodHandle& handle, std::chrono::milliseconds grace) {
  return instance_->CallVoid(PluginOp::kStop, sdk::StopRequest{ToAbi(handle), grace.count()});
}

Status PluginDriver::RemovePod(const PodHandle& handle) {
  return instance_->CallVoid(PluginOp::kRemove, sdk::HandleRequest{ToAbi(handle)});
}

Result<std::vector<PodHandle>> PluginDriver::ListPods() {
  auto list = instance_->CallDoc<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{options_.run_labels});
  if (!list.ok()) return list.status();
  std::vector<PodHandle> out;
  out.reserve(list->items.size());
  for (const sdk::PodRunHandle& h : list->items) out.push_back(FromAbi(h));
  return out;
}

Result<std::vector<std::string>> PluginDriver::ImageRefs() {
  auto images = ListImages();
  if (!images.ok()) return images.status();
  std::vector<std::string> refs;
  for (const ImageInfo& i : *images) {
    refs.insert(refs.end(), i.tags.begin(), i.tags.end());
    refs.insert(refs.end(), i.digests.begin(), i.digests.end());
  }
  return refs;
}

Result<std::string> PluginDriver::PullImage(const std::string& image, const std::optional<ImagePullAuth>& auth) {
  std::optional<sdk::RegistryAuth> abi_auth;
  if (auth) {
    abi_auth = sdk::RegistryAuth{auth->username,       auth->password,       auth->auth,
                                 auth->identity_token, auth->registry_token, auth->server_address};
  }
  auto result =
      instance_->CallDoc<sdk::PullImageResult>(PluginOp::kPullImage, sdk::PullImageRequest{image, abi_auth});
  if (!result.ok()) return result.status();
  return result->image_id;
}

Status PluginDriver::Recover(const PodHandle& handle) {
  return instance_->CallVoid(PluginOp::kRecover, sdk::HandleRequest{ToAbi(handle)});
}

Result<PodWaitResult> PluginDriver::Wait(const PodHandle& handle, std::chrono::milliseconds timeout) {
  auto result = instance_->CallDoc<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{ToAbi(handle), timeout.count()});
  if (!result.ok()) return result.status();
  PodWaitResult out;
  out.exited = result->exited;
  for (const sdk::ContainerStatus& c : result->containers) out.containers.push_back(ContainerStateFromAbi(c));
  return out;
}

Status PluginDriver::Logs(const PodHandle& handle, const std::string& container, const LogOptions& options,
                          const LogSinkFn& sink) {
  sdk::LogsRequest request{ToAbi(handle), container, options.follow, options.tail_lines};
  PluginReply reply = instance_->Logs(sdk::Encode(request), sink);
  return reply.ok() ? Status::Ok() : StatusFromReply(reply, "driver " + name_ + " logs");
}

Result<ExecOutput> PluginDriver::Exec(const PodHandle& handle, const std::string& container,
                                      const std::vector<std::string>& command, std::chrono::milliseconds timeout) {
  auto result = instance_->CallDoc<sdk::ExecResult>(
      PluginOp::kExec, sdk::ExecRequest{ToAbi(handle), container, command, timeout.count()});
  if (!result.ok()) return result.status();
  return ExecOutput{result->exit_code, std::move(result->out), std::move(result->err)};
}

Result<std::vector<ImageInfo>> PluginDriver::ListImages() {
  auto list = instance_->CallDoc<sdk::ImageList>(PluginOp::kListImages, sdk::ListImagesRequest{});
  if (!list.ok()) return list.status();
  std::vector<ImageInfo> out;
  out.reserve(list->images.size());
  for (sdk::Image& i : list->images) {
    ImageInfo info;
    info.id = std::move(i.id);
    info.tags = std::move(i.tags);
    info.digests = std::move(i.digests);
    info.size_bytes = i.size_bytes;
    if (i.created_unix_nano) {
      info.created = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(*i.created_unix_nano)));
    }
    info.pinned = i.pinned;
    out.push_back(std::move(info));
  }
  return out;
}

Result<ImageFsStats> PluginDriver::ImageFsInfo() {
  if (!capabilities_.image_fs) {
    return Status(Code::kMethodNotAllowed, "driver " + name_ + " does not report its image filesystem (capability imageFs)");
  }
  auto info = instance_->CallDoc<sdk::ImageFsInfo>(PluginOp::kImageFsInfo, sdk::ImageFsInfoRequest{});
  if (!info.ok()) return info.status();
  return ImageFsStats{info->capacity_bytes, info->available_bytes, info->used_bytes, info->path};
}

Status PluginDriver::RemoveImage(const std::string& image) {
  return instance_->CallVoid(PluginOp::kRemoveImage, sdk::RemoveImageRequest{image});
}

void PluginDriver::OnPodExit(std::function<void(const std::string& pod_uid)> handler) {
  if (!handler) return SetExitHandler(nullptr);
  SetExitHandler([handler = std::move(handler)](const ContainerExit& exit) { handler(exit.pod_uid); });
}

void PluginDriver::SetExitHandler(std::function<void(const ContainerExit&)> handler) {
  std::lock_guard<std::mutex> lock(router_->mu);
  router_->handler = std::move(handler);
}

Result<std::unique_ptr<PluginDriver>> LoadPluginDriver(const std::vector<std::string>& plugin_dirs,
                                                       const std::string& driver_name, const json& config,
                                                       PluginDriverOptions options) {
  auto library = OpenPlugin(plugin_dirs, driver_name);
  if (!library.ok()) return library.status();
  return PluginDriver::Create(std::move(*library), config, std::move(options));
}

}  // namespace capstan::node
