#include "controller/haproxy/drain_tracker.h"

#include <algorithm>

#include "api/kinds/haproxy_annotations.h"
#include "controller/haproxy/runtime_plan.h"

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

std::string ServerKey(const Backend& b, const ServerSlot& s) {
  return b.name + "|" + s.address + ":" + std::to_string(s.port);
}

// A member of metadata (null when absent), by reference: Conditions() looks at every Pod of the
// cluster on each reconcile, and most need nothing, so the look must not allocate.
const json& MetaField(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return kNull;
  auto v = m->find(key);
  return v == m->end() ? kNull : *v;
}

const std::string& Meta(const json& obj, const char* key) {
  static const std::string kEmpty;
  const json& v = MetaField(obj, key);
  return v.is_string() ? v.get_ref<const std::string&>() : kEmpty;
}

}  // namespace

const json* FindPodCondition(const json& pod, const std::string& type) {
  if (!pod.is_object()) return nullptr;
  auto status = pod.find("status");
  if (status == pod.end() || !status->is_object()) return nullptr;
  auto conditions = status->find("conditions");
  if (conditions == status->end() || !conditions->is_array()) return nullptr;
  for (const json& c : *conditions) {
    if (!c.is_object()) continue;
    auto t = c.find("type");
    if (t != c.end() && t->is_string() && t->get_ref<const std::string&>() == type) return &c;
  }
  return nullptr;
}

namespace {

bool HasHttpReadinessProbe(const json& pod) {
  auto spec = pod.find("spec");
  if (spec == pod.end() || !spec->is_object()) return false;
  auto containers = spec->find("containers");
  if (containers == spec->end() || !containers->is_array()) return false;
  for (const json& c : *containers) {
    if (!c.is_object()) continue;
    auto probe = c.find("readinessProbe");
    if (probe != c.end() && probe->is_object() && probe->contains("httpGet")) return true;
  }
  return false;
}

}  // namespace

bool PodMatters(const json& pod) {
  if (!pod.is_object()) return false;
  return HasHttpReadinessProbe(pod) || FindPodCondition(pod, api::kinds::kHaproxyDrainedCondition) != nullptr;
}

bool PodUpdateMatters(const json& old_pod, const json& pod) {
  if (!old_pod.is_object() || !pod.is_object()) return true;
  if (MetaField(old_pod, "labels") != MetaField(pod, "labels")) return true;
  if (MetaField(old_pod, "deletionTimestamp") != MetaField(pod, "deletionTimestamp") && PodMatters(pod)) return true;
  const json* before = FindPodCondition(old_pod, api::kinds::kHaproxyDrainedCondition);
  const json* now = FindPodCondition(pod, api::kinds::kHaproxyDrainedCondition);
  if ((before == nullptr) != (now == nullptr)) return true;
  return before != nullptr && *before != *now;
}

bool DrainTracker::NeedsStats(const HaproxyModel& desired) {
  for (const Backend& b : desired.backends) {
    for (const ServerSlot& s : b.servers) {
      if (s.state != ServerState::kReady) return true;
    }
  }
  return false;
}

std::chrono::milliseconds DrainTracker::Adjust(HaproxyModel* desired, const HaproxyModel& applied,
                                               const std::vector<ServerStat>* stats, Clock::time_point now) {
  std::map<std::pair<std::string, std::string>, const ServerStat*> rows;
  if (stats != nullptr) {
    for (const ServerStat& s : *stats) rows[{s.backend, s.server}] = &s;
  }
  std::map<std::string, const Backend*> applied_backends;
  for (const Backend& b : applied.backends) applied_backends[b.name] = &b;
  std::set<std::string> terminating;
  bool pending = false;
  for (Backend& b : desired->backends) {
    auto ab = applied_backends.find(b.name);
    // The server HAProxy runs in this slot for the same endpoint, if any.
    auto running = [&](const ServerSlot& s) -> const ServerSlot* {
      if (ab == applied_backends.end()) return nullptr;
      for (const ServerSlot& a : ab->second->servers) {
        if (a.slot == s.slot && a.address == s.address && a.port == s.port) return &a;
      }
      return nullptr;
    };
    bool any_serving = false, any_up = false;
    for (const ServerSlot& s : b.servers) {
      if (s.state != ServerState::kReady) continue;
      any_serving = true;
      const ServerSlot* a = running(s);
      auto row = rows.find({b.name, ServerName(s.slot)});
      if (a != nullptr && a->state == ServerState::kReady && row != rows.end() &&
          row->second->status.rfind("UP", 0) == 0) {
        any_up = true;
      }
    }
    for (ServerSlot& s : b.servers) {
      if (s.state == ServerState::kReady) continue;
      const std::string key = ServerKey(b, s);
      terminating.insert(key);
      if (drained_.count(key)) {
        s.state = ServerState::kDrained;
        continue;
      }
      const ServerSlot* a = running(s);
      if (a == nullptr) {  // never entered: MAINT already
        drained_.insert(key);
        s.state = ServerState::kDrained;
        continue;
      }
      if (a->state == ServerState::kReady) {
        // Not draining yet: hold it while a replacement is coming but not UP, else start. The hold
        // is bounded by drain_timeout_ too: a replacement that never passes its check (or a
        // `show stat` that keeps failing) must not keep the Pod from its drain until its node
        // agent gives up waiting and stops it while HAProxy still routes to it.
        const Clock::time_point held = hold_since_.emplace(key, now).first->second;
        const bool hold = (stats == nullptr || (any_serving && !any_up)) && now - held < drain_timeout_;
        s.state = hold ? ServerState::kReady : ServerState::kDrain;
        pending = true;
        continue;
      }
      // Draining (or in maint) since the last apply at least: `stats` were read after that.
      const Clock::time_point since = drain_since_.emplace(key, now).first->second;
      auto row = rows.find({b.name, ServerName(s.slot)});
      const bool idle = stats != nullptr && (row == rows.end() || row->second->current_sessions == 0);
      if (idle || now - since >= drain_timeout_) {
        drained_.insert(key);
        s.state = ServerState::kDrained;
      } else {
        s.state = ServerState::kDrain;
        pending = true;
      }
    }
  }
  std::erase_if(drain_since_, [&](const auto& e) { return !terminating.count(e.first); });
  std::erase_if(hold_since_, [&](const auto& e) { return !terminating.count(e.first); });
  std::erase_if(drained_, [&](const std::string& k) { return !terminating.count(k); });
  return pending ? std::chrono::milliseconds(200) : std::chrono::milliseconds(0);
}

