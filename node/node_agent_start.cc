// NodeAgent: what precedes StartPod and StopPod (node_agent.h describes the whole reconcile).
#include <thread>

#include "base/base64.h"
#include "base/log.h"
#include "client/json_fields.h"
#include "node/node_agent.h"
#include "node/prober.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::MetaString;
using client::StringField;
using controller::ReconcileResult;

std::variant<json, ReconcileResult> NodeAgent::PrepareStart(const std::string& key, const json& pod, PodRecord& rec) {
  PodRunInfo info;
  info.restart_count = rec.restart_count;
  info.last_terminated = rec.last_terminated;
  info.ports = &rec.ports;
  auto report = [&](const std::string& reason, const std::string& message) {
    info.waiting_reason = reason;
    info.waiting_message = message;
    Status s = WriteStatus(pod, info);
    if (!s.ok()) log::Warn("cannot report why a pod waits", {{"pod", key}, {"error", s.ToString()}});
  };

  if (!rec.ports_assigned) {
    // Ports an earlier agent recorded (it stopped before the start) are this pod's still.
    rec.ports = PortMappingsFromStatus(pod);
    if (!rec.ports.empty()) {
      std::vector<int> held;
      for (const PortMapping& m : rec.ports) held.push_back(m.host_port);
      ports_.Reserve(rec.uid, held);
    } else {
      std::vector<int> allocated;
      if (const size_t need = PortsToAllocate(pod); need > 0) {
        auto got = ports_.Allocate(rec.uid, need);
        if (!got.ok()) {
          report("CreateContainerConfigError", got.status().message());
          return ReconcileResult::Retry(got.status().Annotate("pod " + key));
        }
        allocated = std::move(*got);
      }
      auto mapped = MapPorts(pod, allocated);
      if (!mapped.ok()) return ReconcileResult::Retry(mapped.status().Annotate("pod " + key));
      rec.ports = std::move(*mapped);
    }
    rec.ports_assigned = true;
    // Recorded before anything listens: a restarted agent, endpoints and the load balancer all
    // learn the ports from the status, never from the driver.
    if (!rec.ports.empty()) {
      Status s = WriteStatus(pod, info);
      if (!s.ok()) return ReconcileResult::Retry(s);
    }
  }
  rec.pre_stop.clear();
  const json& containers = Field(Field(pod, "spec"), "containers");
  if (containers.is_array()) {
    for (const json& c : containers) {
      const json& pre_stop = Field(Field(c, "lifecycle"), "preStop");
      if (pre_stop.is_object()) rec.pre_stop.emplace_back(StringField(c, "name"), pre_stop);
    }
  }

  ImagePuller::Outcome pulled = puller_.Ensure(pod, [this](const json& p) { return PullSecrets(p); });
  if (!pulled.ready) {
    const bool failed = pulled.reason != "ImagePullBackOff";
    RecordEvent(pod, true, failed ? "Failed" : "BackOff",
                failed ? "Error: " + pulled.reason + ": " + pulled.message : pulled.message);
    report(pulled.reason, pulled.message);
    // A failed pull starts a back-off: look again at once to report ImagePullBackOff for it, as
    // the kubelet's next sync does (this agent's own status write wakes nothing).
    if (pulled.reason == "ErrImagePull") return ReconcileResult::RequeueAfter(std::chrono::milliseconds(0));
    return ReconcileResult::RequeueAfter(pulled.retry_after);
  }

  LaunchContext ctx;
  ctx.host_ip = options_.address;
  ctx.lookup = [this, &pod](const std::string& kind, const std::string& name, const std::string& k) {
    return LookupConfig(pod, kind, name, k);
  };
  ctx.services = services_->ListNamespace(MetaString(pod, "namespace"));
  auto launched = LaunchPod(pod, rec.ports, ctx);
  if (!launched.ok()) {
    RecordEvent(pod, true, "Failed", "Error: " + launched.status().message());
    report("CreateContainerConfigError", launched.status().message());
    return ReconcileResult::Retry(launched.status().Annotate("pod " + key));
  }
  return std::move(*launched);
}

