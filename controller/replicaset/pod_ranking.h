// Which Pods a ReplicaSet deletes first when it has too many: Kubernetes' ActivePodsWithRanks.
//
// The order (first = deleted first), each rule breaking the ties of the ones before it:
//   1. unassigned (no spec.nodeName) before assigned — it never ran, deleting it costs nothing;
//   2. phase Pending before Unknown before Running (any other phase ranks with Pending);
//   3. not ready before ready;
//   4. lower controller.kubernetes.io/pod-deletion-cost annotation first (absent = 0);
//   5. Pods on a node crowded with more of the given Pods first ("doubled up"), which spreads
//      the survivors across nodes; Kubernetes counts the Pods of every ReplicaSet of the same
//      owner, here the candidates themselves are counted (the caller passes one ReplicaSet's Pods);
//   6. both ready: ready for less time first (a missing ready time first of all);
//   7. more container restarts first;
//   8. newer creationTimestamp first (a missing one first of all);
//   9. name, so the order is total and deterministic.
// Kubernetes' LogarithmicScaleDown (rules 6 and 8 compared on a log2 scale, then a uid-derived
// random tie-break) is not modelled: exact comparisons are simpler to reason about and test, and
// only change which of two similarly aged Pods goes first.
//
// Thread-safety: stateless functions; the Pods are only read.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::controller::replicaset {

// A copy of `pods` sorted into deletion order (rules above). The pointers are shared, not copied.
std::vector<std::shared_ptr<const nlohmann::json>> RankPodsForDeletion(
    const std::vector<std::shared_ptr<const nlohmann::json>>& pods);

}  // namespace capstan::controller::replicaset
