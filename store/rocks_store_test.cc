// RocksStore: writes, revisions, durability across reopen, lists, compaction, backup, shutdown.
// Watch fan-out is in watch_test.cc; kill -9 durability in crash_test.cc.
#include "store/rocks_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "store/store_test_util.h"

namespace capstan::store {
namespace {

using testing::OpenOrDie;
using testing::TempDir;
using namespace std::chrono_literals;

std::string Key(int i) {
  char buf[32];
  snprintf(buf, sizeof(buf), "/k/%05d", i);
  return buf;
}

TEST(RocksStoreTest, EmptyStoreIsAtRevisionOneAndWritesAdvanceIt) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CurrentRevision(), 1);

  auto created = store->Create("/a", "v1");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->revision, 2);
  EXPECT_EQ(created->prev.mod_revision, 0);

  auto updated = store->Update("/a", "v2");
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->revision, 3);
  EXPECT_EQ(updated->prev.value, "v1");

  auto got = store->Get("/a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "v2");
  EXPECT_EQ(got->create_revision, 2);
  EXPECT_EQ(got->mod_revision, 3);

  auto deleted = store->Delete("/a");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->revision, 4);
  EXPECT_EQ(deleted->prev.value, "v2");
  EXPECT_EQ(store->Get("/a").status().code(), Code::kNotFound);
  EXPECT_EQ(store->CurrentRevision(), 4);
}

TEST(RocksStoreTest, PreconditionsAreChecked) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto a = store->Create("/a", "v1");
  ASSERT_TRUE(a.ok());

  EXPECT_EQ(store->Create("/a", "again").status().code(), Code::kAlreadyExists);
  EXPECT_EQ(store->Update("/missing", "x").status().code(), Code::kNotFound);
  EXPECT_EQ(store->Delete("/missing").status().code(), Code::kNotFound);
  EXPECT_EQ(store->Update("/a", "x", Precondition{a->revision + 7}).status().code(), Code::kConflict);
  EXPECT_EQ(store->Delete("/a", Precondition{a->revision - 1}).status().code(), Code::kConflict);
  // Failed writes neither change the key nor consume a revision.
  EXPECT_EQ(store->CurrentRevision(), a->revision);
  EXPECT_EQ(store->Get("/a")->value, "v1");

  auto ok = store->Update("/a", "v2", Precondition{a->revision});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(store->Delete("/a", Precondition{ok->revision}).ok());
}

TEST(RocksStoreTest, TxnIsAllOrNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create("/x", "x0").ok());
  const int64_t before = store->CurrentRevision();

  std::vector<Op> failing = {{Op::Kind::kCreate, "/a", "a", {}},
                             {Op::Kind::kUpdate, "/x", "x1", {}},
                             {Op::Kind::kUpdate, "/missing", "m", {}}};
  auto r = store->Txn(failing);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(store->Get("/a").status().code(), Code::kNotFound);
  EXPECT_EQ(store->Get("/x")->value, "x0");
  EXPECT_EQ(store->CurrentRevision(), before);

  std::vector<Op> repeated = {{Op::Kind::kCreate, "/b", "b", {}}, {Op::Kind::kUpdate, "/b", "b", {}}};
  EXPECT_EQ(store->Txn(repeated).status().code(), Code::kBadRequest);

  std::vector<Op> good = {{Op::Kind::kCreate, "/a", "a", {}},
                          {Op::Kind::kUpdate, "/x", "x1", {before}},
                          {Op::Kind::kCreate, "/b", "b", {}}};
  auto done = store->Txn(good);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ASSERT_EQ(done->size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*done)[i].revision, before + 1 + static_cast<int64_t>(i));
  EXPECT_EQ(store->Get("/x")->mod_revision, before + 2);
  EXPECT_EQ(store->CurrentRevision(), before + 3);
}

TEST(RocksStoreTest, ConcurrentWritersShareCommitsAndGetContiguousRevisions) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 16, kPerThread = 40;
  std::vector<std::vector<int64_t>> revisions(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store->Create(Key(t * kPerThread + i), "v");
        if (!r.ok()) {
          ++failures;
          continue;
        }
        revisions[t].push_back(r->revision);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  std::vector<int64_t> all;
  for (const auto& v : revisions) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));  // one writer's writes commit in order
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], 2 + static_cast<int64_t>(i));
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.writes, kThreads * kPerThread);
  EXPECT_EQ(stats.revision, 1 + kThreads * kPerThread);
  EXPECT_LT(stats.commits, stats.writes) << "no two writers shared an fsync";
}