std::chrono::milliseconds NodeAgent::RunPreStop(const PodRecord& rec, std::chrono::milliseconds grace) {
  if (rec.pre_stop.empty() || !rec.handle || grace <= std::chrono::milliseconds(0)) return grace;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  };
  const PodHandle handle = *rec.handle;
  for (const auto& [container, handler] : rec.pre_stop) {
    const auto left = grace - elapsed();
    if (left <= std::chrono::milliseconds(0)) break;
    if (const json& sleep = Field(handler, "sleep"); sleep.is_object()) {
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
          left, std::chrono::seconds(std::max<int64_t>(0, client::IntField(sleep, "seconds")))));
      continue;
    }
    ProbeTarget target{options_.address, container, rec.ports,
                       [this, &handle, c = container](const std::vector<std::string>& cmd, std::chrono::milliseconds t) {
                         return driver_->Exec(handle, c, cmd, t);
                       }};
    ProbeOutcome outcome = RunProbe(handler, target, left);
    if (!outcome.success) {
      log::Warn("preStop hook failed",
                {{"pod", handle.pod_namespace + "/" + handle.pod_name}, {"container", container}, {"error", outcome.message}});
    }
  }
  // As the kubelet: a hook that used up the grace period leaves the containers 2 s to stop.
  const auto used = elapsed();
  return used >= grace ? std::chrono::milliseconds(2000) : grace - used;
}

bool NodeAgent::ApplyProbes(const std::string& key, const json& pod, PodRecord& rec, PodState& state) {
  const PodHandle handle = *rec.handle;
  probes_->Sync(key, handle.id, pod, rec.ports, state,
                [this, handle](const std::string& c, const std::vector<std::string>& cmd, std::chrono::milliseconds t) {
                  return driver_->Exec(handle, c, cmd, t);
                });
  bool kill = false;
  for (ContainerState& c : state.containers) {
    if (c.phase != ContainerPhase::kRunning) continue;
    const ContainerProbeResult r = probes_->Get(key, c.name);
    c.started = r.started;
    c.ready = c.ready && r.ready;
    if (r.kill) {
      kill = true;
      RecordEvent(pod, false, "Killing", "Container " + c.name + " failed " + r.kill_message + ", will be restarted");
    }
  }
  return kill;
}

void NodeAgent::ReleasePod(const std::string& key, const std::string& uid) {
  ports_.Release(uid);
  puller_.Forget(uid);
  probes_->Remove(key);
}

Result<json> NodeAgent::LookupConfig(const json& pod, const std::string& kind, const std::string& name,
                                     const std::string& key) {
  const bool secret = kind == "Secret";
  const std::string path =
      "/api/v1/namespaces/" + MetaString(pod, "namespace") + (secret ? "/secrets/" : "/configmaps/") + name;
  auto obj = api_->Get(path);
  if (!obj.ok()) {
    if (obj.status().IsNotFound()) return Status::NotFound(std::string(secret ? "secret" : "configmap") + " \"" + name + "\" not found");
    return obj.status();
  }
  json values = json::object();
  const json& data = Field(*obj, "data");
  if (data.is_object()) {
    for (auto it = data.begin(); it != data.end(); ++it) {
      if (!it->is_string()) continue;
      if (!secret) {
        values[it.key()] = *it;
      } else if (auto decoded = Base64Decode(it->get<std::string>())) {
        values[it.key()] = *decoded;
      }
    }
  }
  if (key.empty()) return values;
  if (!values.contains(key)) {
    return Status::NotFound("couldn't find key " + key + " in " + (secret ? "Secret " : "ConfigMap ") +
                            MetaString(pod, "namespace") + "/" + name);
  }
  return values[key];
}

std::vector<json> NodeAgent::PullSecrets(const json& pod) {
  std::vector<json> docs;
  const json& refs = Field(Field(pod, "spec"), "imagePullSecrets");
  if (!refs.is_array()) return docs;
  for (const json& ref : refs) {
    auto values = LookupConfig(pod, "Secret", StringField(ref, "name"), "");
    if (!values.ok()) {
      log::Warn("cannot read an image pull secret", {{"pod", client::ObjectKey(pod)}, {"error", values.status().ToString()}});
      continue;
    }
    for (const char* key : {".dockerconfigjson", ".dockercfg"}) {
      if (!values->contains(key)) continue;
      json doc = json::parse((*values)[key].get<std::string>(), nullptr, /*allow_exceptions=*/false);
      if (doc.is_object()) docs.push_back(std::move(doc));
    }
  }
  return docs;
}

void NodeAgent::RecordEvent(const json& pod, bool warning, const std::string& reason, std::string message) {
  if (events_ == nullptr) return;
  events_->Event(pod, warning ? client::kEventTypeWarning : client::kEventTypeNormal, reason, std::move(message));
}

}  // namespace capstan::node
