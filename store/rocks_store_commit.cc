// RocksStore: writes and the group-commit thread, watches (log replay then live), and log
// compaction. Opening, reads and lists are in rocks_store.cc.
#include <algorithm>

#include "base/log.h"
#include "store/batch_builder.h"
#include "store/rocks_codec.h"
#include "store/rocks_store_impl.h"

namespace capstan::store {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  return Status::Internal(context + ": " + s.ToString());
}

int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A replay queues this many events at a time, bounding its temporary vector.
constexpr size_t kReplayChunk = 4096;

// Group commit under load (CommitLoop): after a batch of at least kGatherBatch writes, a batch
// with fewer waits up to kGatherWait for that many. Measured on 2 cores with the controllers
// benchmark: 5.9 writes a commit became 7.3 (20% fewer fsyncs), about 4% less server CPU.
constexpr size_t kGatherBatch = 4;
constexpr std::chrono::microseconds kGatherWait{150};

}  // namespace

Result<std::vector<WriteResult>> RocksStore::Submit(const std::vector<Op>& ops) {
  if (ops.empty()) return std::vector<WriteResult>{};
  PendingWrite write;
  write.ops = &ops;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) return Status::Unavailable("store is shut down");
    queue_.push_back(&write);
  }
  queue_cv_.notify_one();
  std::unique_lock<std::mutex> lock(write.mu);
  write.done_cv.wait(lock, [&write] { return write.done; });
  return std::move(*write.result);
}

Result<WriteResult> RocksStore::SubmitOne(Op op) {
  std::vector<Op> ops;
  ops.push_back(std::move(op));
  Result<std::vector<WriteResult>> r = Submit(ops);
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

Result<WriteResult> RocksStore::Create(const std::string& key, const std::string& value) {
  return SubmitOne(Op{Op::Kind::kCreate, key, value, {}});
}

Result<WriteResult> RocksStore::Update(const std::string& key, const std::string& value, Precondition pre) {
  return SubmitOne(Op{Op::Kind::kUpdate, key, value, pre});
}

Result<WriteResult> RocksStore::Delete(const std::string& key, Precondition pre) {
  return SubmitOne(Op{Op::Kind::kDelete, key, {}, pre});
}

Result<std::vector<WriteResult>> RocksStore::Txn(const std::vector<Op>& ops) { return Submit(ops); }

void RocksStore::TxnAsync(std::vector<Op> ops, TxnCallback done) {
  if (ops.empty()) return done(std::vector<WriteResult>{});
  auto write = std::make_unique<PendingWrite>();
  write->owned_ops = std::move(ops);
  write->ops = &write->owned_ops;
  write->callback = std::move(done);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stopping_) {
      queue_.push_back(write.release());
    }
  }
  if (write) return write->callback(Status::Unavailable("store is shut down"));
  queue_cv_.notify_one();
}

void RocksStore::CommitLoop() {
  size_t last_batch = 0;
  for (;;) {
    std::vector<PendingWrite*> writes;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and every accepted write is done
      // Group commit, gathered under load: while many writers are active (the last batch was
      // full) a thin batch waits a little for more, so each fsync (on a VM: a trip to the host)
      // carries more writes. An idle store commits at once: a lone writer waits for nothing.
      if (last_batch >= kGatherBatch && queue_.size() < kGatherBatch) {
        queue_cv_.wait_for(lock, kGatherWait, [this] { return queue_.size() >= kGatherBatch || stopping_; });
      }
      writes.assign(queue_.begin(), queue_.end());
      queue_.clear();
    }
    last_batch = writes.size();
    CommitBatch(writes);
  }
}

Result<std::optional<KeyValue>> RocksStore::ReadCommitted(const std::string& key) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kv_, key, &value);
  if (s.IsNotFound()) return std::optional<KeyValue>();
  if (!s.ok()) return FromRocks(s, "reading " + key);
  Result<KeyValue> kv = codec::DecodeStoredValue(key, value.ToStringView());
  if (!kv.ok()) return kv.status();
  return std::optional<KeyValue>(std::move(kv).value());
}

