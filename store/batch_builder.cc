#include "store/batch_builder.h"

#include <unordered_set>

#include "store/rocks_codec.h"

namespace capstan::store {

BatchBuilder::BatchBuilder(int64_t base_revision, int64_t commit_unix_ms, CommittedReader reader,
                           Families families)
    : commit_unix_ms_(commit_unix_ms),
      reader_(std::move(reader)),
      families_(families),
      revision_(base_revision) {}

Result<std::optional<KeyValue>> BatchBuilder::Current(const std::string& key) {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return it->second;
  return reader_(key);
}

Result<std::vector<WriteResult>> BatchBuilder::Add(const std::vector<Op>& ops) {
  if (ops.empty()) return std::vector<WriteResult>{};
  std::unordered_set<std::string_view> keys;
  for (const Op& op : ops) {
    if (op.key.empty()) return Status::BadRequest("empty key");
    if (!keys.insert(op.key).second) return Status::BadRequest("key \"" + op.key + "\" repeated in one transaction");
  }

  // Check every op before changing anything, so a failing op leaves the batch as it was. Keys
  // are distinct, so the ops of one write cannot see each other.
  std::vector<Event> staged;
  staged.reserve(ops.size());
  int64_t revision = revision_;
  for (const Op& op : ops) {
    Result<std::optional<KeyValue>> current = Current(op.key);
    if (!current.ok()) return current.status();
    const std::optional<KeyValue>& prev = *current;
    Event e;
    e.revision = ++revision;
    e.has_prev = prev.has_value();
    if (prev) e.prev = *prev;
    switch (op.kind) {
      case Op::Kind::kCreate:
        if (prev) return Status::AlreadyExists("key \"" + op.key + "\" already exists");
        e.type = EventType::kPut;
        e.kv = KeyValue{op.key, op.value, e.revision, e.revision};
        break;
      case Op::Kind::kUpdate:
      case Op::Kind::kDelete:
        if (!prev) return Status::NotFound("key \"" + op.key + "\" not found");
        if (op.pre.revision != 0 && op.pre.revision != prev->mod_revision) {
          return Status::Conflict("key \"" + op.key + "\" is at revision " + std::to_string(prev->mod_revision) +
                                  ", not " + std::to_string(op.pre.revision));
        }
        if (op.kind == Op::Kind::kUpdate) {
          e.type = EventType::kPut;
          e.kv = KeyValue{op.key, op.value, prev->create_revision, e.revision};
        } else {
          e.type = EventType::kDelete;
          e.kv = KeyValue{op.key, prev->value, prev->create_revision, e.revision};
        }
        break;
    }
    e.memo = op.memo;
    staged.push_back(std::move(e));
  }

  std::vector<WriteResult> results;
  results.reserve(staged.size());
  for (size_t i = 0; i < staged.size(); ++i) {
    Event& e = staged[i];
    if (e.memo) ops[i].memo->Stamp(e.revision);
    if (e.type == EventType::kPut) {
      batch_.Put(families_.kv, e.kv.key, codec::EncodeStoredValue(e.kv));
      overlay_[e.kv.key] = e.kv;
    } else {
      batch_.Delete(families_.kv, e.kv.key);
      overlay_[e.kv.key] = std::nullopt;
    }
    batch_.Put(families_.log, codec::EncodeRevision(e.revision), codec::EncodeEvent(e, commit_unix_ms_));
    results.push_back(WriteResult{e.revision, e.has_prev ? e.prev : KeyValue{}});
    events_.push_back(std::make_shared<const Event>(std::move(e)));
  }
  revision_ = revision;
  return results;
}

rocksdb::WriteBatch* BatchBuilder::Finish() {
  batch_.Put(families_.meta, std::string(codec::kCurrentRevisionKey), codec::EncodeMetaRevision(revision_));
  return &batch_;
}

}  // namespace capstan::store
