// BatchBuilder: turns the writes waiting for one group commit into one rocksdb::WriteBatch.
// Private to store/.
//
// Each write (a single op or a Txn) is checked against the committed state plus the writes added
// before it to the same batch, so later writers in a batch see earlier ones exactly as if they
// had committed one by one. A write that fails a check adds nothing. Accepted ops get
// consecutive revisions after `base_revision`; the batch also carries their log entries and the
// new current revision in "meta", so the kv state, the log and the revision become durable
// together.
//
// Thread-safety: not thread-safe; used by the committer thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <rocksdb/write_batch.h>

#include "base/status.h"
#include "store/store.h"

namespace rocksdb {
class ColumnFamilyHandle;
}

namespace capstan::store {

class BatchBuilder {
 public:
  // Reads the committed state of a key: nullopt when absent.
  using CommittedReader = std::function<Result<std::optional<KeyValue>>(const std::string& key)>;

  struct Families {
    rocksdb::ColumnFamilyHandle* kv = nullptr;
    rocksdb::ColumnFamilyHandle* log = nullptr;
    rocksdb::ColumnFamilyHandle* meta = nullptr;
  };

  BatchBuilder(int64_t base_revision, int64_t commit_unix_ms, CommittedReader reader, Families families);

  // Adds one write: all of `ops` or none. Returns one WriteResult per op, or the Status of the
  // first op that fails (kAlreadyExists, kNotFound, kConflict, kBadRequest for repeated keys,
  // kInternal when the reader fails). The memos of accepted ops are stamped with their
  // revisions here, and carried by their events.
  Result<std::vector<WriteResult>> Add(const std::vector<Op>& ops);

  // The revision of the last accepted op (base_revision when none).
  int64_t revision() const { return revision_; }
  // Ops accepted so far.
  int64_t ops() const { return static_cast<int64_t>(events_.size()); }
  // The events of the accepted ops, in revision order.
  const std::vector<EventPtr>& events() const { return events_; }

  // Finishes the batch (adds the meta revision) and hands it over. Call once, after the Adds.
  rocksdb::WriteBatch* Finish();

 private:
  // The state of a key as seen by the next write: committed, or overwritten in this batch.
  Result<std::optional<KeyValue>> Current(const std::string& key);

  // Constant after construction.
  const int64_t commit_unix_ms_;
  const CommittedReader reader_;
  const Families families_;

  int64_t revision_;
  rocksdb::WriteBatch batch_;
  std::vector<EventPtr> events_;
  // Keys written by accepted ops of this batch; nullopt: deleted.
  std::unordered_map<std::string, std::optional<KeyValue>> overlay_;
};

}  // namespace capstan::store
