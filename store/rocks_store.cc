// RocksStore: opening and closing, reads, paginated lists and backups. Writes, the committer,
// watches and log compaction are in rocks_store_commit.cc.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include <rocksdb/utilities/checkpoint.h>

#include "base/log.h"
#include "store/rocks_codec.h"
#include "store/rocks_store_impl.h"

namespace capstan::store {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  return Status::Internal(context + ": " + s.ToString());
}

// Best effort: which process holds the POSIX lock on `lock_file`, from /proc/locks.
std::string LockHolder(const std::string& lock_file, const std::string& rocks_message) {
  if (rocks_message.find("current process") != std::string::npos) return "this process";
  struct stat st {};
  if (stat(lock_file.c_str(), &st) != 0) return "another process";
  std::ifstream locks("/proc/locks");
  std::string line;
  const std::string inode_suffix = ":" + std::to_string(st.st_ino);
  while (std::getline(locks, line)) {
    // "1: POSIX  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF"
    std::istringstream fields(line);
    std::string ordinal, kind, mode, access, pid, dev_inode;
    if (!(fields >> ordinal >> kind >> mode >> access >> pid >> dev_inode)) continue;
    if (dev_inode.size() > inode_suffix.size() && dev_inode.ends_with(inode_suffix)) return "process " + pid;
  }
  return "another process";
}

// The smallest string greater than every string starting with `prefix`; empty if none.
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

void CloseHandles(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  for (auto* h : *handles) {
    rocksdb::Status s = db->DestroyColumnFamilyHandle(h);
    if (!s.ok()) log::Warn("store: destroying column family handle", {{"error", s.ToString()}});
  }
  handles->clear();
  rocksdb::Status s = db->Close();
  if (!s.ok()) log::Warn("store: closing RocksDB", {{"error", s.ToString()}});
  delete db;
}

Result<std::optional<int64_t>> ReadMeta(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                                        std::string_view key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<int64_t>();
  if (!s.ok()) return FromRocks(s, "reading " + std::string(key));
  Result<int64_t> r = codec::DecodeMetaRevision(value);
  if (!r.ok()) return r.status();
  return std::optional<int64_t>(*r);
}

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksStore(const std::string& dir, const RocksStoreOptions& opts) {
  return RocksStore::Open(dir, opts);
}

Result<std::unique_ptr<Store>> RocksStore::Open(const std::string& dir, const RocksStoreOptions& opts) {
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  // kv, log and meta change together in every batch; flushing them together keeps a checkpoint
  // or a WAL-less recovery from ever seeing one without the others.
  db_opts.atomic_flush = true;
  // RocksDB's default of 64 MiB of memtable per column family would let four families hold
  // 512 MiB before flushing; one shared budget bounds the store's memory instead.
  db_opts.db_write_buffer_size = opts.memtable_budget_bytes;
  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.write_buffer_size = std::max<size_t>(opts.memtable_budget_bytes / 4, 1 << 20);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_opts}, {"kv", cf_opts}, {"log", cf_opts}, {"meta", cf_opts}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_opts, dir, families, &handles, &db);
  if (!s.ok()) {
    std::string message = s.ToString();
    std::string lower = message;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s.IsIOError() && lower.find("lock") != std::string::npos) {
      return Status::Unavailable("store directory " + dir + " is in use by " +
                                 LockHolder(dir + "/LOCK", message) + " (" + message + ")");
    }
    return FromRocks(s, "opening store at " + dir);
  }

  auto fail = [&](Status st) -> Result<std::unique_ptr<Store>> {
    CloseHandles(db, &handles);
    return st;
  };
  Result<std::optional<int64_t>> current = ReadMeta(db, handles[3], codec::kCurrentRevisionKey);
  if (!current.ok()) return fail(current.status());
  Result<std::optional<int64_t>> compacted = ReadMeta(db, handles[3], codec::kCompactedRevisionKey);
  if (!compacted.ok()) return fail(compacted.status());
  int64_t revision = current->value_or(1);  // an empty store is at revision 1, as in etcd
  if (!current->has_value()) {
    rocksdb::WriteBatch init;
    (void)init.Put(handles[3], std::string(codec::kCurrentRevisionKey), codec::EncodeMetaRevision(revision));
    (void)init.Put(handles[3], std::string(codec::kCompactedRevisionKey), codec::EncodeMetaRevision(0));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Write(wo, &init);
    if (!s.ok()) return fail(FromRocks(s, "initializing store at " + dir));
  }
  // The log's last revision is written in the same batch as meta; a disagreement means damage,
  // and going backwards would be worse than trusting the larger of the two.
  std::unique_ptr<rocksdb::Iterator> last(db->NewIterator(rocksdb::ReadOptions(), handles[2]));
  last->SeekToLast();
  if (last->Valid()) {
    Result<int64_t> log_revision = codec::DecodeRevision(last->key().ToStringView());
    if (!log_revision.ok()) return fail(log_revision.status());
    if (*log_revision > revision) {
      log::Warn("store: log is ahead of meta revision", {{"meta", std::to_string(revision)},
                                                          {"log", std::to_string(*log_revision)}});
      revision = *log_revision;
    }
  }
  if (!last->status().ok()) return fail(FromRocks(last->status(), "reading the log"));
  last.reset();

  return std::unique_ptr<Store>(
      new RocksStore(dir, opts, db, std::move(handles), revision, compacted->value_or(0)));
}

