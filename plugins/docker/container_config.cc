#include "plugins/docker/container_config.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "plugins/common/quantity.h"

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;

constexpr size_t kRunIdLength = 12;
constexpr size_t kNamePartMax = 40;
// Kubernetes' conversion of a CPU request to cgroup v1 shares (MilliCPUToShares).
constexpr int64_t kMinShares = 2, kMaxShares = 262144;
// A million CPUs: keeps NanoCpus (milli-CPUs * 10^6) far from overflowing.
constexpr int64_t kMaxMilliCpu = int64_t{1000000} * 1000;

std::string NamePart(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kNamePartMax)) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    out += ok ? c : '-';
  }
  return out;
}

// An RFC 1123 hostname from a pod name (lowercase letters, digits, '-', '.'; at most 63).
std::string Hostname(std::string_view pod) {
  std::string out;
  for (char c : pod.substr(0, 63)) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) || l == '-' || l == '.') ? l : '-';
  }
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  return out;
}

// The quantity `resources[group][name]`, or nullopt when absent.
sdk::Result<std::optional<int64_t>> Resource(const sdk::ContainerSpec& c, const char* group, const char* name,
                                             bool cpu) {
  const json& r = c.resources;
  if (!r.is_object() || !r.contains(group)) return std::optional<int64_t>();
  const json& g = r[group];
  const std::string field = "container " + c.name + ": resources." + group;
  if (!g.is_object()) return sdk::InvalidArgument(field + ": must be an object of quantities");
  if (!g.contains(name)) return std::optional<int64_t>();
  const json& v = g[name];
  const sdk::Error not_a_quantity =
      sdk::InvalidArgument(field + "." + name + ": " + v.dump() + " is not a quantity");
  if (!v.is_string()) return not_a_quantity;
  sdk::Result<int64_t> q = cpu ? QuantityMillis(v.get<std::string>()) : QuantityValue(v.get<std::string>());
  if (!q.ok()) return not_a_quantity;
  return std::optional<int64_t>(q.value());
}

std::string PortKey(const sdk::PortSpec& p) {
  std::string proto = p.protocol.empty() ? "tcp" : p.protocol;
  std::transform(proto.begin(), proto.end(), proto.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::to_string(p.container_port) + "/" + proto;
}

}  // namespace

std::string NewRunId() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string id;
  for (size_t i = 0; i < kRunIdLength; ++i) id += "0123456789abcdef"[hex(rd)];
  return id;
}

