// v1 Pod: the pod spec (api/kinds/pod_spec.h), its status as the node agent reports it, and
// kubectl's pod table (READY, STATUS, RESTARTS, AGE; wide: IP, NODE, NOMINATED NODE, READINESS GATES).
//
// On create the status is reset to {phase: Pending, qosClass}. On update the spec is immutable
// except what Kubernetes allows (ValidatePodSpecUpdate). Pods carry no metadata.generation here
// (Kubernetes only started counting pod generations in 1.33+ behind a gate).
#include <map>
#include <set>

#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/pod_spec.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

SchemaPtr PodStatusSchema() {
  auto condition = ConditionSchema("io.k8s.api.core.v1.PodCondition",
                                   {F("lastProbeTime", Time("Last time the condition was probed.")),
                                    F("observedGeneration", Integer())});
  auto ip = [](const char* ref) { return Object(ref, {R("ip", String("An IP address."))}); };
  auto waiting = Object("io.k8s.api.core.v1.ContainerStateWaiting", {F("reason", String()), F("message", String())});
  auto running = Object("io.k8s.api.core.v1.ContainerStateRunning", {F("startedAt", Time())});
  auto terminated = Object("io.k8s.api.core.v1.ContainerStateTerminated",
                           {R("exitCode", Int32()), F("signal", Int32()), F("reason", String()), F("message", String()),
                            F("startedAt", Time()), F("finishedAt", Time()), F("containerID", String())});
  auto state = Object("io.k8s.api.core.v1.ContainerState",
                      {F("waiting", waiting), F("running", running), F("terminated", terminated)});
  auto container_status = Object(
      "io.k8s.api.core.v1.ContainerStatus",
      {R("name", String()), F("state", state), F("lastState", state), R("ready", Bool()),
       R("restartCount", Int32()), R("image", String()), R("imageID", String()), F("containerID", String()),
       F("started", Bool()), F("allocatedResources", Map(Quantity())), F("resources", Any()),
       F("volumeMounts", Any()), F("user", Any()), F("allocatedResourcesStatus", Any()), F("stopSignal", String())});
  return Object(
      "io.k8s.api.core.v1.PodStatus",
      {F("observedGeneration", Integer()),
       F("phase", String("Pending, Running, Succeeded, Failed or Unknown.")),
       F("conditions", ConditionsArray(condition)),
       F("message", String()), F("reason", String()), F("nominatedNodeName", String()),
       F("hostIP", String()), F("hostIPs", Array(ip("io.k8s.api.core.v1.HostIP"), "", "ip")),
       F("podIP", String()), F("podIPs", Array(ip("io.k8s.api.core.v1.PodIP"), "", "ip")),
       F("startTime", Time()),
       F("initContainerStatuses", AtomicArray(container_status)),
       F("containerStatuses", AtomicArray(container_status)),
       F("qosClass", String("Guaranteed, Burstable or BestEffort.")),
       F("ephemeralContainerStatuses", AtomicArray(container_status)),
       F("resize", String()), F("resourceClaimStatuses", Any()),
       // Capstan's own: the host port serving each containerPort (workloads use host networking
       // with ports the node agent allocates); endpoints and the load balancer read it.
       F("portMappings",
         AtomicArray(Object("io.capstan.api.core.v1.PortMapping",
                            {R("container", String()), F("name", String()), R("containerPort", Int32()),
                             R("hostPort", Int32()), F("protocol", String())},
                            "The host port a containerPort of the pod is served on.")))},
      "PodStatus represents information about the status of a pod.");
}

void Defaults(json& obj) {
  if (!obj.is_object()) return;
  DefaultPodSpec(obj["spec"]);
  DefaultPodOnlyFields(obj["spec"]);
}

void PrepareCreate(json& obj) {
  const json* spec = Get(obj, "spec");
  obj["status"] = json{{"phase", "Pending"}, {"qosClass", ComputeQosClass(spec != nullptr ? *spec : json())}};
}

