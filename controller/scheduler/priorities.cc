#include "controller/scheduler/priorities.h"

#include <algorithm>
#include <cstdint>

#include "controller/scheduler/predicates.h"

namespace capstan::controller::scheduler {

namespace {

// leastRequestedScore: the free share of one resource after placing the pod, 0 when it overflows.
int64_t FreeShare(int64_t requested, int64_t allocatable) {
  if (allocatable <= 0 || requested > allocatable) return 0;
  // (allocatable - requested) * 100 overflows only beyond ~92 PB of memory; divide first there.
  int64_t free = allocatable - requested;
  if (free > INT64_MAX / kMaxNodeScore) return free / (allocatable / kMaxNodeScore);
  return free * kMaxNodeScore / allocatable;
}

}  // namespace

int64_t LeastAllocatedScore(const PodInfo& pod, const NodeInfo& node) {
  const Resources& alloc = node.allocatable();
  const Resources& used = node.non_zero_requested();
  int64_t sum = 0, weight = 0;
  if (alloc.milli_cpu > 0) {
    sum += FreeShare(used.milli_cpu + pod.non_zero.milli_cpu, alloc.milli_cpu);
    ++weight;
  }
  if (alloc.memory_bytes > 0) {
    sum += FreeShare(used.memory_bytes + pod.non_zero.memory_bytes, alloc.memory_bytes);
    ++weight;
  }
  return weight == 0 ? 0 : sum / weight;
}

int64_t SameOwnerPodCount(const PodInfo& pod, const NodeInfo& node) { return node.OwnerCount(pod.owner_uid); }

int64_t IntolerablePreferNoScheduleCount(const PodInfo& pod, const NodeInfo& node) {
  // Kubernetes keeps only tolerations with an empty or PreferNoSchedule effect here; ToleratesTaint
  // already requires the effect to match, so all tolerations can be passed.
  int64_t count = 0;
  for (const Taint& taint : node.taints()) {
    if (taint.effect == "PreferNoSchedule" && !TolerationsTolerateTaint(pod.tolerations, taint)) ++count;
  }
  return count;
}

int64_t PreferredAffinityWeight(const PodInfo& pod, const NodeInfo& node) {
  int64_t sum = 0;
  for (const PreferredTerm& p : pod.preferred_terms) {
    if (TermMatches(p.term, node)) sum += p.weight;
  }
  return sum;
}

void NormalizeScores(std::vector<int64_t>* scores, bool reverse) {
  int64_t max = 0;
  for (int64_t s : *scores) max = std::max(max, s);
  if (max == 0) {
    if (reverse) std::fill(scores->begin(), scores->end(), kMaxNodeScore);
    return;
  }
  for (int64_t& s : *scores) {
    s = kMaxNodeScore * s / max;
    if (reverse) s = kMaxNodeScore - s;
  }
}

std::vector<int64_t> ScoreNodes(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                                const ScoreWeights& weights) {
  const size_t n = nodes.size();
  std::vector<int64_t> total(n, 0);
  // One raw score at a time, then normalized across the candidates and added with its weight.
  auto add = [&](int64_t weight, bool normalize, bool reverse, auto raw) {
    if (weight == 0) return;
    std::vector<int64_t> s(n);
    for (size_t i = 0; i < n; ++i) s[i] = raw(pod, *nodes[i]);
    if (normalize) NormalizeScores(&s, reverse);
    for (size_t i = 0; i < n; ++i) total[i] += weight * s[i];
  };
  add(weights.least_allocated, false, false, LeastAllocatedScore);
  add(weights.spread, true, true, SameOwnerPodCount);
  add(weights.taint_toleration, true, true, IntolerablePreferNoScheduleCount);
  // Without preferred terms every raw score is 0 and normalizes to 0: skipping it is exact.
  if (!pod.preferred_terms.empty()) add(weights.node_affinity, true, false, PreferredAffinityWeight);
  return total;
}

}  // namespace capstan::controller::scheduler
