// The scheduler's scores: among the nodes that passed Filter, which one should the Pod go to?
//
// Each score mirrors a plugin of Kubernetes' default profile, ends up in 0..kMaxNodeScore (higher
// is better), and is combined into a weighted sum with Kubernetes' default weights:
//   - LeastAllocated (NodeResourcesFit, weight 1): the mean over cpu and memory of the fraction
//     left free after placing the Pod, ((allocatable - requested) * 100) / allocatable, using the
//     non-zero requests (pod_info.h) so that pods without requests still count; a resource the
//     node does not report (allocatable 0) is left out of the mean.
//   - Spread (weight 2, standing in for SelectorSpread / the default PodTopologySpread by
//     hostname): the number of pods on the node controlled by the same owner (same controller
//     ownerReference uid), normalized in reverse over the candidate nodes: fewest gets 100, the
//     node with the most gets 0. Pods without a controller score 100 everywhere.
//   - TaintToleration (weight 3): the number of PreferNoSchedule taints the Pod does not
//     tolerate, normalized in reverse.
//   - NodeAffinity (weight 2): the summed weights of the matching preferred node affinity terms,
//     normalized so the best node gets 100.
// Normalizing is Kubernetes' DefaultNormalizeScore: score * 100 / max over the candidates (and
// 100 - that when reversed); when every raw score is 0, reversed scores are all 100 and forward
// ones all 0.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <vector>

#include "controller/scheduler/node_info.h"
#include "controller/scheduler/pod_info.h"

namespace capstan::controller::scheduler {

inline constexpr int64_t kMaxNodeScore = 100;

// Weights of the scores in the sum; a weight of 0 turns a score off.
struct ScoreWeights {
  int64_t least_allocated = 1;
  int64_t spread = 2;
  int64_t taint_toleration = 3;
  int64_t node_affinity = 2;
};

// 0..100 directly (no normalization needed).
int64_t LeastAllocatedScore(const PodInfo& pod, const NodeInfo& node);
// Raw scores, normalized by ScoreNodes.
int64_t SameOwnerPodCount(const PodInfo& pod, const NodeInfo& node);
int64_t IntolerablePreferNoScheduleCount(const PodInfo& pod, const NodeInfo& node);
int64_t PreferredAffinityWeight(const PodInfo& pod, const NodeInfo& node);

// DefaultNormalizeScore(kMaxNodeScore, reverse, scores), in place.
void NormalizeScores(std::vector<int64_t>* scores, bool reverse);

// The weighted sum of all scores for each of `nodes` (same order). The nodes are the candidates
// that passed Filter: normalization is relative to them.
std::vector<int64_t> ScoreNodes(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                                const ScoreWeights& weights = {});

}  // namespace capstan::controller::scheduler
