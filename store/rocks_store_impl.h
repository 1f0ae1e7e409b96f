// RocksStore's private class. The public contract is store/store.h and store/rocks_store.h.
//
// Threads:
//   * callers: reads (Get, List, Backup, watch replay) go straight to RocksDB; writes queue a
//     PendingWrite and block until the committer completes it.
//   * the committer (one): drains the queue, builds one WriteBatch (BatchBuilder), writes it with
//     one WAL fsync, publishes the events to the WatchHub, then completes the writers. It is the
//     only writer of "kv" and of meta's current revision, so it reads committed state without
//     locks and revisions come out contiguous.
//   * maintenance (one, if compaction_interval > 0): compacts the log by count and age and
//     releases expired list snapshots.
//
// Lock order: lifecycle_mu_ (shared) -> compaction_mu_ -> WatchHub's locks; queue_mu_,
// snapshots_mu_ and maintenance_mu_ are leaves. Every use of db_ outside the committer holds
// lifecycle_mu_ shared; Shutdown closes db_ holding it exclusively, after the committer and
// maintenance threads have been joined.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/db.h>

#include "store/rocks_store.h"
#include "store/store.h"
#include "store/watch_hub.h"

namespace capstan::store {

class RocksStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const RocksStoreOptions& opts);

  ~RocksStore() override;

  Result<KeyValue> Get(const std::string& key) override;
  Result<ListResult> List(const std::string& prefix, const ListOptions& opts) override;
  Result<WriteResult> Create(const std::string& key, const std::string& value) override;
  Result<WriteResult> Update(const std::string& key, const std::string& value, Precondition pre) override;
  Result<WriteResult> Delete(const std::string& key, Precondition pre) override;
  Result<std::vector<WriteResult>> Txn(const std::vector<Op>& ops) override;
  void TxnAsync(std::vector<Op> ops, TxnCallback done) override;
  Result<std::unique_ptr<Watch>> StartWatch(const WatchOptions& opts) override;
  int64_t CurrentRevision() override;
  int64_t CompactedRevision() override;
  Status Compact(int64_t revision) override;
  Status Backup(const std::string& dir) override;
  StoreStats Stats() override;
  void Shutdown() override;

 private:
  // One caller's write, waiting for the committer. A blocking write's lives on the caller's
  // stack; an async write's (callback set) on the heap, owned by the queue until completed.
  struct PendingWrite {
    const std::vector<Op>* ops = nullptr;
    std::vector<Op> owned_ops;  // an async write's ops (`ops` points here)
    TxnCallback callback;       // set: async; the committer calls it and deletes the write
    std::mutex mu;
    std::condition_variable done_cv;
    bool done = false;  // guarded by mu
    std::optional<Result<std::vector<WriteResult>>> result;  // set before done
  };

  struct ListSnapshot {
    std::shared_ptr<const rocksdb::Snapshot> snapshot;
    std::chrono::steady_clock::time_point expires;
  };

  RocksStore(std::string dir, const RocksStoreOptions& opts, rocksdb::DB* db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles, int64_t revision, int64_t compacted);

  // rocks_store_commit.cc
  Result<std::vector<WriteResult>> Submit(const std::vector<Op>& ops);
  Result<WriteResult> SubmitOne(Op op);
  void CommitLoop();
  void CommitBatch(const std::vector<PendingWrite*>& writes);
  Result<std::optional<KeyValue>> ReadCommitted(const std::string& key);
  // Queues the log's events after w's last revision into w. Requires lifecycle_mu_ (shared).
  Status ReplayLog(Watcher* w);
  void MaintenanceLoop();
  // Compacts by RocksStoreOptions' count and age limits.
  Status CompactByPolicy();
  // Requires lifecycle_mu_ (shared).
  Status CompactLocked(int64_t revision);

  // rocks_store.cc
  Result<int64_t> RevisionAt(const rocksdb::Snapshot* snapshot);
  std::shared_ptr<const rocksdb::Snapshot> TakeSnapshot();
  void ExpireSnapshots(std::chrono::steady_clock::time_point now);
  void CloseDb();

  // Constant after construction (db_ and the handles until CloseDb, under lifecycle_mu_).
  const std::string dir_;
  const RocksStoreOptions opts_;
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, kv, log, meta
  rocksdb::ColumnFamilyHandle* kv_;
  rocksdb::ColumnFamilyHandle* log_;
  rocksdb::ColumnFamilyHandle* meta_;
  const std::shared_ptr<WatchHub> hub_;

  std::shared_mutex lifecycle_mu_;
  bool db_closed_ = false;                 // guarded by lifecycle_mu_
  std::atomic<bool> shutting_down_{false};  // set first by Shutdown; refuses new calls
  std::mutex shutdown_mu_;                 // serializes Shutdown

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<PendingWrite*> queue_;  // guarded by queue_mu_
  bool stopping_ = false;            // guarded by queue_mu_; no new writes once set
  std::thread committer_;

  // Written by the committer after each durable batch; read anywhere.
  std::atomic<int64_t> revision_;
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> writes_{0};

  // Held across a log compaction and while a watch replay opens its log iterator, so a replay
  // never starts below the compacted revision. compacted_ changes only with it held.
  std::mutex compaction_mu_;
  std::atomic<int64_t> compacted_;

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool maintenance_stop_ = false;  // guarded by maintenance_mu_
  std::thread maintenance_;

  std::mutex snapshots_mu_;
  std::map<int64_t, ListSnapshot> snapshots_;  // guarded by snapshots_mu_; by revision
};

}  // namespace capstan::store