RocksStore::RocksStore(std::string dir, const RocksStoreOptions& opts, rocksdb::DB* db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles, int64_t revision, int64_t compacted)
    : dir_(std::move(dir)),
      opts_(opts),
      db_(db),
      handles_(std::move(handles)),
      kv_(handles_[1]),
      log_(handles_[2]),
      meta_(handles_[3]),
      hub_(std::make_shared<WatchHub>(revision, opts.event_cache)),
      revision_(revision),
      compacted_(compacted) {
  committer_ = std::thread([this] { CommitLoop(); });
  if (opts_.compaction_interval.count() > 0) maintenance_ = std::thread([this] { MaintenanceLoop(); });
}

RocksStore::~RocksStore() { Shutdown(); }

void RocksStore::Shutdown() {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  shutting_down_ = true;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();  // drains every queued write first
  {
    std::lock_guard<std::mutex> lock(maintenance_mu_);
    maintenance_stop_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  hub_->CloseAll(Status::Unavailable("store is shutting down"));
  CloseDb();
}

void RocksStore::CloseDb() {
  std::unique_lock<std::shared_mutex> lock(lifecycle_mu_);
  if (db_closed_) return;
  db_closed_ = true;
  {
    std::lock_guard<std::mutex> snaps(snapshots_mu_);
    snapshots_.clear();  // releases the snapshots while db_ is alive
  }
  CloseHandles(db_, &handles_);
  db_ = nullptr;
}

Result<KeyValue> RocksStore::Get(const std::string& key) {
  std::shared_lock<std::shared_mutex> lock(lifecycle_mu_);
  if (shutting_down_ || db_closed_) return Status::Unavailable("store is shut down");
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kv_, key, &value);
  if (s.IsNotFound()) return Status::NotFound("key \"" + key + "\" not found");
  if (!s.ok()) return FromRocks(s, "reading " + key);
  return codec::DecodeStoredValue(key, value.ToStringView());
}

Result<int64_t> RocksStore::RevisionAt(const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  std::string value;
  rocksdb::Status s = db_->Get(ro, meta_, std::string(codec::kCurrentRevisionKey), &value);
  if (!s.ok()) return FromRocks(s, "reading the revision");
  return codec::DecodeMetaRevision(value);
}

std::shared_ptr<const rocksdb::Snapshot> RocksStore::TakeSnapshot() {
  rocksdb::DB* db = db_;
  // Released by the last holder: a List in progress or snapshots_. Both are gone before
  // CloseDb closes db_ (it waits for lifecycle_mu_ and clears snapshots_ first).
  return std::shared_ptr<const rocksdb::Snapshot>(db->GetSnapshot(),
                                                  [db](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); });
}

void RocksStore::ExpireSnapshots(std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(snapshots_mu_);
  std::erase_if(snapshots_, [now](const auto& entry) { return entry.second.expires <= now; });
}

