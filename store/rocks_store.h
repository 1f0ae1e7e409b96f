// RocksStore: Store on an embedded RocksDB in one directory.
//
// Durability: group commit. Concurrent writers hand their ops to one committer thread, which
// checks preconditions in order, assigns consecutive revisions, and writes every waiting op in
// one WriteBatch with sync=true (one WAL fsync), then wakes the writers and publishes the events
// to watchers. A write returns only after its batch is durable.
//
// Layout (column families): "kv" key -> (create_rev, mod_rev, value); "log" big-endian revision ->
// event; "meta" -> current and compacted revision. The log is compacted in the background by
// count and age (RocksStoreOptions).
//
// Paginated lists at an older revision read from a RocksDB snapshot kept for
// `list_snapshot_ttl` after the first page; afterwards they fail with kExpired (as a Kubernetes
// continue token does after etcd compaction). A list at a revision newer than the store's fails
// with kTimeout (Kubernetes' "too large resource version": retry later).
//
// Watches: a watch started at an old revision replays history from the in-memory cache when it
// reaches back far enough, else from the log. Replayed history is queued even if it exceeds
// WatchOptions::buffer; the watch overflows (kExpired) only if the buffer is still full when the
// next live event arrives. The notify callback runs on the committer thread (for live events and
// shutdown) or on the thread that calls Cancel().
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store/store.h"

namespace capstan::store {

struct RocksStoreOptions {
  // Keep at most this many events in the log (default 100,000); older ones are compacted.
  int64_t log_max_events = 100000;
  // Compact events older than this (default 1 hour), never below log_min_events.
  std::chrono::seconds log_max_age{3600};
  // Always keep at least this many recent events, whatever their age.
  int64_t log_min_events = 1000;
  // How often the background compactor runs (default 30 s). Zero disables it.
  std::chrono::milliseconds compaction_interval{30000};
  // How long a list snapshot for pagination is kept (default 5 minutes).
  std::chrono::seconds list_snapshot_ttl{300};
  // Recent events kept in memory to start watches without reading the log (default 20,000).
  size_t event_cache = 20000;
  // Memory for memtables, shared by all column families (default 64 MiB); a family flushes when it
  // reaches a quarter of it or the total is reached.
  size_t memtable_budget_bytes = 64u << 20;
  // fsync each batch (default true). Only benchmarks of the non-durable path turn it off.
  bool sync = true;
};

// Opens (creating if needed) the store in `dir`. Only one process may open a directory at a time:
// a second Open fails with kUnavailable naming the lock holder (RocksDB's LOCK file).
Result<std::unique_ptr<Store>> OpenRocksStore(const std::string& dir, const RocksStoreOptions& opts = {});

}  // namespace capstan::store