void Validate(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  static const json kEmpty = json::object();
  const json* spec = Get(obj, "spec");
  ValidatePodSpec(spec != nullptr ? *spec : kEmpty, "spec", errors);
  if (old != nullptr) {
    const json* old_spec = Get(*old, "spec");
    ValidatePodSpecUpdate(spec != nullptr ? *spec : kEmpty, old_spec != nullptr ? *old_spec : kEmpty, "spec", errors);
  }
}

// A /status write: the spec is the stored one (ValidatePodSpec and its update rules held when it
// was written); the status has no rules here beyond its schema.
void ValidateStatus(const json& /*obj*/, const json& /*old*/, FieldErrors* /*errors*/) {}

// ---- kubectl's printPod ---------------------------------------------------------------------------

struct PodRow {
  std::string ready, status, restarts;
};

bool ConditionTrue(const json& status, const std::string& type) {
  for (const json& c : GetArray(status, "conditions")) {
    if (GetString(c, "type") == type) return GetString(c, "status") == "True";
  }
  return false;
}

// The later of two RFC 3339 times (absent counts as zero).
void Later(const json& state, int64_t* latest) {
  const json* term = Get(state, "terminated");
  if (term == nullptr) return;
  auto t = ParseRfc3339(GetString(*term, "finishedAt"));
  if (t && *t > *latest) *latest = *t;
}

PodRow ComputeRow(const json& pod) {
  static const json kEmpty = json::object();
  const json* spec_p = Get(pod, "spec");
  const json* status_p = Get(pod, "status");
  const json& spec = spec_p != nullptr ? *spec_p : kEmpty;
  const json& status = status_p != nullptr ? *status_p : kEmpty;

  int64_t restarts = 0, sidecar_restarts = 0;
  int64_t total = static_cast<int64_t>(GetArray(spec, "containers").size());
  int64_t ready = 0;
  int64_t last_restart = 0, last_sidecar_restart = 0;
  std::string phase = GetString(status, "phase");
  std::string reason = GetString(status, "reason").empty() ? phase : GetString(status, "reason");
  for (const json& c : GetArray(status, "conditions")) {
    if (GetString(c, "type") == "PodScheduled" && GetString(c, "reason") == "SchedulingGated") reason = "SchedulingGated";
  }
  std::map<std::string, bool> sidecar;  // init container name -> restartPolicy Always
  const json& inits = GetArray(spec, "initContainers");
  for (const json& c : inits) {
    bool is_sidecar = GetString(c, "restartPolicy") == "Always";
    sidecar[GetString(c, "name")] = is_sidecar;
    if (is_sidecar) ++total;
  }

  bool initializing = false;
  const json& init_statuses = GetArray(status, "initContainerStatuses");
  for (size_t i = 0; i < init_statuses.size(); ++i) {
    const json& cs = init_statuses[i];
    static const json kNone = json::object();
    const json& state = Get(cs, "state") != nullptr ? *Get(cs, "state") : kNone;
    const json& last = Get(cs, "lastState") != nullptr ? *Get(cs, "lastState") : kNone;
    bool is_sidecar = sidecar[GetString(cs, "name")];
    restarts += GetInt(cs, "restartCount");
    Later(last, &last_restart);
    if (is_sidecar) {
      sidecar_restarts += GetInt(cs, "restartCount");
      Later(last, &last_sidecar_restart);
    }
    const json* term = Get(state, "terminated");
    const json* waiting = Get(state, "waiting");
    if (term != nullptr && GetInt(*term, "exitCode") == 0) continue;
    if (is_sidecar && GetBool(cs, "started")) {
      if (GetBool(cs, "ready")) ++ready;
      continue;
    }
    if (term != nullptr) {
      std::string r = GetString(*term, "reason");
      if (!r.empty()) {
        reason = "Init:" + r;
      } else if (GetInt(*term, "signal") != 0) {
        reason = "Init:Signal:" + std::to_string(GetInt(*term, "signal"));
      } else {
        reason = "Init:ExitCode:" + std::to_string(GetInt(*term, "exitCode"));
      }
    } else if (waiting != nullptr && !GetString(*waiting, "reason").empty() &&
               GetString(*waiting, "reason") != "PodInitializing") {
      reason = "Init:" + GetString(*waiting, "reason");
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(inits.size());
    }
    initializing = true;
    break;
  }

  if (!initializing || ConditionTrue(status, "Initialized")) {
    restarts = sidecar_restarts;
    last_restart = last_sidecar_restart;
    bool has_running = false;
    const json& statuses = GetArray(status, "containerStatuses");
    for (size_t k = statuses.size(); k-- > 0;) {
      const json& cs = statuses[k];
      static const json kNone = json::object();
      const json& state = Get(cs, "state") != nullptr ? *Get(cs, "state") : kNone;
      restarts += GetInt(cs, "restartCount");
      if (const json* last = Get(cs, "lastState")) Later(*last, &last_restart);
      const json* waiting = Get(state, "waiting");
      const json* term = Get(state, "terminated");
      if (waiting != nullptr && !GetString(*waiting, "reason").empty()) {
        reason = GetString(*waiting, "reason");
      } else if (term != nullptr && !GetString(*term, "reason").empty()) {
        reason = GetString(*term, "reason");
      } else if (term != nullptr) {
        reason = GetInt(*term, "signal") != 0 ? "Signal:" + std::to_string(GetInt(*term, "signal"))
                                              : "ExitCode:" + std::to_string(GetInt(*term, "exitCode"));
      } else if (GetBool(cs, "ready") && Get(state, "running") != nullptr) {
        has_running = true;
        ++ready;
      }
    }
    // A pod whose last container completed but another still runs is Running (or NotReady).
    if (reason == "Completed" && has_running) reason = ConditionTrue(status, "Ready") ? "Running" : "NotReady";
  }

  const json* meta = Get(pod, "metadata");
  bool deleting = meta != nullptr && Get(*meta, "deletionTimestamp") != nullptr;
  if (deleting && GetString(status, "reason") == "NodeLost") {
    reason = "Unknown";
  } else if (deleting && phase != "Succeeded" && phase != "Failed") {
    reason = "Terminating";
  }

  PodRow row;
  row.ready = std::to_string(ready) + "/" + std::to_string(total);
  row.status = reason;
  row.restarts = std::to_string(restarts);
  if (restarts != 0 && last_restart != 0) {
    row.restarts += " (" + HumanDuration(NowEpochSeconds() - last_restart) + " ago)";
  }
  return row;
}