std::vector<PodConditionWrite> DrainTracker::Conditions(const HaproxyModel& applied,
                                                        const std::set<std::pair<std::string, int>>& leaving,
                                                        const ObjectList& pods) {
  std::map<std::string, std::vector<ServerState>> states;                     // pod uid -> its servers
  std::map<std::string, std::set<std::pair<std::string, int>>> slots;         // pod uid -> its slots now
  for (const Backend& b : applied.backends) {
    for (const ServerSlot& s : b.servers) {
      if (s.pod_uid.empty()) continue;
      states[s.pod_uid].push_back(s.state);
      slots[s.pod_uid].insert({b.name, s.slot});
    }
  }
  // Slots whose endpoint left and that the applier still drains keep counting for their Pod.
  std::map<std::string, bool> still_leaving;  // pod uid -> a slot of it is still draining
  for (const auto& [uid, had] : pod_slots_) {
    for (const auto& slot : had) {
      if (leaving.count(slot) && !slots[uid].count(slot)) {
        slots[uid].insert(slot);
        still_leaving[uid] = true;
      }
    }
  }
  std::erase_if(slots, [](const auto& e) { return e.second.empty(); });
  pod_slots_ = std::move(slots);

  std::vector<PodConditionWrite> writes;
  std::map<std::string, bool> written;  // of Pods that still exist
  const std::string drained_type = api::kinds::kHaproxyDrainedCondition;
  for (const auto& pod : pods) {
    const std::string& uid = Meta(*pod, "uid");
    if (uid.empty()) continue;
    // The condition only moves forward: none (0), False (1), True (2). What was written counts
    // before the cache shows it.
    const json* condition = FindPodCondition(*pod, drained_type);
    auto was = written_.find(uid);
    auto it = states.find(uid);
    // No condition, none written, no server: nothing to write whether terminating or not (the
    // checks below skip it too). Most Pods of a cluster are this; keep them cheap.
    if (condition == nullptr && was == written_.end() && it == states.end()) continue;
    int level = condition == nullptr ? 0 : condition->value("status", "") == "True" ? 2 : 1;
    if (was != written_.end()) {
      written[uid] = was->second;
      level = std::max(level, was->second ? 2 : 1);
    }
    const bool terminating = !Meta(*pod, "deletionTimestamp").empty();
    PodConditionWrite w{Meta(*pod, "namespace"), Meta(*pod, "name"), uid, false, "", ""};
    if (!terminating) {
      if (level != 0 || it == states.end()) continue;
      if (std::find(it->second.begin(), it->second.end(), ServerState::kReady) == it->second.end()) continue;
      w.reason = "Routed";
      w.message = "HAProxy routes traffic to this Pod: it is drained before its containers are stopped";
      writes.push_back(std::move(w));
      continue;
    }
    if (level != 1 || still_leaving.count(uid)) continue;
    if (it != states.end() &&
        std::any_of(it->second.begin(), it->second.end(), [](ServerState s) { return s != ServerState::kDrained; })) {
      continue;
    }
    w.drained = true;
    w.reason = "Drained";
    w.message = "HAProxy sends this Pod no more traffic";
    writes.push_back(std::move(w));
  }
  written_ = std::move(written);
  return writes;
}

}  // namespace capstan::controller::haproxy