void RocksStore::CommitBatch(const std::vector<PendingWrite*>& writes) {
  std::vector<std::optional<Result<std::vector<WriteResult>>>> results(writes.size());
  // The committer's top frame: whatever happens, every writer gets an answer.
  try {
    BatchBuilder builder(revision_.load(), UnixMillis(std::chrono::system_clock::now()),
                         [this](const std::string& key) { return ReadCommitted(key); },
                         BatchBuilder::Families{kv_, log_, meta_});
    for (size_t i = 0; i < writes.size(); ++i) results[i] = builder.Add(*writes[i]->ops);
    if (builder.ops() > 0) {
      rocksdb::WriteOptions wo;
      wo.sync = opts_.sync;
      rocksdb::Status s = db_->Write(wo, builder.Finish());
      if (s.ok()) {
        revision_.store(builder.revision());
        commits_.fetch_add(1);
        writes_.fetch_add(builder.ops());
        // Before the writers return, so a watch a writer starts "from now" begins after its write.
        hub_->Publish(builder.events());
      } else {
        // Later writes in the batch were checked against earlier ones that are now lost, so
        // none of the answers holds: fail them all.
        Status failed = FromRocks(s, "committing " + std::to_string(writes.size()) + " writes");
        log::Error("store: commit failed", {{"error", failed.message()}});
        for (auto& r : results) r = failed;
      }
    }
  } catch (const std::exception& e) {
    Status failed = Status::Internal(std::string("store commit: ") + e.what());
    for (auto& r : results) r = failed;
  } catch (...) {
    Status failed = Status::Internal("store commit: unknown exception");
    for (auto& r : results) r = failed;
  }
  for (size_t i = 0; i < writes.size(); ++i) {
    PendingWrite* w = writes[i];
    Result<std::vector<WriteResult>> result =
        results[i].has_value() ? std::move(*results[i])
                               : Result<std::vector<WriteResult>>(Status::Internal("write not processed"));
    if (w->callback) {
      std::unique_ptr<PendingWrite> owned(w);
      // Still the committer's top frame: a throwing callback costs its caller the answer, not
      // every later writer theirs.
      try {
        owned->callback(std::move(result));
      } catch (const std::exception& e) {
        log::Error("store: write callback threw", {{"error", e.what()}});
      } catch (...) {
        log::Error("store: write callback threw", {{"error", "unknown exception"}});
      }
      continue;
    }
    std::lock_guard<std::mutex> lock(w->mu);
    w->result = std::move(result);
    w->done = true;
    // Notified under w->mu: once done is seen, the writer may destroy *w.
    w->done_cv.notify_one();
  }
}

Result<std::unique_ptr<Watch>> RocksStore::StartWatch(const WatchOptions& opts) {
  if (opts.start_revision < 0) return Status::BadRequest("negative watch start revision");
  if (shutting_down_) return Status::Unavailable("store is shut down");
  auto watcher = std::make_shared<Watcher>(opts.prefix, opts.buffer, opts.notify, opts.start_revision);
  if (opts.start_revision == 0) {
    CAPSTAN_RETURN_IF_ERROR(hub_->AttachAtHead(watcher));
    return std::unique_ptr<Watch>(new HubWatch(hub_, std::move(watcher)));
  }
  // Checked before the cache is consulted: it may still hold events compaction has removed.
  if (opts.start_revision < compacted_.load()) {
    return Status::Expired("revision " + std::to_string(opts.start_revision) +
                           " has been compacted (compacted revision " + std::to_string(compacted_.load()) + ")");
  }
  // Replay from the cache if it reaches back far enough, else from the log until it does. Each
  // round reads the log up to its end, which is at or past the published head, so a round fails
  // only if more than event_cache events were committed while it read.
  for (;;) {
    Result<bool> attached = hub_->TryAttach(watcher);
    if (!attached.ok()) return attached.status();
    if (*attached) break;
    std::shared_lock<std::shared_mutex> lock(lifecycle_mu_);
    if (shutting_down_ || db_closed_) return Status::Unavailable("store is shut down");
    CAPSTAN_RETURN_IF_ERROR(ReplayLog(watcher.get()));
  }
  return std::unique_ptr<Watch>(new HubWatch(hub_, std::move(watcher)));
}

