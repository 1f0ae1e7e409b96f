// ControllerExpectations: what a controller is still waiting to see in its cache, per key.
//
// Why: a controller acts on its informer cache, which lags its own writes. Right after it POSTs
// three Pods, the cache may still show none, and a second reconcile would create three more. So
// before acting it records what it expects to observe (ExpectCreations / ExpectDeletions); the
// informer's event handlers lower the counts as the Pods appear or vanish (CreationObserved /
// DeletionObserved); and the reconcile only creates or deletes when Satisfied(key). It still
// adopts, releases and writes status while unsatisfied.
//
// Kubernetes' semantics (pkg/controller/controller_utils.go, ControllerExpectations together with
// UIDTrackingControllerExpectations):
//   * ExpectCreations / ExpectDeletions replace the key's record (they do not add to it) and
//     stamp it with now().
//   * Deletions are tracked by Pod uid, so a Pod whose deletion is observed twice (an update
//     setting deletionTimestamp, then the delete event) is counted once; a uid never expected
//     is ignored.
//   * Satisfied(key): true when there is no record (nothing was ever expected, or the key was
//     deleted), when both counts are <= 0, or when the record is older than the TTL (5 minutes):
//     a lost watch event must not block the controller forever — it then acts on whatever the
//     cache shows and sets fresh expectations.
//   * Counts may go negative (an observation that arrives after the record was replaced); a
//     negative count is satisfied, as in Kubernetes.
//
// Keys are opaque strings; controllers use "namespace/name" of the owner.
//
// Thread-safety: every method is thread-safe (one mutex; the `now` function is called under it
// and must not call back into this object).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace capstan::controller::replicaset {

class ControllerExpectations {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using NowFn = std::function<TimePoint()>;

  // Kubernetes' ExpectationsTimeout.
  static constexpr std::chrono::minutes kDefaultTtl{5};

  // `now` defaults to steady_clock::now; tests inject a fake (a controller::Clock's Now() fits).
  explicit ControllerExpectations(NowFn now = nullptr, std::chrono::steady_clock::duration ttl = kDefaultTtl);

  ControllerExpectations(const ControllerExpectations&) = delete;
  ControllerExpectations& operator=(const ControllerExpectations&) = delete;

  // Before creating `n` Pods for `key`. Replaces any record.
  void ExpectCreations(const std::string& key, int64_t n);
  // Before deleting the Pods with these uids. Replaces any record.
  void ExpectDeletions(const std::string& key, const std::vector<std::string>& uids);

  // A Pod of `key` appeared in the cache — or a create was skipped or failed, so it never will:
  // lowers the pending creations by `n`. No record: no-op.
  void CreationObserved(const std::string& key, int64_t n = 1);
  // A Pod's deletion was observed (or its delete failed with NotFound): lowers the pending
  // deletions by one if `uid` was expected. No record, or a uid not expected: no-op.
  void DeletionObserved(const std::string& key, const std::string& uid);

  // Whether the controller may create or delete for `key` now (see the header comment).
  bool Satisfied(const std::string& key) const;

  // Forgets the key (the owner was deleted).
  void Delete(const std::string& key);

  // The uids whose deletion `key` still expects (empty without a record, or once it expired):
  // Pods the cache may still show as active although their delete was already sent.
  std::unordered_set<std::string> PendingDeletions(const std::string& key) const;

  // For tests and debugging: the pending counts of a key, or std::nullopt without a record.
  struct Pending {
    int64_t add = 0;
    int64_t del = 0;
  };
  std::optional<Pending> Get(const std::string& key) const;

 private:
  struct Record {
    int64_t add = 0;
    int64_t del = 0;
    std::unordered_set<std::string> deleting;  // uids whose deletion is still expected
    TimePoint stamped;
  };

  // Constant after construction.
  const NowFn now_;
  const std::chrono::steady_clock::duration ttl_;

  mutable std::mutex mu_;
  // Protected by mu_. Invariant: a record's `del` counts down together with `deleting` (only
  // uids in `deleting` lower it), so del == deleting.size() unless the record was replaced.
  std::unordered_map<std::string, Record> records_;
};

}  // namespace capstan::controller::replicaset
