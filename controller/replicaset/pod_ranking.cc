#include "controller/replicaset/pod_ranking.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <string>

#include "controller/replicaset/object_util.h"

namespace capstan::controller::replicaset {
namespace {

int PhaseOrdinal(const std::string& phase) {
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 0;  // Pending and anything unexpected, as Kubernetes' map lookup defaults to 0
}

int64_t DeletionCost(const json& pod) {
  auto v = Annotation(pod, "controller.kubernetes.io/pod-deletion-cost");
  if (!v) return 0;
  // Invalid costs are rejected by validation in Kubernetes; here they read as the default.
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  return ec == std::errc() && end == v->data() + v->size() ? n : 0;
}

// Everything a comparison needs, read once per Pod.
struct Key {
  std::shared_ptr<const json> pod;
  bool assigned;
  int phase;
  bool ready;
  int64_t cost;
  int colocated;
  std::optional<TimePoint> ready_since;
  int64_t restarts;
  std::optional<TimePoint> created;
  std::string name;
};

// "t1 goes first": a missing time before a present one, then the later time (afterOrZero).
// Only called when the two differ.
bool LaterOrMissingFirst(const std::optional<TimePoint>& a, const std::optional<TimePoint>& b) {
  if (!a || !b) return !a;
  return *a > *b;
}

bool Less(const Key& a, const Key& b) {
  if (a.assigned != b.assigned) return !a.assigned;
  if (a.phase != b.phase) return a.phase < b.phase;
  if (a.ready != b.ready) return !a.ready;
  if (a.cost != b.cost) return a.cost < b.cost;
  if (a.colocated != b.colocated) return a.colocated > b.colocated;
  if (a.ready && b.ready && a.ready_since != b.ready_since) return LaterOrMissingFirst(a.ready_since, b.ready_since);
  if (a.restarts != b.restarts) return a.restarts > b.restarts;
  if (a.created != b.created) return LaterOrMissingFirst(a.created, b.created);
  return a.name < b.name;
}

}  // namespace

std::vector<std::shared_ptr<const json>> RankPodsForDeletion(const std::vector<std::shared_ptr<const json>>& pods) {
  std::map<std::string, int> per_node;
  for (const auto& p : pods) {
    std::string node = StringAt(At(*p, "spec"), "nodeName");
    if (!node.empty()) ++per_node[node];
  }
  std::vector<Key> keys;
  keys.reserve(pods.size());
  for (const auto& p : pods) {
    const json& pod = *p;
    std::string node = StringAt(At(pod, "spec"), "nodeName");
    keys.push_back(Key{p, !node.empty(), PhaseOrdinal(StringAt(At(pod, "status"), "phase")), IsPodReady(pod),
                       DeletionCost(pod), node.empty() ? 0 : per_node[node], PodReadySince(pod),
                       MaxContainerRestarts(pod), CreationTime(pod), Meta(pod, "name")});
  }
  std::sort(keys.begin(), keys.end(), Less);
  std::vector<std::shared_ptr<const json>> out;
  out.reserve(keys.size());
  for (auto& k : keys) out.push_back(std::move(k.pod));
  return out;
}

}  // namespace capstan::controller::replicaset