std::string OrNone(std::string s) { return s.empty() ? "<none>" : s; }

json IpCell(const json& pod) {
  const json* status = Get(pod, "status");
  if (status == nullptr) return "<none>";
  const json& ips = GetArray(*status, "podIPs");
  return OrNone(ips.empty() ? "" : GetString(ips[0], "ip"));
}

json ReadinessGatesCell(const json& pod) {
  static const json kEmpty = json::object();
  const json* spec = Get(pod, "spec");
  const json* status = Get(pod, "status");
  const json& gates = GetArray(spec != nullptr ? *spec : kEmpty, "readinessGates");
  if (gates.empty()) return "<none>";
  int n = 0;
  for (const json& g : gates) {
    for (const json& c : GetArray(status != nullptr ? *status : kEmpty, "conditions")) {
      if (GetString(c, "type") == GetString(g, "conditionType")) {
        if (GetString(c, "status") == "True") ++n;
        break;
      }
    }
  }
  return std::to_string(n) + "/" + std::to_string(gates.size());
}

}  // namespace

// ComputePodQOS (pkg/apis/core/helper/qos), over cpu and memory.
std::string ComputeQosClass(const json& spec) {
  std::map<std::string, int64_t> requests, limits;
  bool guaranteed = true;
  for (const char* list : {"containers", "initContainers"}) {
    for (const json& c : GetArray(spec, list)) {
      const json* res = Get(c, "resources");
      const json* req = res != nullptr ? Get(*res, "requests") : nullptr;
      const json* lim = res != nullptr ? Get(*res, "limits") : nullptr;
      std::set<std::string> limits_found;
      for (const char* name : {"cpu", "memory"}) {
        // Missing requests default to limits (SetDefaults_Pod), whichever runs first.
        const json* r = req != nullptr && req->contains(name) ? &(*req)[name] : nullptr;
        const json* l = lim != nullptr && lim->contains(name) ? &(*lim)[name] : nullptr;
        if (r == nullptr) r = l;
        if (r != nullptr) {
          auto q = ParseQuantity(*r);
          if (q.ok() && *q > 0) requests[name] += *q;
        }
        if (l != nullptr) {
          auto q = ParseQuantity(*l);
          if (q.ok() && *q > 0) {
            limits_found.insert(name);
            limits[name] += *q;
          }
        }
      }
      if (limits_found.size() != 2) guaranteed = false;
    }
  }
  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed) {
    for (const auto& [name, q] : requests) {
      auto it = limits.find(name);
      if (it == limits.end() || it->second != q) guaranteed = false;
    }
  }
  return guaranteed && requests.size() == limits.size() ? "Guaranteed" : "Burstable";
}