bool IsRunId(std::string_view id) {
  return id.size() == kRunIdLength &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string ContainerName(const sdk::PodRef& pod, const std::string& container, const std::string& run_id) {
  std::string name = "capstan";
  for (const std::string& part : {pod.namespace_name, pod.name, container, run_id}) {
    if (!part.empty()) name += "-" + NamePart(part);
  }
  return name;
}

sdk::Result<void> CheckSpec(const sdk::PodRunSpec& spec) {
  for (const char* reserved : {kLabelRunId, kLabelContainer, kLabelIndex, kLabelPodUid, kLabelPodNamespace,
                               kLabelPodName}) {
    if (spec.labels.count(reserved) != 0) {
      return sdk::InvalidArgument("label " + std::string(reserved) + " is reserved for the docker driver");
    }
  }
  for (const sdk::ContainerSpec& c : spec.containers) {
    for (const auto& [group, name, cpu] : {std::tuple{"limits", "memory", false}, std::tuple{"limits", "cpu", true},
                                          std::tuple{"requests", "cpu", true}}) {
      sdk::Result<std::optional<int64_t>> q = Resource(c, group, name, cpu);
      if (!q.ok()) return q.error();
      if (cpu && q.value().value_or(0) > kMaxMilliCpu) {
        return sdk::InvalidArgument("container " + c.name + ": resources." + group + ".cpu: more CPUs than any host has");
      }
    }
    for (const sdk::Mount& m : c.mounts) {
      if (m.host_path.empty() || m.host_path[0] != '/' || m.container_path.empty() || m.container_path[0] != '/') {
        return sdk::InvalidArgument("container " + c.name + ": mount " + m.host_path + " -> " + m.container_path +
                                    ": both paths must be absolute");
      }
    }
  }
  return sdk::Ok();
}

json CreateBody(const sdk::PodRunSpec& spec, size_t index, const std::string& run_id, const CreateOptions& options,
                const std::string& netns_owner_id) {
  const sdk::ContainerSpec& c = spec.containers.at(index);
  json body = json::object();
  body["Image"] = c.image;
  if (!c.command.empty()) body["Entrypoint"] = c.command;
  if (!c.args.empty()) body["Cmd"] = c.args;
  json env = json::array();
  for (const sdk::EnvVar& e : c.env) env.push_back(e.name + "=" + e.value);
  body["Env"] = env;
  if (!c.working_dir.empty()) body["WorkingDir"] = c.working_dir;
  if (!options.stop_signal.empty()) body["StopSignal"] = options.stop_signal;
  body["Tty"] = false;
  body["OpenStdin"] = false;
  body["AttachStdin"] = false;
  body["AttachStdout"] = false;
  body["AttachStderr"] = false;

  json labels = json::object();
  for (const auto& [k, v] : spec.labels) labels[k] = v;
  labels[kLabelRunId] = run_id;
  labels[kLabelContainer] = c.name;
  labels[kLabelIndex] = std::to_string(index);
  labels[kLabelPodUid] = spec.pod.uid;
  labels[kLabelPodNamespace] = spec.pod.namespace_name;
  labels[kLabelPodName] = spec.pod.name;
  body["Labels"] = labels;

  json host = json::object();
  host["RestartPolicy"] = {{"Name", "no"}};  // the node agent restarts containers, not docker
  const bool joins = spec.network_mode != "host" && index > 0;
  if (joins) {
    host["NetworkMode"] = "container:" + netns_owner_id;
  } else if (spec.network_mode == "bridge") {
    host["NetworkMode"] = options.bridge_network;
  } else {
    host["NetworkMode"] = spec.network_mode;  // "host" or "none"
  }
  if (spec.network_mode != "host" && index == 0) {
    const std::string hostname = Hostname(spec.pod.name);
    if (!hostname.empty()) body["Hostname"] = hostname;
  }
  if (spec.network_mode == "bridge" && index == 0) {
    json exposed = json::object(), bindings = json::object();
    for (const sdk::ContainerSpec& each : spec.containers) {
      for (const sdk::PortSpec& p : each.ports) {
        const std::string key = PortKey(p);
        exposed[key] = json::object();
        if (p.host_port <= 0) continue;
        if (!bindings.contains(key)) bindings[key] = json::array();
        bindings[key].push_back({{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
      }
    }
    if (!exposed.empty()) body["ExposedPorts"] = exposed;
    if (!bindings.empty()) host["PortBindings"] = bindings;
  }

  // CheckSpec has vetted the quantities.
  if (auto memory = Resource(c, "limits", "memory", false); memory.ok() && memory.value().value_or(0) > 0) {
    host["Memory"] = *memory.value();
  }
  if (auto cpu = Resource(c, "limits", "cpu", true); cpu.ok() && cpu.value().value_or(0) > 0) {
    host["NanoCpus"] = *cpu.value() * 1000000;
  }
  if (auto cpu = Resource(c, "requests", "cpu", true); cpu.ok() && cpu.value().has_value()) {
    host["CpuShares"] = std::clamp<int64_t>(*cpu.value() * 1024 / 1000, kMinShares, kMaxShares);
  }
  json mounts = json::array();
  for (const sdk::Mount& m : c.mounts) {
    mounts.push_back({{"Type", "bind"}, {"Source", m.host_path}, {"Target", m.container_path}, {"ReadOnly", m.read_only}});
  }
  if (!mounts.empty()) host["Mounts"] = mounts;
  body["HostConfig"] = host;
  return body;
}

}  // namespace capstan::plugins::docker
