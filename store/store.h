// Store: the revisioned key-value contract that Capstan's API layer is written against.
//
// RocksStore (embedded RocksDB) implements it now; an etcd backend will implement it later, so
// nothing here may assume RocksDB. The model is etcd v3's:
//   * One global revision, starting at 1 for an empty store. Every committed change (create,
//     update, delete) gets the next revision; the revision never goes backwards, also across
//     restarts and crashes. An object's mod_revision is its Kubernetes metadata.resourceVersion.
//   * Writes are atomic, checked against preconditions, and acknowledged only once durable
//     (fsync'd): after a successful return, the change survives kill -9 and power loss.
//   * Every change is appended to an event log keyed by revision. Watches replay from any
//     retained revision, then follow live changes: in revision order, with no gap and no
//     duplicate. Revisions older than the compacted revision fail with Code::kExpired.
//   * Values are opaque bytes to the store. The API layer does not store resourceVersion inside
//     the value; it injects mod_revision when it decodes (as the Kubernetes etcd3 storage does).
//
// Thread-safety: every method of Store and Watch may be called from any thread concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace capstan::store {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // revision of the write that created the key
  int64_t mod_revision = 0;     // revision of the last write to the key
};

enum class EventType { kPut, kDelete };

// Something a writer attaches to an op (Op::memo) that travels, untouched, with the op's Event
// (Event::memo) to the watchers. Why: the API layer encodes an object into the value and already
// holds that object; its watches would otherwise parse the value back, once per write.
// The store calls Stamp(revision) exactly once, on its commit thread, after the op was accepted
// and before its event is published (the memo may then say what the revision is); a write that
// fails after that is answered with an error and its event never published. From the stamp on
// the writer must not change the memo, which watchers may read from any thread.
// In memory only: events replayed from the log, and backends that cannot carry a memo (a remote
// store), have none, so a consumer must always be able to do without.
class WriteMemo {
 public:
  virtual ~WriteMemo() = default;
  virtual void Stamp(int64_t revision) = 0;
};

// One committed change. Shared between watchers (immutable once published).
struct Event {
  EventType type = EventType::kPut;
  int64_t revision = 0;         // == kv.mod_revision for puts; the deleting revision for deletes
  KeyValue kv;                  // the new state; for deletes, key and the deleted value
  bool has_prev = false;        // false for a create
  KeyValue prev;                // the state before this change (needed to map selector transitions)
  std::shared_ptr<const WriteMemo> memo;  // the op's memo, if it had one (see WriteMemo)
};
using EventPtr = std::shared_ptr<const Event>;

struct ListOptions {
  int64_t limit = 0;            // 0: no limit
  std::string start_key;        // continue from this key (inclusive); must lie under the prefix
  int64_t revision = 0;         // 0: the latest; else read at this revision (a later page of a
                                // paginated list). kExpired if no longer available.
};

struct ListResult {
  std::vector<KeyValue> items;  // ordered by key
  int64_t revision = 0;         // the revision the list was read at
  std::string next_key;         // empty when no more; else the key to pass as start_key
  int64_t remaining = -1;       // items left after this page, when cheap to know; -1 unknown
};

// A write precondition: the key's current mod_revision must equal `revision` (0: no condition).
struct Precondition {
  int64_t revision = 0;
};

// One pending change inside a Txn.
struct Op {
  enum class Kind { kCreate, kUpdate, kDelete } kind = Kind::kCreate;
  std::string key;
  std::string value;            // unused for deletes
  Precondition pre;             // for update/delete; a create requires absence
  std::shared_ptr<WriteMemo> memo;  // optional (see WriteMemo)
};

// The outcome of a committed write.
struct WriteResult {
  int64_t revision = 0;         // the revision of the write
  KeyValue prev;                // state before (empty for create)
};