// As Kubernetes' pod strategy: a Pod that never ran anywhere (no node) or has finished has
// nothing to stop and goes at once; otherwise its containers get the requested grace, else
// spec.terminationGracePeriodSeconds (defaulted to 30).
int64_t DeletionGrace(const json& pod, std::optional<int64_t> requested) {
  // By reference (json::value() would copy the whole spec and status): every Pod delete asks.
  const json* spec = Get(pod, "spec");
  if (spec == nullptr || !spec->is_object() || GetString(*spec, "nodeName").empty()) return 0;
  const json* status = Get(pod, "status");
  const std::string phase = status != nullptr && status->is_object() ? GetString(*status, "phase") : "";
  if (phase == "Succeeded" || phase == "Failed") return 0;
  if (requested) return *requested;
  const json* grace = Get(*spec, "terminationGracePeriodSeconds");
  return grace != nullptr && grace->is_number_integer() ? grace->get<int64_t>() : 30;
}

void RegisterPod() {
  KindInfo k;
  k.version = "v1";
  k.kind = "Pod";
  k.plural = "pods";
  k.singular = "pod";
  k.short_names = {"po"};
  k.categories = {"all"};
  k.status_subresource = true;
  k.binding_subresource = true;
  k.pod_streams = true;
  k.schema = KindSchema("io.k8s.api.core.v1.Pod", {F("spec", PodSpecSchema()), F("status", PodStatusSchema())},
                        "Pod is a collection of containers that can run on a host.");
  k.defaults = Defaults;
  k.prepare_create = PrepareCreate;
  k.validate = Validate;
  k.validate_status = ValidateStatus;
  k.deletion_grace = DeletionGrace;
  k.field_selectors = {"spec.nodeName",           "spec.restartPolicy", "spec.schedulerName",
                       "spec.serviceAccountName", "spec.hostNetwork",   "status.phase",
                       "status.podIP",            "status.podIPs",      "status.nominatedNodeName"};
  k.columns = {
      PrinterColumn{"Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic.",
                    [](const json& p) -> json { return ComputeRow(p).ready; }},
      PrinterColumn{"Status", "string", "", 0, "The aggregate status of the containers in this pod.",
                    [](const json& p) -> json { return ComputeRow(p).status; }},
      PrinterColumn{"Restarts", "string", "", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                    [](const json& p) -> json { return ComputeRow(p).restarts; }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
      PrinterColumn{"IP", "string", "", 1, "IP address allocated to the pod.", IpCell},
      PrinterColumn{"Node", "string", "", 1, "Name of the Node this pod is assigned to.",
                    [](const json& p) -> json {
                      const json* spec = Get(p, "spec");
                      return OrNone(spec != nullptr ? GetString(*spec, "nodeName") : "");
                    }},
      PrinterColumn{"Nominated Node", "string", "", 1, "Name of the Node this pod was nominated to.",
                    [](const json& p) -> json {
                      const json* st = Get(p, "status");
                      return OrNone(st != nullptr ? GetString(*st, "nominatedNodeName") : "");
                    }},
      PrinterColumn{"Readiness Gates", "string", "", 1, "Readiness gates that are True out of all.", ReadinessGatesCell},
  };
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
