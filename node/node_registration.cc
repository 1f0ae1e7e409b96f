#include "node/node_registration.h"

#include <sys/utsname.h>

#include <fstream>
#include <string>
#include <utility>

#include "base/log.h"
#include "client/json_fields.h"
#include "node/pod_status.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::MetaString;
using client::StringField;

namespace {

constexpr int kMaxAttempts = 5;

const json* FindCondition(const json& status, const std::string& type) {
  const json& conditions = Field(status, "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const json& c : conditions) {
    if (StringField(c, "type") == type) return &c;
  }
  return nullptr;
}

}  // namespace

NodeRegistration::NodeRegistration(client::ApiClient* api, NodeIdentity identity,
                                   std::chrono::seconds lease_duration)
    : api_(api), identity_(std::move(identity)), lease_duration_(lease_duration) {}

std::string NodeRegistration::NodePath() const { return "/api/v1/nodes/" + identity_.name; }

std::string NodeRegistration::LeasePath() const {
  return std::string("/apis/coordination.k8s.io/v1/namespaces/") + kNodeLeaseNamespace + "/leases/" + identity_.name;
}

json NodeRegistration::Labels(const DriverFingerprint& fp) const {
  json labels = json::object();
  for (const auto& [k, v] : identity_.labels) labels[k] = v;
  labels["kubernetes.io/hostname"] = identity_.name;
  if (!fp.os.empty()) labels["kubernetes.io/os"] = fp.os;
  if (!fp.arch.empty()) labels["kubernetes.io/arch"] = fp.arch;
  return labels;
}

json NodeRegistration::ReadyCondition(const DriverFingerprint& fp, const json& current_status) const {
  const auto now = std::chrono::system_clock::now();
  json c = {{"type", "Ready"},
            {"status", fp.healthy ? "True" : "False"},
            {"reason", fp.healthy ? "KubeletReady" : "KubeletNotReady"},
            {"message", fp.healthy ? std::string(kReadyMessage)
                                   : (fp.message.empty() ? "container runtime is not healthy" : fp.message)},
            {"lastHeartbeatTime", FormatTime(now)},
            {"lastTransitionTime", FormatTime(now)}};
  const json* cur = FindCondition(current_status, "Ready");
  if (cur != nullptr && StringField(*cur, "status") == c["status"].get<std::string>() &&
      !StringField(*cur, "lastTransitionTime").empty()) {
    c["lastTransitionTime"] = StringField(*cur, "lastTransitionTime");
  }
  return c;
}

namespace {

// First line of a file, or "" (machine and boot ids).
std::string FirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// What `kubectl get nodes -o wide` shows of the host itself (the agent runs on it, whatever the
// driver): the OS image from /etc/os-release, the kernel release, the machine and boot ids.
// Read once: none of it changes while the process runs.
const json& HostInfo() {
  static const json info = [] {
    json out = json::object();
    std::ifstream os("/etc/os-release");
    for (std::string line; std::getline(os, line);) {
      if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      out["osImage"] = v;
    }
    struct utsname u {};
    if (uname(&u) == 0) out["kernelVersion"] = std::string(u.release);
    if (std::string id = FirstLine("/etc/machine-id"); !id.empty()) out["machineID"] = id;
    if (std::string id = FirstLine("/proc/sys/kernel/random/boot_id"); !id.empty()) out["bootID"] = id;
    return out;
  }();
  return info;
}

}  // namespace

json NodeRegistration::NodeStatus(const DriverFingerprint& fp, const json& current_status) const {
  return {{"capacity", fp.capacity},
          {"allocatable", fp.capacity},
          {"conditions", json::array({ReadyCondition(fp, current_status)})},
          {"addresses",
           json::array({{{"type", "InternalIP"}, {"address", identity_.address}},
                        {{"type", "Hostname"}, {"address", identity_.name}}})},
          {"nodeInfo", [&] {
             json info = HostInfo();
             info["kubeletVersion"] = kKubeletVersion;
             info["containerRuntimeVersion"] = fp.runtime_version;
             info["operatingSystem"] = fp.os;
             info["architecture"] = fp.arch;
             return info;
           }()}};
}

Status NodeRegistration::PatchStatus(const json& status) {
  auto r = api_->Patch(NodePath() + "/status", client::PatchType::kStrategic, {{"status", status}});
  if (!r.ok()) return r.status();
  node_ = std::move(*r);
  return Status::Ok();
}

