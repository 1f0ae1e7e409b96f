#include "controller/scheduler/scheduling.h"

#include <algorithm>

#include "api/kinds/validation.h"
#include "controller/scheduler/predicates.h"

namespace capstan::controller::scheduler {

using api::kinds::Get;
using api::kinds::GetArray;
using api::kinds::GetString;

Decision Schedule(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes, const ScoreWeights& weights) {
  size_t num_nodes = 0;
  std::vector<const NodeInfo*> feasible;
  feasible.reserve(nodes.size());
  std::map<std::string, int64_t> reasons;
  for (const NodeInfo* node : nodes) {
    if (node == nullptr || !node->has_node()) continue;
    ++num_nodes;
    std::vector<std::string> failed = Filter(pod, *node);
    if (failed.empty()) {
      feasible.push_back(node);
    } else {
      for (std::string& r : failed) ++reasons[std::move(r)];
    }
  }
  if (num_nodes == 0) return Decision{"", kNoNodesAvailable};
  if (feasible.empty()) return Decision{"", FailureMessage(num_nodes, reasons)};
  if (feasible.size() == 1) return Decision{feasible[0]->name(), ""};

  std::vector<int64_t> scores = ScoreNodes(pod, feasible, weights);
  int64_t best = *std::max_element(scores.begin(), scores.end());
  std::vector<const NodeInfo*> ties;
  for (size_t i = 0; i < feasible.size(); ++i) {
    if (scores[i] == best) ties.push_back(feasible[i]);
  }
  // Sorting makes the pick independent of the order the caller listed the nodes in.
  std::sort(ties.begin(), ties.end(), [](const NodeInfo* a, const NodeInfo* b) { return a->name() < b->name(); });
  return Decision{ties[Fnv1a64(pod.key) % ties.size()]->name(), ""};
}

Decision Schedule(const json& pod, const std::vector<const NodeInfo*>& nodes, const ScoreWeights& weights) {
  return Schedule(MakePodInfo(pod), nodes, weights);
}

std::string FailureMessage(size_t num_nodes, const std::map<std::string, int64_t>& reason_counts) {
  std::vector<std::string> parts;
  parts.reserve(reason_counts.size());
  for (const auto& [reason, count] : reason_counts) parts.push_back(std::to_string(count) + " " + reason);
  std::sort(parts.begin(), parts.end());  // byte order, as Go's sort.Strings
  std::string out = "0/" + std::to_string(num_nodes) + " nodes are available:";
  if (parts.empty()) return out;
  out += ' ';
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ", ";
    out += parts[i];
  }
  out += '.';
  return out;
}

std::string ScheduledMessage(const json& pod, const std::string& node) {
  static const json kEmpty = json::object();
  const json* meta = Get(pod, "metadata");
  const json& m = meta != nullptr ? *meta : kEmpty;
  return "Successfully assigned " + GetString(m, "namespace") + "/" + GetString(m, "name") + " to " + node;
}

bool IsTerminal(const json& pod) {
  const json* status = Get(pod, "status");
  if (status == nullptr) return false;
  std::string phase = GetString(*status, "phase");
  return phase == "Succeeded" || phase == "Failed";
}

bool NeedsScheduling(const json& pod, std::string_view scheduler_name) {
  const json* meta = Get(pod, "metadata");
  if (meta != nullptr && Get(*meta, "deletionTimestamp") != nullptr) return false;
  if (IsTerminal(pod)) return false;
  const json* spec = Get(pod, "spec");
  if (spec == nullptr) return scheduler_name == kDefaultSchedulerName;
  if (!GetString(*spec, "nodeName").empty()) return false;
  if (!GetArray(*spec, "schedulingGates").empty()) return false;
  std::string name = GetString(*spec, "schedulerName");
  if (name.empty()) name = kDefaultSchedulerName;
  return name == scheduler_name;
}

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace capstan::controller::scheduler
