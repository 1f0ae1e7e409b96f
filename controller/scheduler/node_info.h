// NodeInfo: the scheduler's view of one Node and the Pods it holds or is about to hold.
//
// A NodeInfo parses what the filters and scores read from the Node once, when the Node is set
// (allocatable, taints, labels, unschedulable), and keeps running totals of its Pods' requests,
// so that one scheduling decision over a hundred nodes does no JSON parsing at all.
//
// Invariants (kept by AddPod/RemovePod, which are the only way to change the pods):
//   - requested() is the sum of pods()[i].requests, and requested().pods == pods().size();
//     non_zero_requested() likewise sums the scoring variant.
//   - OwnerCount(uid) is the number of pods() whose controller uid is `uid`.
//   - pods() holds at most one entry per PodKey: adding a Pod whose key is present replaces the
//     entry. That is what lets the scheduler "assume" a Pod onto the node right after its binding
//     succeeds and then add it again when the watch confirms it, without counting it twice.
//   - taints() is spec.taints followed by the NoSchedule taints that Kubernetes' node lifecycle
//     controller derives from conditions (TaintNodesByCondition) when the Node does not carry
//     them already: Ready False or missing -> node.kubernetes.io/not-ready, Ready Unknown ->
//     node.kubernetes.io/unreachable, MemoryPressure / DiskPressure / PIDPressure /
//     NetworkUnavailable True -> node.kubernetes.io/{memory,disk,pid}-pressure and
//     network-unavailable. Readiness is thus a taint, as in Kubernetes: a Pod that tolerates
//     not-ready may land on a NotReady node, and the reason reads the way Kubernetes prints it.
//   - allocatable() is status.allocatable (or status.capacity when allocatable is absent); a
//     Node that reports no "pods" allocatable gets 110, the kubelet's default maxPods, so that a
//     hand-written Node is not rejected with "Too many pods" for a field nobody filled in.
//
// What the caller (the scheduler controller) must do: keep one NodeInfo per Node, SetNode on every
// Node add/update, AddPod for every bound, non-terminal Pod (spec.nodeName == this node) and for
// every Pod it has just bound, RemovePod when a Pod is deleted, becomes terminal, or its binding
// failed. A NodeInfo may hold pods before its Node arrives (has_node() false); Schedule skips it.
//
// Thread-safety: none; a NodeInfo is owned by one scheduling thread (or guarded by the caller).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "controller/scheduler/pod_info.h"

namespace capstan::controller::scheduler {

inline constexpr int64_t kDefaultMaxPods = 110;

// Taint keys Kubernetes uses for node conditions and cordoning.
inline constexpr char kTaintNotReady[] = "node.kubernetes.io/not-ready";
inline constexpr char kTaintUnreachable[] = "node.kubernetes.io/unreachable";
inline constexpr char kTaintUnschedulable[] = "node.kubernetes.io/unschedulable";
inline constexpr char kTaintMemoryPressure[] = "node.kubernetes.io/memory-pressure";
inline constexpr char kTaintDiskPressure[] = "node.kubernetes.io/disk-pressure";
inline constexpr char kTaintPidPressure[] = "node.kubernetes.io/pid-pressure";
inline constexpr char kTaintNetworkUnavailable[] = "node.kubernetes.io/network-unavailable";

struct Taint {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule or NoExecute
};

class NodeInfo {
 public:
  // What the node remembers about each Pod: enough to undo its contribution without re-parsing.
  struct PodEntry {
    std::shared_ptr<const json> pod;  // may be null when added from a PodInfo alone
    std::string key;
    std::string owner_uid;
    Resources requests;
    Resources non_zero;
  };

  NodeInfo() = default;
  explicit NodeInfo(std::shared_ptr<const json> node) { SetNode(std::move(node)); }

  // Sets or replaces the Node object (re-parsing its fields); the pods are kept.
  void SetNode(std::shared_ptr<const json> node);

  bool has_node() const { return node_ != nullptr; }
  const json& node() const;          // the Node object; an empty object before SetNode
  const std::string& name() const { return name_; }
  const json* labels() const { return labels_; }  // metadata.labels, or nullptr
  bool unschedulable() const { return unschedulable_; }
  const std::vector<Taint>& taints() const { return taints_; }
  const Resources& allocatable() const { return allocatable_; }
  const Resources& requested() const { return requested_; }
  const Resources& non_zero_requested() const { return non_zero_requested_; }
  const std::vector<PodEntry>& pods() const { return pods_; }

  // The number of pods on this node controlled by the owner with this uid (0 for "").
  int64_t OwnerCount(std::string_view owner_uid) const;

  // Adds a Pod, or replaces the Pod with the same PodKey. The first form parses the Pod; the
  // second reuses a PodInfo already computed for it (the assume-after-binding path).
  void AddPod(std::shared_ptr<const json> pod);
  void AddPod(std::shared_ptr<const json> pod, const PodInfo& info);
  // Removes the Pod with this key; false when the node does not hold it.
  bool RemovePod(std::string_view key);
  bool HasPod(std::string_view key) const;

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Constant between SetNode calls.
  std::shared_ptr<const json> node_;
  std::string name_;
  const json* labels_ = nullptr;  // points into *node_
  bool unschedulable_ = false;
  std::vector<Taint> taints_;
  Resources allocatable_;

  // Changed by AddPod/RemovePod only; see the invariants above.
  std::vector<PodEntry> pods_;
  // key -> index in pods_: a node may hold thousands of Pods and every bind touches one.
  std::unordered_map<std::string, size_t, KeyHash, std::equal_to<>> index_;
  Resources requested_;
  Resources non_zero_requested_;
  std::map<std::string, int64_t, std::less<>> owner_counts_;  // no zero entries
};

}  // namespace capstan::controller::scheduler
