#include "controller/scheduler/predicates.h"

#include <algorithm>

namespace capstan::controller::scheduler {

namespace {

// The label's value, or nullptr when the node lacks the label.
const std::string* LabelValue(const json* labels, const std::string& key) {
  if (labels == nullptr) return nullptr;
  auto it = labels->find(key);
  if (it == labels->end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

bool Contains(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

bool IsDoNotSchedule(const Taint& t) { return t.effect == "NoSchedule" || t.effect == "NoExecute"; }

}  // namespace

std::string UntoleratedTaintReason(const Taint& taint) {
  return "node(s) had untolerated taint {" + taint.key + ": " + taint.value + "}";
}

std::string InsufficientReason(const std::string& resource) { return "Insufficient " + resource; }

// ---- Matching -------------------------------------------------------------------------------------

bool ToleratesTaint(const Toleration& t, const Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (!t.key.empty() && t.key != taint.key) return false;
  if (t.op.empty() || t.op == "Equal") return t.value == taint.value;
  return t.op == "Exists";  // any other operator tolerates nothing
}

bool TolerationsTolerateTaint(const std::vector<Toleration>& tolerations, const Taint& taint) {
  return std::any_of(tolerations.begin(), tolerations.end(),
                     [&](const Toleration& t) { return ToleratesTaint(t, taint); });
}

bool LabelRequirementMatches(const Requirement& r, const json* labels) {
  const std::string* value = LabelValue(labels, r.key);
  switch (r.op) {
    case SelectorOp::kIn:
      return value != nullptr && Contains(r.values, *value);
    case SelectorOp::kNotIn:
      return value == nullptr || !Contains(r.values, *value);
    case SelectorOp::kExists:
      return value != nullptr;
    case SelectorOp::kDoesNotExist:
      return value == nullptr;
    case SelectorOp::kGt:
    case SelectorOp::kLt: {
      // labels.Requirement.Matches: the label must exist and parse as a base-10 int64.
      int64_t n = 0;
      if (value == nullptr || !ParseInt64(*value, &n)) return false;
      return r.op == SelectorOp::kGt ? n > r.number : n < r.number;
    }
  }
  return false;
}

bool FieldRequirementMatches(const Requirement& r, const std::string& node_name) {
  // Compiled field requirements are metadata.name In/NotIn with exactly one value.
  if (r.values.empty()) return false;
  if (r.op == SelectorOp::kIn) return node_name == r.values[0];
  if (r.op == SelectorOp::kNotIn) return node_name != r.values[0];
  return false;
}

bool TermMatches(const SelectorTerm& term, const NodeInfo& node) {
  if (!term.valid) return false;
  for (const Requirement& r : term.expressions) {
    if (!LabelRequirementMatches(r, node.labels())) return false;
  }
  for (const Requirement& r : term.fields) {
    if (!FieldRequirementMatches(r, node.name())) return false;
  }
  return true;
}

bool MatchesNodeSelectorAndAffinity(const PodInfo& pod, const NodeInfo& node) {
  for (const auto& [key, want] : pod.node_selector) {
    const std::string* have = LabelValue(node.labels(), key);
    if (have == nullptr || *have != want) return false;
  }
  if (!pod.has_required_affinity) return true;
  return std::any_of(pod.required_terms.begin(), pod.required_terms.end(),
                     [&](const SelectorTerm& t) { return TermMatches(t, node); });
}

// ---- Filters ----------------------------------------------------------------------------------------

std::optional<std::string> CheckNodeUnschedulable(const PodInfo& pod, const NodeInfo& node) {
  if (!node.unschedulable()) return std::nullopt;
  // Cordoned nodes still take pods that tolerate the cordon taint (DaemonSet-style pods).
  static const Taint kCordon{kTaintUnschedulable, "", "NoSchedule"};
  if (TolerationsTolerateTaint(pod.tolerations, kCordon)) return std::nullopt;
  return kReasonUnschedulable;
}

std::optional<std::string> CheckTaints(const PodInfo& pod, const NodeInfo& node) {
  // FindMatchingUntoleratedTaint: the first one in the node's order is the one reported.
  for (const Taint& taint : node.taints()) {
    if (IsDoNotSchedule(taint) && !TolerationsTolerateTaint(pod.tolerations, taint)) {
      return UntoleratedTaintReason(taint);
    }
  }
  return std::nullopt;
}

std::optional<std::string> CheckNodeAffinity(const PodInfo& pod, const NodeInfo& node) {
  if (MatchesNodeSelectorAndAffinity(pod, node)) return std::nullopt;
  return kReasonNodeAffinity;
}

std::optional<std::string> CheckPodCount(const PodInfo& /*pod*/, const NodeInfo& node) {
  if (static_cast<int64_t>(node.pods().size()) + 1 > node.allocatable().pods) return kReasonTooManyPods;
  return std::nullopt;
}

std::vector<std::string> CheckResources(const PodInfo& pod, const NodeInfo& node) {
  std::vector<std::string> reasons;
  const Resources& want = pod.requests;
  const Resources& have = node.allocatable();
  const Resources& used = node.requested();
  // Requests of 0 never fail, so a BestEffort pod fits on a node that is overcommitted already.
  if (want.milli_cpu > 0 && want.milli_cpu > have.milli_cpu - used.milli_cpu) {
    reasons.push_back(InsufficientReason("cpu"));
  }
  if (want.memory_bytes > 0 && want.memory_bytes > have.memory_bytes - used.memory_bytes) {
    reasons.push_back(InsufficientReason("memory"));
  }
  for (const auto& [name, amount] : want.scalars) {
    if (amount > 0 && amount > have.Scalar(name) - used.Scalar(name)) reasons.push_back(InsufficientReason(name));
  }
  return reasons;
}

std::vector<std::string> CheckFit(const PodInfo& pod, const NodeInfo& node) {
  std::vector<std::string> reasons;
  if (auto r = CheckPodCount(pod, node)) reasons.push_back(std::move(*r));
  std::vector<std::string> insufficient = CheckResources(pod, node);
  if (reasons.empty()) return insufficient;
  reasons.insert(reasons.end(), std::make_move_iterator(insufficient.begin()),
                 std::make_move_iterator(insufficient.end()));
  return reasons;
}

std::vector<std::string> Filter(const PodInfo& pod, const NodeInfo& node) {
  if (auto r = CheckNodeUnschedulable(pod, node)) return {std::move(*r)};
  if (auto r = CheckTaints(pod, node)) return {std::move(*r)};
  if (auto r = CheckNodeAffinity(pod, node)) return {std::move(*r)};
  return CheckFit(pod, node);
}

}  // namespace capstan::controller::scheduler