TEST(RocksStoreTest, ReopenKeepsObjectsAndRevision) {
  TempDir dir;
  int64_t revision = 0;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Create(Key(i), "v" + std::to_string(i)).ok());
    ASSERT_TRUE(store->Delete(Key(3)).ok());
    revision = store->CurrentRevision();
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CurrentRevision(), revision);
  EXPECT_EQ(store->Get(Key(7))->value, "v7");
  EXPECT_EQ(store->Get(Key(3)).status().code(), Code::kNotFound);
  auto next = store->Create("/next", "v");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->revision, revision + 1);
}

TEST(RocksStoreTest, SecondOpenOfLockedDirectoryFails) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto second = OpenRocksStore(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("in use by this process"), std::string::npos)
      << second.status().message();
  // Once the first store is shut down, the directory opens again.
  store->Shutdown();
  EXPECT_TRUE(OpenRocksStore(dir.path()).ok());
}

TEST(RocksStoreTest, ShutdownFinishesWritesClosesWatchesAndFailsLaterCalls) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto watch = store->StartWatch(WatchOptions{"/", 0, 1000000, {}});
  ASSERT_TRUE(watch.ok());

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<std::string, int64_t> acked;  // guarded by mu
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        std::string key = "/w/" + std::to_string(t) + "/" + std::to_string(i);
        auto r = store->Create(key, "v");
        if (!r.ok()) {
          EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        acked[key] = r->revision;
      }
    });
  }
  std::this_thread::sleep_for(50ms);
  store->Shutdown();
  stop = true;
  for (auto& t : writers) t.join();

  EXPECT_TRUE((*watch)->Closed());
  EXPECT_EQ((*watch)->CloseReason().code(), Code::kUnavailable);
  EXPECT_EQ(store->Create("/late", "v").status().code(), Code::kUnavailable);
  EXPECT_EQ(store->Get("/late").status().code(), Code::kUnavailable);
  EXPECT_EQ(store->List("/", {}).status().code(), Code::kUnavailable);
  EXPECT_EQ(store->StartWatch(WatchOptions{}).status().code(), Code::kUnavailable);
  store->Shutdown();  // idempotent

  auto reopened = OpenOrDie(dir.path());
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(acked.empty());
  for (const auto& [key, revision] : acked) {
    auto got = reopened->Get(key);
    ASSERT_TRUE(got.ok()) << key;
    EXPECT_EQ(got->mod_revision, revision);
  }
}