Status NodeRegistration::Register(const DriverFingerprint& fp) {
  json driver = {{"name", identity_.driver_name}};
  if (!identity_.driver_endpoint.empty()) driver["endpoint"] = identity_.driver_endpoint;
  if (!identity_.driver_config.is_null()) driver["config"] = identity_.driver_config;
  json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata", {{"name", identity_.name}, {"labels", Labels(fp)}}},
               {"spec", {{"driver", driver}}},
               {"status", NodeStatus(fp, json())}};
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto created = api_->Create("/api/v1/nodes", node);
    if (created.ok()) {
      node_ = std::move(*created);
      node_uid_ = MetaString(node_, "uid");
      log::Info("node registered", {{"node", identity_.name}});
      return Status::Ok();
    }
    if (!created.status().IsAlreadyExists()) return created.status().Annotate("registering node " + identity_.name);

    // The Node exists: keep the user's spec and labels, set ours, then post the status.
    auto got = api_->Get(NodePath());
    if (!got.ok()) {
      if (got.status().IsNotFound()) continue;  // deleted meanwhile: create it
      return got.status().Annotate("reading node " + identity_.name);
    }
    json next = *got;
    json& labels = next["metadata"]["labels"];
    if (!labels.is_object()) labels = json::object();
    json ours = Labels(fp);
    for (auto it = ours.begin(); it != ours.end(); ++it) labels[it.key()] = *it;
    json& spec_driver = next["spec"]["driver"];
    if (!spec_driver.is_object()) spec_driver = json::object();
    if (StringField(spec_driver, "name") != identity_.driver_name && !StringField(spec_driver, "name").empty()) {
      log::Warn("node names another driver; this agent's driver replaces it",
                {{"node", identity_.name}, {"was", StringField(spec_driver, "name")},
                 {"driver", identity_.driver_name}});
    }
    spec_driver["name"] = identity_.driver_name;
    if (StringField(spec_driver, "endpoint").empty() && !identity_.driver_endpoint.empty()) {
      spec_driver["endpoint"] = identity_.driver_endpoint;
    }
    if (!spec_driver.contains("config") && !identity_.driver_config.is_null()) {
      spec_driver["config"] = identity_.driver_config;
    }
    if (next != *got) {
      auto updated = api_->Update(NodePath(), next);
      if (!updated.ok()) {
        if (updated.status().IsConflict() || updated.status().IsNotFound()) continue;
        return updated.status().Annotate("updating node " + identity_.name);
      }
      next = std::move(*updated);
    }
    node_ = next;
    node_uid_ = MetaString(node_, "uid");
    Status s = PatchStatus(NodeStatus(fp, Field(next, "status")));
    if (s.IsNotFound()) continue;
    if (!s.ok()) return s.Annotate("posting the status of node " + identity_.name);
    log::Info("node re-registered", {{"node", identity_.name}});
    return Status::Ok();
  }
  return Status::Conflict("registering node " + identity_.name + ": too many concurrent writers");
}

Status NodeRegistration::PostStatus(const DriverFingerprint& fp) {
  json status = {{"capacity", fp.capacity},
                 {"allocatable", fp.capacity},
                 {"conditions", json::array({ReadyCondition(fp, Field(node_, "status"))})}};
  Status s = PatchStatus(status);
  if (s.IsNotFound()) {
    log::Warn("node was deleted; registering it again", {{"node", identity_.name}});
    return Register(fp);
  }
  if (s.ok() && MetaString(node_, "uid") != node_uid_) node_uid_ = MetaString(node_, "uid");
  return s;
}

bool NodeRegistration::ReadyAsPosted(bool healthy) {
  auto node = api_->Get(NodePath());
  if (!node.ok()) return true;
  node_ = std::move(*node);
  const json& conditions = Field(Field(node_, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const json& c : conditions) {
    if (StringField(c, "type") == "Ready") return StringField(c, "status") == (healthy ? "True" : "False");
  }
  return false;
}

json NodeRegistration::LeaseBody() const {
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", identity_.name}, {"namespace", kNodeLeaseNamespace}}},
                {"spec",
                 {{"holderIdentity", identity_.name},
                  {"leaseDurationSeconds", lease_duration_.count()},
                  {"renewTime", FormatMicroTime(std::chrono::system_clock::now())}}}};
  if (!node_uid_.empty()) {
    lease["metadata"]["ownerReferences"] = json::array(
        {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", identity_.name}, {"uid", node_uid_}}});
  }
  return lease;
}

Status NodeRegistration::RenewLease() {
  const std::string collection =
      std::string("/apis/coordination.k8s.io/v1/namespaces/") + kNodeLeaseNamespace + "/leases";
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (lease_.is_null()) {
      auto got = api_->Get(LeasePath());
      if (got.ok()) {
        lease_ = std::move(*got);
      } else if (got.status().IsNotFound()) {
        auto created = api_->Create(collection, LeaseBody());
        if (created.ok()) {
          lease_ = std::move(*created);
          return Status::Ok();
        }
        if (created.status().IsAlreadyExists()) continue;
        return created.status().Annotate("creating lease " + identity_.name);
      } else {
        return got.status().Annotate("reading lease " + identity_.name);
      }
    }
    json next = lease_;
    json body = LeaseBody();
    for (auto it = body["spec"].begin(); it != body["spec"].end(); ++it) next["spec"][it.key()] = *it;
    if (body["metadata"].contains("ownerReferences")) {
      next["metadata"]["ownerReferences"] = body["metadata"]["ownerReferences"];
    }
    auto updated = api_->Update(LeasePath(), next);
    if (updated.ok()) {
      lease_ = std::move(*updated);
      return Status::Ok();
    }
    lease_ = nullptr;  // re-read (409) or re-create (404)
    if (!updated.status().IsConflict() && !updated.status().IsNotFound()) {
      return updated.status().Annotate("renewing lease " + identity_.name);
    }
  }
  return Status::Conflict("renewing lease " + identity_.name + ": too many concurrent writers");
}

}  // namespace capstan::node
