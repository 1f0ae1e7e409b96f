// One scheduling decision: filter every node, score the ones that fit, pick the best.
//
// Schedule() is a pure function of the Pod and the NodeInfos: no I/O, no clock, no randomness, so
// a decision can be replayed in a test. The controller around it (informers, the queue, the
// binding, events, conditions) does the rest:
//   - on a node: bind the Pod (pods/binding), NodeInfo::AddPod it at once (assume it, so the next
//     decision sees the node's new load before the watch confirms), RemovePod if binding fails;
//     emit a Normal "Scheduled" event with ScheduledMessage().
//   - on no node: set the PodScheduled=False condition (reason kReasonUnschedulable, message
//     Decision::message) and emit a Warning "FailedScheduling" event with the same message; retry
//     when Nodes (or pods on them) change.
//
// Tie-break: among the nodes with the highest total score, sorted by name, the one at index
// FNV-1a-64(pod key) mod count. The choice is thus stable for one Pod (retries land on the same
// node, tests are deterministic) and independent of the order of `nodes`, while different Pods
// spread over equally good nodes instead of all piling onto the alphabetically first one.
//
// Performance: the Pod is compiled once (PodInfo) and every per-node check reads cached NodeInfo
// fields, so a decision over ~100 nodes does no JSON parsing and no quantity parsing; with ≤100
// nodes every node is evaluated (as Kubernetes' percentageOfNodesToScore does at that size).
//
// Thread-safety: stateless functions; the NodeInfos must not change during the call.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/scheduler/node_info.h"
#include "controller/scheduler/pod_info.h"
#include "controller/scheduler/priorities.h"

namespace capstan::controller::scheduler {

inline constexpr char kDefaultSchedulerName[] = "default-scheduler";
// Event reasons and the PodScheduled condition's reason, as Kubernetes writes them.
inline constexpr char kEventScheduled[] = "Scheduled";
inline constexpr char kEventFailedScheduling[] = "FailedScheduling";
inline constexpr char kReasonPodUnschedulable[] = "Unschedulable";
// The message when there is no Node at all (Kubernetes' ErrNoNodesAvailable).
inline constexpr char kNoNodesAvailable[] = "no nodes available to schedule pods";

struct Decision {
  std::string node;     // the chosen Node's name; empty when no node fits
  std::string message;  // when `node` is empty: the FailedScheduling / PodScheduled message
};

// Filters and scores `nodes` (NodeInfos without a Node object are skipped and not counted).
Decision Schedule(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes, const ScoreWeights& weights = {});
// The same for a Pod object (compiles its PodInfo first).
Decision Schedule(const json& pod, const std::vector<const NodeInfo*>& nodes, const ScoreWeights& weights = {});

// Kubernetes' FitError text: "0/<num_nodes> nodes are available: <count> <reason>, ...." where
// the "<count> <reason>" strings are sorted as strings (Go's sort.Strings, so "10 x" < "2 y"), as
// Kubernetes prints them. A node contributes each of its reasons once.
std::string FailureMessage(size_t num_nodes, const std::map<std::string, int64_t>& reason_counts);

// "Successfully assigned <namespace>/<name> to <node>", the Scheduled event's message.
std::string ScheduledMessage(const json& pod, const std::string& node);

// status.phase is Succeeded or Failed.
bool IsTerminal(const json& pod);
// Whether this scheduler should place the Pod now: spec.nodeName empty, spec.schedulerName is
// `scheduler_name` (empty counts as the default scheduler), no spec.schedulingGates, not being
// deleted and not terminal.
bool NeedsScheduling(const json& pod, std::string_view scheduler_name = kDefaultSchedulerName);

// FNV-1a, 64 bit: stable across runs and platforms, unlike std::hash.
uint64_t Fnv1a64(std::string_view data);

}  // namespace capstan::controller::scheduler