// TxnAsync answers once, after the write is durable, with what Txn would have returned; a
// callback may start the next write (the generateName retry does); after Shutdown the answer is
// kUnavailable, given on the caller's thread.
TEST(RocksStoreTest, TxnAsyncAnswersOnceDurableAndMayChainWrites) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<std::vector<WriteResult>>> answers;  // guarded by mu
  auto record = [&](Result<std::vector<WriteResult>> r) {
    std::lock_guard<std::mutex> lock(mu);
    answers.push_back(std::move(r));
    cv.notify_all();
  };
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> ran_on_caller{false};
  store->TxnAsync({Op{Op::Kind::kCreate, "/a", "1", {}}}, [&](Result<std::vector<WriteResult>> r) {
    ran_on_caller = std::this_thread::get_id() == caller;
    record(r);
    // Chained from the commit thread: must not deadlock; this one conflicts (already exists).
    store->TxnAsync({Op{Op::Kind::kCreate, "/a", "2", {}}}, record);
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return answers.size() == 2; }));
  }
  EXPECT_FALSE(ran_on_caller);
  ASSERT_TRUE(answers[0].ok()) << answers[0].status().ToString();
  EXPECT_EQ(answers[0]->front().revision, 2);
  EXPECT_EQ(answers[1].status().code(), Code::kAlreadyExists);
  auto got = store->Get("/a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "1");

  store->Shutdown();
  bool answered_inline = false;
  store->TxnAsync({Op{Op::Kind::kCreate, "/b", "1", {}}}, [&](Result<std::vector<WriteResult>> r) {
    answered_inline = true;
    EXPECT_EQ(r.status().code(), Code::kUnavailable);
  });
  EXPECT_TRUE(answered_inline);
  // Durable: the acknowledged write is there after a reopen.
  store.reset();
  auto reopened = OpenOrDie(dir.path());
  ASSERT_NE(reopened, nullptr);
  auto again = reopened->Get("/a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->mod_revision, 2);
}

TEST(RocksStoreTest, PaginatedListReadsOneRevision) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<Op> ops;
  for (int i = 0; i < 100; ++i) ops.push_back({Op::Kind::kCreate, Key(i), "orig", {}});
  ASSERT_TRUE(store->Txn(ops).ok());
  ASSERT_TRUE(store->Create("/other", "outside the prefix").ok());
  const int64_t listed_at = store->CurrentRevision();

  std::multiset<std::string> seen;
  ListOptions opts;
  opts.limit = 7;
  int pages = 0;
  for (;;) {
    auto page = store->List("/k/", opts);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->revision, listed_at);
    for (const auto& kv : page->items) {
      seen.insert(kv.key);
      EXPECT_EQ(kv.value, "orig") << kv.key;
    }
    ++pages;
    if (page->next_key.empty()) {
      EXPECT_EQ(page->remaining, 0);
      break;
    }
    EXPECT_EQ(page->items.size(), 7u);
    // Changes between pages must not show up in later pages.
    ASSERT_TRUE(store->Create("/k/" + std::to_string(pages) + "-new", "new").ok());
    ASSERT_TRUE(store->Update(Key(99 - pages), "changed").ok());
    ASSERT_TRUE(store->Delete(Key(50 + pages)).ok());
    opts.start_key = page->next_key;
    opts.revision = page->revision;
  }
  EXPECT_EQ(pages, 15);
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen.count(Key(i)), 1u) << Key(i);

  // A fresh list sees the changes, at the new revision.
  auto latest = store->List("/k/", {});
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->revision, store->CurrentRevision());
  EXPECT_EQ(latest->items.size(), 100u);  // 14 created, 14 deleted
  EXPECT_EQ(store->List("/k/", ListOptions{0, "/other", 0}).status().code(), Code::kBadRequest);
}

TEST(RocksStoreTest, ListAtUnknownOrExpiredRevisionIsExpired) {
  TempDir dir;
  RocksStoreOptions opts;
  opts.list_snapshot_ttl = 1s;
  opts.compaction_interval = 0ms;
  auto store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Create(Key(i), "v").ok());

  // Never listed at this (old) revision: nothing to read it from.
  auto never = store->List("/k/", ListOptions{2, "", 3});
  EXPECT_EQ(never.status().code(), Code::kExpired) << never.status().ToString();

  auto first = store->List("/k/", ListOptions{4, "", 0});
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_key.empty());
  ASSERT_TRUE(store->Create("/k/zzz", "v").ok());
  auto second = store->List("/k/", ListOptions{4, first->next_key, first->revision});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->revision, first->revision);

  std::this_thread::sleep_for(1100ms);
  auto third = store->List("/k/", ListOptions{4, second->next_key, first->revision});
  EXPECT_EQ(third.status().code(), Code::kExpired) << third.status().ToString();
}

TEST(RocksStoreTest, ExplicitCompactionExpiresOldWatchStarts) {
  TempDir dir;
  RocksStoreOptions opts;
  opts.compaction_interval = 0ms;
  auto store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Create(Key(i), "v").ok());
  const int64_t current = store->CurrentRevision();

  ASSERT_TRUE(store->Compact(10).ok());
  EXPECT_EQ(store->CompactedRevision(), 10);
  ASSERT_TRUE(store->Compact(5).ok());  // never goes back
  EXPECT_EQ(store->CompactedRevision(), 10);
  ASSERT_TRUE(store->Compact(current + 100).ok());
  EXPECT_EQ(store->CompactedRevision(), current - 1);  // the current revision is kept

  auto expired = store->StartWatch(WatchOptions{"/", 5, 100, {}});
  EXPECT_EQ(expired.status().code(), Code::kExpired);
  auto ok = store->StartWatch(WatchOptions{"/", current - 1, 100, {}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  std::vector<EventPtr> events;
  (*ok)->Wait(&events, 10, 1s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]->revision, current);
  EXPECT_EQ(store->Stats().compacted_revision, current - 1);
}

