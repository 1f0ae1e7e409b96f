#include "plugins/containerd/pod_request.h"

#include "plugins/common/quantity.h"

namespace capstan::plugins::containerd {
namespace {

constexpr size_t kMaxNameBytes = 253;

bool FileNameSafe(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

sdk::Result<void> CheckName(const std::string& value, const std::string& field) {
  if (FileNameSafe(value)) return sdk::Ok();
  return sdk::InvalidArgument(field + ": \"" + value +
                              "\" is not a valid name for the containerd driver (it names log files: "
                              "[A-Za-z0-9][A-Za-z0-9._-]*, at most 253 characters)");
}

// The value of resources.<group>.<name> in thousandths (cpu) or units, or -1 when absent.
sdk::Result<int64_t> Resource(const nlohmann::json& resources, const char* group, const char* name, bool millis) {
  if (!resources.is_object() || !resources.contains(group)) return int64_t{-1};
  const nlohmann::json& g = resources[group];
  if (!g.is_object()) return sdk::InvalidArgument(std::string("resources.") + group + ": must be an object");
  if (!g.contains(name)) return int64_t{-1};
  const std::string field = std::string("resources.") + group + "." + name;
  sdk::Result<std::string> text = QuantityText(g[name]);
  if (!text.ok()) return sdk::InvalidArgument(field + ": " + text.error().message);
  sdk::Result<int64_t> v = millis ? QuantityMillis(text.value()) : QuantityValue(text.value());
  if (!v.ok()) return sdk::InvalidArgument(field + ": " + v.error().message);
  return v.value();
}

void SetNamespaces(cri::NamespaceOption* ns, const std::string& network_mode) {
  // Only host is declared (see containerd_driver.h); "none" would be a pod namespace that
  // containerd sets up through CNI.
  ns->set_network(network_mode == "host" ? cri::NODE : cri::POD);
  ns->set_pid(cri::CONTAINER);
  ns->set_ipc(cri::POD);
}

}  // namespace

std::string PodNamespaceOf(const sdk::PodRef& pod) {
  return pod.namespace_name.empty() ? "default" : pod.namespace_name;
}

std::string PodNameOf(const sdk::PodRef& pod) { return pod.name.empty() ? pod.uid : pod.name; }

sdk::Result<void> CheckSpec(const sdk::PodRunSpec& spec) {
  if (auto r = CheckName(spec.pod.uid, "pod.uid"); !r.ok()) return r;
  if (auto r = CheckName(PodNameOf(spec.pod), "pod.name"); !r.ok()) return r;
  if (auto r = CheckName(PodNamespaceOf(spec.pod), "pod.namespace"); !r.ok()) return r;
  if (spec.labels.count(kDriverLabel) != 0) {
    return sdk::InvalidArgument(std::string("labels: ") + kDriverLabel + " is reserved by the containerd driver");
  }
  for (size_t i = 0; i < spec.containers.size(); ++i) {
    const sdk::ContainerSpec& c = spec.containers[i];
    const std::string at = "containers[" + std::to_string(i) + "]";
    if (auto r = CheckName(c.name, at + ".name"); !r.ok()) return r;
    if (sdk::Result<cri::LinuxContainerResources> r = ResourcesFromSpec(c.resources); !r.ok()) {
      return sdk::InvalidArgument(at + "." + r.error().message);
    }
    for (size_t m = 0; m < c.mounts.size(); ++m) {
      const sdk::Mount& mount = c.mounts[m];
      if (mount.host_path.empty() || mount.host_path[0] != '/' || mount.container_path.empty() ||
          mount.container_path[0] != '/') {
        return sdk::InvalidArgument(at + ".mounts[" + std::to_string(m) +
                                    "]: hostPath and containerPath must be absolute paths");
      }
    }
  }
  return sdk::Ok();
}

std::string SandboxLogDirectory(const std::string& log_root, const sdk::PodRef& pod, uint32_t attempt) {
  return log_root + "/" + PodNamespaceOf(pod) + "_" + PodNameOf(pod) + "_" + pod.uid + "_" + std::to_string(attempt);
}

cri::RunPodSandboxRequest BuildSandboxRequest(const sdk::PodRunSpec& spec, const std::string& log_root,
                                              uint32_t attempt, const std::string& runtime_handler) {
  cri::RunPodSandboxRequest r;
  r.set_runtime_handler(runtime_handler);
  cri::PodSandboxConfig* config = r.mutable_config();
  cri::PodSandboxMetadata* meta = config->mutable_metadata();
  meta->set_name(PodNameOf(spec.pod));
  meta->set_uid(spec.pod.uid);
  meta->set_namespace_(PodNamespaceOf(spec.pod));
  meta->set_attempt(attempt);
  // No hostname: in the node's network namespace the pod shares the node's UTS namespace too, and
  // the runtime refuses to set a hostname there.
  const std::string log_dir = SandboxLogDirectory(log_root, spec.pod, attempt);
  config->set_log_directory(log_dir);
  for (const auto& [k, v] : spec.labels) (*config->mutable_labels())[k] = v;
  (*config->mutable_labels())[kDriverLabel] = kDriverLabelValue;
  (*config->mutable_annotations())[kLogDirAnnotation] = log_dir;
  SetNamespaces(config->mutable_linux()->mutable_security_context()->mutable_namespace_options(), spec.network_mode);
  return r;
}

sdk::Result<cri::LinuxContainerResources> ResourcesFromSpec(const nlohmann::json& resources) {
  if (!resources.is_null() && !resources.is_object()) return sdk::InvalidArgument("resources: must be an object");
  cri::LinuxContainerResources out;
  sdk::Result<int64_t> memory = Resource(resources, "limits", "memory", false);
  if (!memory.ok()) return memory.error();
  sdk::Result<int64_t> cpu_limit = Resource(resources, "limits", "cpu", true);
  if (!cpu_limit.ok()) return cpu_limit.error();
  sdk::Result<int64_t> cpu_request = Resource(resources, "requests", "cpu", true);
  if (!cpu_request.ok()) return cpu_request.error();
  // Requests of memory have no CRI knob (kubelet uses them for scheduling and eviction only).
  if (sdk::Result<int64_t> r = Resource(resources, "requests", "memory", false); !r.ok()) return r.error();
  if (memory.value() > 0) out.set_memory_limit_in_bytes(memory.value());
  if (cpu_limit.value() > 0) {
    out.set_cpu_period(kCpuPeriodUs);
    // millicores * period / 1000, rounded up; the overflow guard keeps absurd limits in range.
    const int64_t m = std::min<int64_t>(cpu_limit.value(), INT64_MAX / kCpuPeriodUs);
    out.set_cpu_quota(std::max<int64_t>(kMinCpuQuotaUs, (m * kCpuPeriodUs + 999) / 1000));
  }
  const int64_t shares_from = cpu_request.value() >= 0 ? cpu_request.value() : cpu_limit.value();
  if (shares_from >= 0) {
    const int64_t m = std::min<int64_t>(shares_from, INT64_MAX / 1024);
    out.set_cpu_shares(std::max<int64_t>(kMinCpuShares, m * 1024 / 1000));
  }
  return out;
}

sdk::Result<cri::ContainerConfig> BuildContainerConfig(const sdk::PodRunSpec& spec, size_t index) {
  const sdk::ContainerSpec& c = spec.containers.at(index);
  cri::ContainerConfig config;
  config.mutable_metadata()->set_name(c.name);
  config.mutable_image()->set_image(c.image);
  for (const std::string& s : c.command) config.add_command(s);
  for (const std::string& s : c.args) config.add_args(s);
  config.set_working_dir(c.working_dir);
  for (const sdk::EnvVar& e : c.env) {
    cri::KeyValue* kv = config.add_envs();
    kv->set_key(e.name);
    kv->set_value(e.value);
  }
  for (const sdk::Mount& m : c.mounts) {
    cri::Mount* mount = config.add_mounts();
    mount->set_host_path(m.host_path);
    mount->set_container_path(m.container_path);
    mount->set_readonly(m.read_only);
  }
  for (const auto& [k, v] : spec.labels) (*config.mutable_labels())[k] = v;
  (*config.mutable_labels())[kDriverLabel] = kDriverLabelValue;
  (*config.mutable_annotations())[kIndexAnnotation] = std::to_string(index);
  (*config.mutable_annotations())[kPodUidAnnotation] = spec.pod.uid;
  (*config.mutable_annotations())[kImageAnnotation] = c.image;
  config.set_log_path(c.name + ".log");
  sdk::Result<cri::LinuxContainerResources> resources = ResourcesFromSpec(c.resources);
  if (!resources.ok()) return resources.error();
  cri::LinuxContainerConfig* linux = config.mutable_linux();
  *linux->mutable_resources() = resources.value();
  SetNamespaces(linux->mutable_security_context()->mutable_namespace_options(), spec.network_mode);
  return config;
}

}  // namespace capstan::plugins::containerd