Status RocksStore::ReplayLog(Watcher* w) {
  int64_t last = w->last_revision_unattached();
  std::unique_ptr<rocksdb::Iterator> it;
  {
    std::lock_guard<std::mutex> lock(compaction_mu_);
    if (last < compacted_.load()) {
      return Status::Expired("revision " + std::to_string(last) + " has been compacted (compacted revision " +
                             std::to_string(compacted_.load()) + ")");
    }
    // The iterator's implicit snapshot keeps the events it needs even if compaction runs next.
    it.reset(db_->NewIterator(rocksdb::ReadOptions(), log_));
  }
  std::vector<EventPtr> chunk;
  for (it->Seek(codec::EncodeRevision(last + 1)); it->Valid(); it->Next()) {
    Result<int64_t> revision = codec::DecodeRevision(it->key().ToStringView());
    if (!revision.ok()) return revision.status();
    if (*revision != last + 1) {
      return Status::Internal("event log gap: expected revision " + std::to_string(last + 1) + ", found " +
                              std::to_string(*revision));
    }
    Result<Event> event = codec::DecodeEvent(*revision, it->value().ToStringView());
    if (!event.ok()) return event.status();
    last = *revision;
    if (event->kv.key.starts_with(w->prefix())) {
      chunk.push_back(std::make_shared<const Event>(std::move(event).value()));
      if (chunk.size() == kReplayChunk) {
        w->EnqueueReplay(chunk, last);
        chunk.clear();
      }
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the event log");
  w->EnqueueReplay(chunk, last);
  return Status::Ok();
}

Status RocksStore::Compact(int64_t revision) {
  std::shared_lock<std::shared_mutex> lock(lifecycle_mu_);
  if (shutting_down_ || db_closed_) return Status::Unavailable("store is shut down");
  return CompactLocked(revision);
}

Status RocksStore::CompactLocked(int64_t revision) {
  std::lock_guard<std::mutex> lock(compaction_mu_);
  revision = std::min(revision, revision_.load() - 1);  // the current revision is always kept
  if (revision <= compacted_.load()) return Status::Ok();
  rocksdb::WriteBatch batch;
  (void)batch.DeleteRange(log_, codec::EncodeRevision(0), codec::EncodeRevision(revision + 1));
  (void)batch.Put(meta_, std::string(codec::kCompactedRevisionKey), codec::EncodeMetaRevision(revision));
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "compacting the event log");
  compacted_.store(revision);
  return Status::Ok();
}

Status RocksStore::CompactByPolicy() {
  std::shared_lock<std::shared_mutex> lock(lifecycle_mu_);
  if (shutting_down_ || db_closed_) return Status::Unavailable("store is shut down");
  const int64_t current = revision_.load();
  const int64_t compacted = compacted_.load();
  int64_t target = current - opts_.log_max_events;
  // By age: the oldest events, while older than log_max_age, but never into the newest
  // log_min_events. Commit times grow with revision, so the scan stops at the first young one.
  const int64_t age_limit = current - std::max<int64_t>(opts_.log_min_events, 0);
  if (age_limit > std::max(target, compacted)) {
    const int64_t cutoff = UnixMillis(std::chrono::system_clock::now() - opts_.log_max_age);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
    for (it->Seek(codec::EncodeRevision(compacted + 1)); it->Valid(); it->Next()) {
      Result<int64_t> revision = codec::DecodeRevision(it->key().ToStringView());
      if (!revision.ok()) return revision.status();
      if (*revision > age_limit) break;
      Result<int64_t> committed = codec::PeekEventCommitTime(it->value().ToStringView());
      if (!committed.ok()) return committed.status();
      if (*committed >= cutoff) break;
      target = std::max(target, *revision);
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scanning the event log");
  }
  if (target <= compacted) return Status::Ok();
  return CompactLocked(target);
}

void RocksStore::MaintenanceLoop() {
  std::unique_lock<std::mutex> lock(maintenance_mu_);
  while (!maintenance_stop_) {
    maintenance_cv_.wait_for(lock, opts_.compaction_interval, [this] { return maintenance_stop_; });
    if (maintenance_stop_) break;
    lock.unlock();
    // The maintenance thread's top frame.
    try {
      Status s = CompactByPolicy();
      if (!s.ok() && s.code() != Code::kUnavailable) log::Warn("store: log compaction", {{"error", s.ToString()}});
      ExpireSnapshots(std::chrono::steady_clock::now());
    } catch (const std::exception& e) {
      log::Error("store: maintenance", {{"error", e.what()}});
    } catch (...) {
      log::Error("store: maintenance", {{"error", "unknown exception"}});
    }
    lock.lock();
  }
}

}  // namespace capstan::store