TEST(RocksStoreTest, BackgroundCompactionByCount) {
  TempDir dir;
  RocksStoreOptions opts;
  opts.log_max_events = 10;
  opts.log_min_events = 0;
  opts.compaction_interval = 20ms;
  opts.event_cache = 4;
  auto store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  std::vector<Op> ops;
  for (int i = 0; i < 50; ++i) ops.push_back({Op::Kind::kCreate, Key(i), "v", {}});
  ASSERT_TRUE(store->Txn(ops).ok());
  const int64_t current = store->CurrentRevision();
  for (int i = 0; i < 200 && store->CompactedRevision() < current - 10; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(store->CompactedRevision(), current - 10);
  EXPECT_EQ(store->StartWatch(WatchOptions{"/", current - 11, 100, {}}).status().code(), Code::kExpired);
  // The retained tail is still served from the on-disk log (the cache holds only 4).
  auto watch = store->StartWatch(WatchOptions{"/", current - 10, 100, {}});
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  std::vector<EventPtr> events;
  (*watch)->Poll(&events, 100);
  ASSERT_EQ(events.size(), 10u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]->revision, current - 9 + static_cast<int64_t>(i));
}

TEST(RocksStoreTest, BackgroundCompactionByAgeKeepsMinimum) {
  TempDir dir;
  RocksStoreOptions opts;
  opts.log_max_age = 1s;
  opts.log_min_events = 5;
  opts.compaction_interval = 50ms;
  auto store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  std::vector<Op> ops;
  for (int i = 0; i < 20; ++i) ops.push_back({Op::Kind::kCreate, Key(i), "v", {}});
  ASSERT_TRUE(store->Txn(ops).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(store->CompactedRevision(), 0) << "compacted events younger than log_max_age";
  const int64_t current = store->CurrentRevision();
  for (int i = 0; i < 300 && store->CompactedRevision() < current - 5; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(store->CompactedRevision(), current - 5);
  // Compaction persists: a reopened store still refuses the compacted range.
  store.reset();
  opts.compaction_interval = 0ms;
  store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CompactedRevision(), current - 5);
  EXPECT_EQ(store->StartWatch(WatchOptions{"/", 2, 100, {}}).status().code(), Code::kExpired);
}

TEST(RocksStoreTest, BackupWhileWritingOpensWithSameObjectsAndRevision) {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("live"));
  ASSERT_NE(store, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        if (store->Create("/b/" + std::to_string(t) + "-" + std::to_string(i), std::to_string(i)).ok()) ++created;
      }
    });
  }
  while (created < 50) std::this_thread::sleep_for(5ms);
  Status backup = store->Backup(dir.Sub("backup"));
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_TRUE(backup.ok()) << backup.ToString();
  EXPECT_EQ(store->Backup(dir.Sub("backup")).code(), Code::kAlreadyExists);

  auto copy = OpenOrDie(dir.Sub("backup"));
  ASSERT_NE(copy, nullptr);
  const int64_t at = copy->CurrentRevision();
  EXPECT_GT(at, 1);
  EXPECT_LE(at, store->CurrentRevision());
  // Only creates ran, one key per revision: the copy holds exactly the keys created at or
  // before its revision, each as the live store has it.
  auto in_copy = copy->List("/b/", {});
  auto in_live = store->List("/b/", {});
  ASSERT_TRUE(in_copy.ok() && in_live.ok());
  std::map<std::string, KeyValue> live;
  size_t expected = 0;
  for (const auto& kv : in_live->items) {
    live[kv.key] = kv;
    if (kv.mod_revision <= at) ++expected;
  }
  EXPECT_EQ(in_copy->items.size(), expected);
  EXPECT_EQ(static_cast<int64_t>(in_copy->items.size()), at - 1);
  for (const auto& kv : in_copy->items) {
    EXPECT_LE(kv.mod_revision, at);
    EXPECT_EQ(live[kv.key].value, kv.value);
    EXPECT_EQ(live[kv.key].mod_revision, kv.mod_revision);
  }
}

}  // namespace
}  // namespace capstan::store
