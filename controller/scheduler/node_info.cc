#include "controller/scheduler/node_info.h"

#include <algorithm>

#include "api/kinds/validation.h"

namespace capstan::controller::scheduler {

using api::kinds::Get;
using api::kinds::GetArray;
using api::kinds::GetBool;
using api::kinds::GetString;

namespace {

// nodeConditionToTaintKeyStatusMap of Kubernetes' node lifecycle controller, plus a missing Ready
// condition read as not ready (a node that never reported is not a place to start pods).
std::vector<std::string> ConditionTaintKeys(const json& status) {
  std::vector<std::string> keys;
  bool saw_ready = false;
  for (const json& c : GetArray(status, "conditions")) {
    const std::string type = GetString(c, "type");
    const std::string value = GetString(c, "status");
    if (type == "Ready") {
      saw_ready = true;
      if (value == "False") keys.push_back(kTaintNotReady);
      if (value == "Unknown") keys.push_back(kTaintUnreachable);
      // Any other value (only True is valid) is ready.
    } else if (value == "True") {
      if (type == "MemoryPressure") keys.push_back(kTaintMemoryPressure);
      if (type == "DiskPressure") keys.push_back(kTaintDiskPressure);
      if (type == "PIDPressure") keys.push_back(kTaintPidPressure);
      if (type == "NetworkUnavailable") keys.push_back(kTaintNetworkUnavailable);
    }
  }
  if (!saw_ready) keys.push_back(kTaintNotReady);
  return keys;
}

}  // namespace

void NodeInfo::SetNode(std::shared_ptr<const json> node) {
  node_ = std::move(node);
  name_.clear();
  labels_ = nullptr;
  unschedulable_ = false;
  taints_.clear();
  allocatable_ = Resources();
  if (node_ == nullptr) return;
  static const json kEmpty = json::object();
  const json* meta = Get(*node_, "metadata");
  if (meta != nullptr) {
    name_ = GetString(*meta, "name");
    const json* labels = Get(*meta, "labels");
    if (labels != nullptr && labels->is_object()) labels_ = labels;
  }
  const json* spec = Get(*node_, "spec");
  if (spec != nullptr) {
    unschedulable_ = GetBool(*spec, "unschedulable");
    for (const json& t : GetArray(*spec, "taints")) {
      taints_.push_back(Taint{GetString(t, "key"), GetString(t, "value"), GetString(t, "effect")});
    }
  }
  const json* status = Get(*node_, "status");
  const json& st = status != nullptr ? *status : kEmpty;
  for (std::string& key : ConditionTaintKeys(st)) {
    bool present = std::any_of(taints_.begin(), taints_.end(),
                               [&](const Taint& t) { return t.key == key && t.effect == "NoSchedule"; });
    if (!present) taints_.push_back(Taint{std::move(key), "", "NoSchedule"});
  }
  const json* allocatable = Get(st, "allocatable");
  if (allocatable == nullptr) allocatable = Get(st, "capacity");
  if (allocatable != nullptr) allocatable_ = ParseResourceList(*allocatable);
  if (allocatable == nullptr || !allocatable->is_object() || !allocatable->contains("pods")) {
    allocatable_.pods = kDefaultMaxPods;
  }
}

const json& NodeInfo::node() const {
  static const json kEmpty = json::object();
  return node_ != nullptr ? *node_ : kEmpty;
}

int64_t NodeInfo::OwnerCount(std::string_view owner_uid) const {
  if (owner_uid.empty()) return 0;
  auto it = owner_counts_.find(owner_uid);
  return it != owner_counts_.end() ? it->second : 0;
}

void NodeInfo::AddPod(std::shared_ptr<const json> pod) {
  if (pod == nullptr) return;
  PodInfo info;
  info.key = PodKey(*pod);
  info.owner_uid = ControllerUid(*pod);
  info.requests = PodRequests(*pod, &info.non_zero);
  AddPod(std::move(pod), info);
}

void NodeInfo::AddPod(std::shared_ptr<const json> pod, const PodInfo& info) {
  RemovePod(info.key);  // replace, never count a Pod twice
  requested_.Add(info.requests);
  non_zero_requested_.Add(info.non_zero);
  if (!info.owner_uid.empty()) ++owner_counts_[info.owner_uid];
  index_[info.key] = pods_.size();
  pods_.push_back(PodEntry{std::move(pod), info.key, info.owner_uid, info.requests, info.non_zero});
  // The pod count is the number of entries whatever the PodInfo said (a hand-made one may say 0).
  requested_.pods = non_zero_requested_.pods = static_cast<int64_t>(pods_.size());
}

bool NodeInfo::RemovePod(std::string_view key) {
  auto found = index_.find(key);
  if (found == index_.end()) return false;
  const size_t i = found->second;
  index_.erase(found);
  auto it = pods_.begin() + static_cast<std::ptrdiff_t>(i);
  requested_.Subtract(it->requests);
  non_zero_requested_.Subtract(it->non_zero);
  if (!it->owner_uid.empty()) {
    auto owner = owner_counts_.find(it->owner_uid);
    if (owner != owner_counts_.end() && --owner->second <= 0) owner_counts_.erase(owner);
  }
  // Order of pods() carries no meaning: swap with the last entry instead of shifting.
  if (i + 1 != pods_.size()) {
    *it = std::move(pods_.back());
    index_[it->key] = i;
  }
  pods_.pop_back();
  requested_.pods = non_zero_requested_.pods = static_cast<int64_t>(pods_.size());
  return true;
}

bool NodeInfo::HasPod(std::string_view key) const {
  return index_.find(key) != index_.end();
}

}  // namespace capstan::controller::scheduler
