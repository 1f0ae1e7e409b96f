// NodeAgent: the runs the driver holds that no Pod of this node accounts for. At start, Recover
// adopts the runs of Pods still bound here and removes the rest; while the agent runs, the
// heartbeat's orphan sweep removes runs whose Pod is gone and that no record tracks (node_agent.h).
#include <algorithm>
#include <unordered_map>

#include "base/log.h"
#include "client/json_fields.h"
#include "node/node_agent.h"
#include "node/termination_gate.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::MetaString;
using client::StringField;

bool NodeAgent::RemoveOrphanRun(const PodHandle& run) {
  Status s = driver_->StopPod(run, std::chrono::milliseconds(0));
  if (s.ok() || s.IsNotFound()) s = driver_->RemovePod(run);
  if (!s.ok()) log::Warn("cannot remove an orphaned pod run", {{"run", run.id}, {"error", s.ToString()}});
  return s.ok();
}

Status NodeAgent::Recover() {
  auto runs = driver_->ListPods();
  if (!runs.ok()) return runs.status().Annotate("node agent: listing the driver's pods");
  std::unordered_map<std::string, client::ObjectPtr> by_uid;
  for (const auto& p : PodsOnThisNode()) by_uid[MetaString(*p, "uid")] = p;
  size_t adopted = 0, removed = 0;
  for (const PodHandle& run : *runs) {
    auto it = by_uid.find(run.pod_uid);
    const std::string key = it == by_uid.end() ? "" : client::ObjectKey(*it->second);
    if (it == by_uid.end() || FindRecord(key) != nullptr ||
        !MetaString(*it->second, "deletionTimestamp").empty()) {
      RemoveOrphanRun(run);
      ++removed;
      continue;
    }
    const json& pod = *it->second;
    auto rec = std::make_shared<PodRecord>();
    rec->uid = run.pod_uid;
    rec->handle = run;
    rec->grace = PodGracePeriod(pod);
    rec->terminal = IsTerminalPhase(StringField(Field(pod, "status"), "phase"));
    rec->ports = PortMappingsFromStatus(pod);
    rec->ports_assigned = true;  // a run exists: it was started with what the status records
    std::vector<int> held;
    for (const PortMapping& m : rec->ports) held.push_back(m.host_port);
    ports_.Reserve(rec->uid, held);
    const json& containers = Field(Field(pod, "spec"), "containers");
    if (containers.is_array()) {
      for (const json& c : containers) {
        const json& pre_stop = Field(Field(c, "lifecycle"), "preStop");
        if (pre_stop.is_object()) rec->pre_stop.emplace_back(StringField(c, "name"), pre_stop);
      }
    }
    const json& statuses = Field(Field(pod, "status"), "containerStatuses");
    if (statuses.is_array()) {
      for (const json& cs : statuses) {
        rec->restart_count = std::max<int32_t>(rec->restart_count,
                                               static_cast<int32_t>(client::IntField(cs, "restartCount")));
        const json& last = Field(Field(cs, "lastState"), "terminated");
        if (last.is_object()) rec->last_terminated[StringField(cs, "name")] = last;
      }
    }
    PutRecord(key, std::move(rec));
    ++adopted;
  }
  log::Info("node agent recovered pod runs",
            {{"node", node_name_}, {"adopted", std::to_string(adopted)}, {"removed", std::to_string(removed)}});
  return Status::Ok();
}

void NodeAgent::SweepOrphans() {
  // The driver first, then the cache and the records: a run in the listing was started before
  // it, and the agent records a pod before it starts its run and erases the record only after
  // removing it, so a run that is somebody's shows up below (and removing twice is harmless).
  auto runs = driver_->ListPods();
  if (!runs.ok()) return;
  std::unordered_map<std::string, bool> live;  // uids in the cache or in a record
  for (const auto& p : PodsOnThisNode()) live[MetaString(*p, "uid")] = true;
  {
    std::lock_guard<std::mutex> lock(records_mu_);
    for (const auto& [key, rec] : records_) live[rec->uid] = true;
  }
  for (const PodHandle& run : *runs) {
    if (live.count(run.pod_uid) != 0) continue;
    if (!RemoveOrphanRun(run)) continue;
    orphans_removed_.fetch_add(1, std::memory_order_relaxed);
    log::Info("removed an orphaned pod run", {{"run", run.id}, {"pod", run.pod_namespace + "/" + run.pod_name}});
  }
}

}  // namespace capstan::node