Result<ListResult> RocksStore::List(const std::string& prefix, const ListOptions& opts) {
  if (opts.limit < 0) return Status::BadRequest("negative list limit");
  if (opts.revision < 0) return Status::BadRequest("negative list revision");
  if (!opts.start_key.empty() && !opts.start_key.starts_with(prefix)) {
    return Status::BadRequest("start key \"" + opts.start_key + "\" is not under \"" + prefix + "\"");
  }
  std::shared_lock<std::shared_mutex> lock(lifecycle_mu_);
  if (shutting_down_ || db_closed_) return Status::Unavailable("store is shut down");
  const auto now = std::chrono::steady_clock::now();
  ExpireSnapshots(now);

  std::shared_ptr<const rocksdb::Snapshot> snapshot;
  int64_t at = 0;
  if (opts.revision != 0) {
    std::lock_guard<std::mutex> snaps(snapshots_mu_);
    auto it = snapshots_.find(opts.revision);
    if (it != snapshots_.end()) {
      snapshot = it->second.snapshot;
      at = opts.revision;
    }
  }
  if (!snapshot) {
    if (opts.revision > revision_.load()) {
      // What Kubernetes answers for "Too large resource version": retry later.
      return Status(Code::kTimeout, "revision " + std::to_string(opts.revision) + " is newer than the store's " +
                                        std::to_string(revision_.load()));
    }
    snapshot = TakeSnapshot();
    Result<int64_t> revision = RevisionAt(snapshot.get());
    if (!revision.ok()) return revision.status();
    at = *revision;
    if (opts.revision != 0 && at != opts.revision) {
      return Status::Expired("list at revision " + std::to_string(opts.revision) +
                             " is no longer available (its snapshot expired or the store moved on to " +
                             std::to_string(at) + "); list again from the start");
    }
  }

  ListResult result;
  result.revision = at;
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();
  const std::string upper = PrefixSuccessor(prefix);
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, kv_));
  for (it->Seek(std::max(prefix, opts.start_key)); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    if (opts.limit > 0 && static_cast<int64_t>(result.items.size()) == opts.limit) {
      result.next_key = std::string(key);
      break;
    }
    Result<KeyValue> kv = codec::DecodeStoredValue(key, it->value().ToStringView());
    if (!kv.ok()) return kv.status();
    result.items.push_back(std::move(kv).value());
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing " + prefix);
  result.remaining = result.next_key.empty() ? 0 : -1;

  if (!result.next_key.empty()) {
    // Later pages read this same snapshot. A first page (re)starts the TTL; later pages do not
    // extend it, so a continue token expires list_snapshot_ttl after its list began.
    std::lock_guard<std::mutex> snaps(snapshots_mu_);
    auto [entry, inserted] = snapshots_.try_emplace(at, ListSnapshot{snapshot, now + opts_.list_snapshot_ttl});
    if (!inserted && opts.revision == 0) entry->second.expires = now + opts_.list_snapshot_ttl;
  }
  return result;
}

Status RocksStore::Backup(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return Status::AlreadyExists("backup directory " + dir + " already exists");
  std::shared_lock<std::shared_mutex> lock(lifecycle_mu_);
  if (shutting_down_ || db_closed_) return Status::Unavailable("store is shut down");
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_, &raw);
  if (!s.ok()) return FromRocks(s, "backup");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush first, so the copy holds the latest state in table files plus
  // the WAL tail; atomic_flush keeps kv, log and meta consistent with each other.
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!s.ok()) return FromRocks(s, "backup to " + dir);
  return Status::Ok();
}

int64_t RocksStore::CurrentRevision() { return revision_.load(); }

int64_t RocksStore::CompactedRevision() { return compacted_.load(); }

StoreStats RocksStore::Stats() {
  StoreStats stats;
  stats.revision = revision_.load();
  stats.compacted_revision = compacted_.load();
  stats.watchers = hub_->Watchers();
  stats.commits = commits_.load();
  stats.writes = writes_.load();
  return stats;
}

}  // namespace capstan::store