// A live watch. Events are queued in a bounded buffer; the store never blocks on a slow watcher:
// when the buffer overflows, the watch is closed with Code::kExpired ("too slow, re-list") and
// the consumer must list again. The notify callback of WatchOptions is how an async consumer
// (a coroutine, an event loop) learns that Poll() has something: it is called, from the writer's
// thread, after new events were queued or the watch closed. It must be cheap and must not call
// back into the store (post to your executor instead).
class Watch {
 public:
  virtual ~Watch() = default;

  // Moves up to `max` queued events into *out (appending). Returns the number moved.
  virtual size_t Poll(std::vector<EventPtr>* out, size_t max) = 0;

  // Blocks up to `timeout` for at least one event or closure; then as Poll. For tests and
  // threaded consumers; never call it on an event-loop thread.
  virtual size_t Wait(std::vector<EventPtr>* out, size_t max, std::chrono::milliseconds timeout) = 0;

  // True once the watch ended (Cancel, overflow, store shutdown); Poll then drains what is left.
  virtual bool Closed() const = 0;
  // Why it closed: OK after Cancel(), kExpired on overflow, kUnavailable on shutdown.
  virtual Status CloseReason() const = 0;

  // Stops delivery and releases the watcher's slot. Idempotent.
  virtual void Cancel() = 0;
};

struct WatchOptions {
  std::string prefix;           // keys starting with this
  int64_t start_revision = 0;   // deliver events with revision > start_revision; 0: from now
  size_t buffer = 10000;        // max queued events before the watch is closed as too slow
  std::function<void()> notify; // optional; see Watch
};

struct StoreStats {
  int64_t revision = 0;
  int64_t compacted_revision = 0;
  int64_t watchers = 0;
  int64_t commits = 0;          // write batches (fsyncs)
  int64_t writes = 0;           // individual ops committed
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<KeyValue> Get(const std::string& key) = 0;  // kNotFound when absent
  virtual Result<ListResult> List(const std::string& prefix, const ListOptions& opts) = 0;

  // Single-key writes. Create fails with kAlreadyExists; Update and Delete fail with kNotFound
  // when absent and kConflict when the precondition does not hold.
  virtual Result<WriteResult> Create(const std::string& key, const std::string& value) = 0;
  virtual Result<WriteResult> Update(const std::string& key, const std::string& value,
                                     Precondition pre = {}) = 0;
  virtual Result<WriteResult> Delete(const std::string& key, Precondition pre = {}) = 0;

  // All ops commit together, each at its own consecutive revision, or none does (the first
  // failing op's Status is returned). Keys must be distinct.
  virtual Result<std::vector<WriteResult>> Txn(const std::vector<Op>& ops) = 0;

  // Txn without waiting: `done` gets exactly what Txn would have returned, exactly once, once
  // the ops are durable (or failed). It runs on the store's commit thread (or on the caller's,
  // when the store is shut down), so it must be quick and must not block; it may start another
  // TxnAsync but must not call the blocking writes. Why: an event-loop caller can then wait for
  // a group commit without a thread of its own. The default runs Txn on the caller's thread.
  using TxnCallback = std::function<void(Result<std::vector<WriteResult>>)>;
  virtual void TxnAsync(std::vector<Op> ops, TxnCallback done) { done(Txn(ops)); }

  virtual Result<std::unique_ptr<Watch>> StartWatch(const WatchOptions& opts) = 0;

  virtual int64_t CurrentRevision() = 0;
  // Events at or below this revision have been compacted away.
  virtual int64_t CompactedRevision() = 0;
  // Drops log entries with revision <= `revision` (the current revision is always kept).
  virtual Status Compact(int64_t revision) = 0;

  // A consistent, openable copy of the whole store at `dir` (which must not exist), taken online.
  virtual Status Backup(const std::string& dir) = 0;

  virtual StoreStats Stats() = 0;

  // Closes every watch (kUnavailable) and fails later calls; in-flight writes finish first.
  virtual void Shutdown() = 0;
};

}  // namespace capstan::store
