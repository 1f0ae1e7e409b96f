// The scheduler's filters: can this Pod run on this Node? Each filter mirrors one plugin of the
// Kubernetes scheduler's default profile and answers with Kubernetes' own reason text, so that the
// FailedScheduling event reads exactly as a Kubernetes user expects.
//
// Each Check* returns std::nullopt when the Pod fits, else the reason. Filter() runs them in the
// order of the default profile and, like the scheduler framework, stops at the first failing
// filter:
//   1. CheckNodeUnschedulable (NodeUnschedulable): spec.unschedulable, unless the Pod tolerates
//      node.kubernetes.io/unschedulable:NoSchedule.
//   2. CheckTaints (TaintToleration): the first NoSchedule/NoExecute taint the Pod does not
//      tolerate. NodeInfo::taints() includes the taints implied by node conditions, so a NotReady
//      Node fails here with "{node.kubernetes.io/not-ready: }" (see node_info.h).
//   3. CheckNodeAffinity (NodeAffinity): spec.nodeSelector and the required node affinity.
//   4. CheckFit (NodeResourcesFit): pod count and requests against allocatable minus requested.
//      The only filter that may report several reasons for one node ("Too many pods",
//      "Insufficient cpu", "Insufficient memory", "Insufficient <resource>"), as Kubernetes does.
//
// Not implemented (Capstan accepts but does not enforce the fields): host ports (NodePorts),
// volumes, pod (anti-)affinity, topologySpreadConstraints.
//
// Thread-safety: stateless functions over values the caller keeps alive for the call.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controller/scheduler/node_info.h"
#include "controller/scheduler/pod_info.h"

namespace capstan::controller::scheduler {

// Kubernetes' reason strings.
inline constexpr char kReasonUnschedulable[] = "node(s) were unschedulable";
inline constexpr char kReasonNodeAffinity[] = "node(s) didn't match Pod's node affinity/selector";
inline constexpr char kReasonTooManyPods[] = "Too many pods";
// "node(s) had untolerated taint {key: value}"
std::string UntoleratedTaintReason(const Taint& taint);
// "Insufficient cpu", "Insufficient memory", "Insufficient example.com/gpu"
std::string InsufficientReason(const std::string& resource);

// ---- Matching helpers ---------------------------------------------------------------------------

// v1.Toleration.ToleratesTaint: the effect matches (or the toleration's is empty), the key matches
// (or the toleration's is empty), and the operator is Exists, or Equal ("" too) with equal values.
bool ToleratesTaint(const Toleration& toleration, const Taint& taint);
bool TolerationsTolerateTaint(const std::vector<Toleration>& tolerations, const Taint& taint);

// One requirement against a node's labels (nullptr = no labels) or, for matchFields, its name.
bool LabelRequirementMatches(const Requirement& r, const json* labels);
bool FieldRequirementMatches(const Requirement& r, const std::string& node_name);
// A term matches when it is valid and every expression and field requirement matches.
bool TermMatches(const SelectorTerm& term, const NodeInfo& node);
// spec.nodeSelector and, when present, the required node affinity (terms ORed).
bool MatchesNodeSelectorAndAffinity(const PodInfo& pod, const NodeInfo& node);

// ---- Filters ------------------------------------------------------------------------------------

std::optional<std::string> CheckNodeUnschedulable(const PodInfo& pod, const NodeInfo& node);
std::optional<std::string> CheckTaints(const PodInfo& pod, const NodeInfo& node);
std::optional<std::string> CheckNodeAffinity(const PodInfo& pod, const NodeInfo& node);
// One more pod would exceed allocatable pods.
std::optional<std::string> CheckPodCount(const PodInfo& pod, const NodeInfo& node);
// Every requested resource (> 0) exceeding allocatable - requested, cpu and memory first, then
// the other resources by name. A Pod requesting nothing always fits (even an overcommitted node).
std::vector<std::string> CheckResources(const PodInfo& pod, const NodeInfo& node);
// CheckPodCount then CheckResources: every NodeResourcesFit reason.
std::vector<std::string> CheckFit(const PodInfo& pod, const NodeInfo& node);

// All filters in order; the reasons of the first failing one, empty when the Pod fits.
std::vector<std::string> Filter(const PodInfo& pod, const NodeInfo& node);

}  // namespace capstan::controller::scheduler
