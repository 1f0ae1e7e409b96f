#include "node/pod_status.h"

#include <ctime>
#include <string>
#include <vector>

#include "client/json_fields.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::StringField;

namespace {

const json& Array(const json& obj, const char* key) {
  static const json kEmpty = json::array();
  const json& v = Field(obj, key);
  return v.is_array() ? v : kEmpty;
}

const json* FindCondition(const json& status, const std::string& type) {
  for (const json& c : Array(status, "conditions")) {
    if (StringField(c, "type") == type) return &c;
  }
  return nullptr;
}

// A condition with lastTransitionTime kept from the current one when the status is the same.
json Condition(const json& current_status, const std::string& type, bool ok, const std::string& reason,
               const std::string& message, const std::string& now) {
  json c = {{"type", type}, {"status", ok ? "True" : "False"}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  const json* cur = FindCondition(current_status, type);
  std::string since = now;
  if (cur != nullptr && StringField(*cur, "status") == c["status"].get<std::string>() &&
      !StringField(*cur, "lastTransitionTime").empty()) {
    since = StringField(*cur, "lastTransitionTime");
  }
  c["lastTransitionTime"] = since;
  return c;
}

std::string ContainerId(const std::string& runtime, const std::string& id) {
  return id.empty() ? std::string() : runtime + "://" + id;
}

const ContainerState* FindState(const PodRunInfo& run, const std::string& name) {
  if (run.state == nullptr) return nullptr;
  for (const ContainerState& s : run.state->containers) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

struct Counts {
  int waiting = 0, running = 0, stopped = 0, succeeded = 0;
};

}  // namespace

std::string FormatTime(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatMicroTime(std::chrono::system_clock::time_point t) {
  const auto secs_tp = std::chrono::floor<std::chrono::seconds>(t);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t - secs_tp).count();
  const std::time_t secs = std::chrono::system_clock::to_time_t(secs_tp);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%06lldZ", static_cast<long long>(micros));
  return buf;
}

bool IsTerminalPhase(const std::string& phase) { return phase == "Succeeded" || phase == "Failed"; }

json TerminatedJson(const ContainerState& s, const std::string& runtime) {
  json t = {{"exitCode", s.exit_code}};
  if (!s.reason.empty()) t["reason"] = s.reason;
  if (!s.message.empty()) t["message"] = s.message;
  if (s.started_at) t["startedAt"] = FormatTime(*s.started_at);
  if (s.finished_at) t["finishedAt"] = FormatTime(*s.finished_at);
  if (!s.id.empty()) t["containerID"] = ContainerId(runtime, s.id);
  return t;
}

json ComputePodStatus(const json& pod, const PodRunInfo& run, const PodStatusContext& ctx) {
  const json& spec = Field(pod, "spec");
  const json& current = Field(pod, "status");
  const std::string now = FormatTime(ctx.now);
  const std::string policy = StringField(spec, "restartPolicy").empty() ? "Always" : StringField(spec, "restartPolicy");

  json statuses = json::array();
  Counts n;
  std::vector<std::string> unready;
  for (const json& c : Array(spec, "containers")) {
    const std::string name = StringField(c, "name");
    const ContainerState* s = FindState(run, name);
    json cs = {{"name", name},
               {"image", StringField(c, "image")},
               {"imageID", s != nullptr ? s->image_id : ""},
               {"ready", s != nullptr && s->phase == ContainerPhase::kRunning && s->ready},
               {"started", s != nullptr && s->phase == ContainerPhase::kRunning && s->started.value_or(true)},
               {"restartCount", run.restart_count},
               {"lastState", json::object()}};
    if (s != nullptr && !s->id.empty()) cs["containerID"] = ContainerId(ctx.runtime, s->id);
    auto last = run.last_terminated.find(name);
    if (last != run.last_terminated.end()) cs["lastState"] = {{"terminated", last->second}};

    if (s != nullptr && s->phase == ContainerPhase::kRunning) {
      json running = json::object();
      if (s->started_at) running["startedAt"] = FormatTime(*s->started_at);
      cs["state"] = {{"running", running}};
      ++n.running;
    } else if (s != nullptr && s->phase == ContainerPhase::kTerminated) {
      cs["state"] = {{"terminated", TerminatedJson(*s, ctx.runtime)}};
      ++n.stopped;
      if (s->exit_code == 0) ++n.succeeded;
    } else {
      json waiting = {{"reason", s != nullptr ? s->reason : run.waiting_reason}};
      const std::string& message = s != nullptr ? s->message : run.waiting_message;
      if (!message.empty()) waiting["message"] = message;
      cs["state"] = {{"waiting", waiting}};
      if (last != run.last_terminated.end()) {
        // Restarting: counts as stopped, with the exit code of its last run.
        ++n.stopped;
        if (client::IntField(last->second, "exitCode", 1) == 0) ++n.succeeded;
      } else {
        ++n.waiting;
      }
    }
    if (!cs["ready"].get<bool>()) unready.push_back(name);
    statuses.push_back(std::move(cs));
  }

  std::string phase;
  if (IsTerminalPhase(StringField(current, "phase"))) {
    phase = StringField(current, "phase");
  } else if (n.waiting > 0) {
    phase = "Pending";
  } else if (n.running > 0) {
    phase = "Running";
  } else if (n.stopped > 0) {
    if (policy == "Always") {
      phase = "Running";
    } else if (n.stopped == n.succeeded) {
      phase = "Succeeded";
    } else {
      phase = policy == "Never" ? "Failed" : "Running";
    }
  } else {
    phase = "Pending";
  }

  // Readiness: every container ready, then every readiness gate's condition True.
  const bool terminal = IsTerminalPhase(phase);
  std::string reason, message;
  bool containers_ready = !terminal && unready.empty();
  if (terminal) {
    reason = "PodCompleted";
  } else if (!unready.empty()) {
    reason = "ContainersNotReady";
    message = "containers with unready status: [";
    for (size_t i = 0; i < unready.size(); ++i) message += (i ? " " : "") + unready[i];
    message += "]";
  }
  bool ready = containers_ready;
  std::string ready_reason = reason, ready_message = message;
  if (ready) {
    for (const json& gate : Array(spec, "readinessGates")) {
      const std::string type = StringField(gate, "conditionType");
      const json* c = FindCondition(current, type);
      if (c == nullptr || StringField(*c, "status") != "True") {
        ready = false;
        ready_reason = "ReadinessGatesNotReady";
        ready_message = c == nullptr ? "corresponding condition of pod readiness gate \"" + type + "\" does not exist."
                                     : "the status of pod readiness gate \"" + type + "\" is not \"True\", but " +
                                           StringField(*c, "status");
        break;
      }
    }
  }

  json status = {{"phase", phase},
                 {"hostIP", ctx.host_ip},
                 {"hostIPs", json::array({{{"ip", ctx.host_ip}}})},
                 {"podIP", ctx.host_ip},
                 {"podIPs", json::array({{{"ip", ctx.host_ip}}})},
                 {"startTime", StringField(current, "startTime").empty() ? now : StringField(current, "startTime")},
                 {"containerStatuses", std::move(statuses)}};
  if (run.ports != nullptr && !run.ports->empty()) status["portMappings"] = PortMappingsJson(*run.ports);
  status["conditions"] = json::array({
      Condition(current, "Initialized", true, "", "", now),
      Condition(current, "Ready", ready, ready_reason, ready_message, now),
      Condition(current, "ContainersReady", containers_ready, reason, message, now),
      Condition(current, "PodScheduled", true, "", "", now),
  });
  return status;
}

bool StatusUpToDate(const json& current, const json& desired) {
  for (auto it = desired.begin(); it != desired.end(); ++it) {
    if (it.key() == "conditions") {
      for (const json& c : *it) {
        const json* cur = FindCondition(current, StringField(c, "type"));
        if (cur == nullptr) return false;
        // Fields of others (lastProbeTime, observedGeneration) do not count.
        for (const char* key : {"status", "reason", "message", "lastTransitionTime"}) {
          if (Field(*cur, key) != Field(c, key)) return false;
        }
      }
    } else if (Field(current, it.key()) != *it) {
      return false;
    }
  }
  return true;
}

json StatusPatch(const std::string& uid, const json& desired) {
  json status = desired;
  if (status.contains("conditions")) {
    for (json& c : status["conditions"]) {
      for (const char* key : {"reason", "message"}) {
        if (!c.contains(key)) c[key] = nullptr;
      }
    }
  }
  return {{"metadata", {{"uid", uid}}}, {"status", std::move(status)}};
}

}  // namespace capstan::node
