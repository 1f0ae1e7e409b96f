// Watches on RocksStore: history replay (cache and on-disk log) handing over to live events,
// fan-out to many watchers, overflow of a slow watcher, notify, cancel.
#include <atomic>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "store/rocks_store.h"
#include "store/store_test_util.h"

namespace capstan::store {
namespace {

using testing::OpenOrDie;
using testing::TempDir;
using namespace std::chrono_literals;

// Collects events from `watch` until one at `revision` or later arrives (or 10 s pass).
std::vector<EventPtr> DrainThrough(Watch* watch, int64_t revision) {
  std::vector<EventPtr> events;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!events.empty() && events.back()->revision >= revision) break;
    watch->Wait(&events, 1000, 100ms);
    if (watch->Closed() && watch->Poll(&events, SIZE_MAX) == 0) break;
  }
  return events;
}

// Asserts `events` are exactly the revisions first..last, in order.
void ExpectContiguous(const std::vector<EventPtr>& events, int64_t first, int64_t last) {
  ASSERT_EQ(static_cast<int64_t>(events.size()), last - first + 1);
  for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(events[i]->revision, first + static_cast<int64_t>(i));
}

TEST(WatchTest, EventsCarryTypeValueAndPrev) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto watch = store->StartWatch(WatchOptions{"/a", 0, 100, {}});
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store->Create("/a", "v1").ok());
  ASSERT_TRUE(store->Create("/b", "not watched").ok());
  ASSERT_TRUE(store->Update("/a", "v2").ok());
  auto deleted = store->Delete("/a");
  ASSERT_TRUE(deleted.ok());

  auto events = DrainThrough(watch->get(), deleted->revision);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]->type, EventType::kPut);
  EXPECT_FALSE(events[0]->has_prev);
  EXPECT_EQ(events[1]->kv.value, "v2");
  EXPECT_TRUE(events[1]->has_prev);
  EXPECT_EQ(events[1]->prev.value, "v1");
  EXPECT_EQ(events[1]->kv.create_revision, events[0]->revision);
  EXPECT_EQ(events[2]->type, EventType::kDelete);
  EXPECT_EQ(events[2]->revision, deleted->revision);
  EXPECT_EQ(events[2]->kv.value, "v2");
  EXPECT_EQ(events[2]->prev.mod_revision, events[1]->revision);
}

TEST(WatchTest, WatchFromNowSeesNoHistory) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create("/old", "v").ok());
  auto watch = store->StartWatch(WatchOptions{"/", 0, 100, {}});
  ASSERT_TRUE(watch.ok());
  auto created = store->Create("/new", "v");
  ASSERT_TRUE(created.ok());
  auto events = DrainThrough(watch->get(), created->revision);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]->kv.key, "/new");
}

TEST(WatchTest, ResumesFromRevisionAfterRestart) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Create("/r/" + std::to_string(i), "v").ok());
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->CurrentRevision(), 21);
  // After a restart the cache is empty: history comes from the on-disk log, then live events.
  auto watch = store->StartWatch(WatchOptions{"/r/", 5, 1000, {}});
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  for (int i = 20; i < 25; ++i) ASSERT_TRUE(store->Create("/r/" + std::to_string(i), "v").ok());
  auto events = DrainThrough(watch->get(), 26);
  ExpectContiguous(events, 6, 26);
  EXPECT_EQ(events[0]->kv.key, "/r/4");
}

TEST(WatchTest, ReplayHandsOverToLiveWithoutGapsWhileWriting) {
  TempDir dir;
  RocksStoreOptions opts;
  opts.event_cache = 8;  // force most starts through the on-disk log
  opts.sync = false;
  auto store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) (void)store->Create("/h/" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  }
  std::vector<std::unique_ptr<Watch>> watches;
  std::vector<int64_t> starts;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(5ms);
    int64_t start = std::max<int64_t>(1, store->CurrentRevision() - 50 * i);
    auto w = store->StartWatch(WatchOptions{"/h/", start, 1000000, {}});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    watches.push_back(std::move(w).value());
    starts.push_back(start);
  }
  stop = true;
  for (auto& t : writers) t.join();
  const int64_t last = store->CurrentRevision();
  for (size_t i = 0; i < watches.size(); ++i) {
    auto events = DrainThrough(watches[i].get(), last);
    SCOPED_TRACE("watch " + std::to_string(i) + " from " + std::to_string(starts[i]));
    ExpectContiguous(events, starts[i] + 1, last);
  }
}

TEST(WatchTest, ThousandsOfWatchersSeeTheSameSequence) {
  TempDir dir;
  RocksStoreOptions opts;
  opts.sync = false;  // this test is about fan-out, not fsync
  auto store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  constexpr int kWatchers = 2000, kWriters = 8, kPerWriter = 50;
  std::vector<std::unique_ptr<Watch>> watches;
  std::atomic<int64_t> notifies{0};
  for (int i = 0; i < kWatchers; ++i) {
    // Three shapes of prefix: everything, one writer's keys, and a key nobody writes.
    std::string prefix = i % 3 == 0 ? "/" : i % 3 == 1 ? "/m/" + std::to_string(i % kWriters) + "/" : "/none";
    auto w = store->StartWatch(WatchOptions{prefix, 0, 10000, [&notifies] { ++notifies; }});
    ASSERT_TRUE(w.ok());
    watches.push_back(std::move(w).value());
  }
  EXPECT_EQ(store->Stats().watchers, kWatchers);
  const int64_t first = store->CurrentRevision() + 1;
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerWriter; ++i) {
        auto key = "/m/" + std::to_string(t) + "/" + std::to_string(i);
        EXPECT_TRUE(store->Create(key, "v").ok());
      }
    });
  }
  for (auto& t : writers) t.join();
  const int64_t last = store->CurrentRevision();
  ASSERT_EQ(last - first + 1, kWriters * kPerWriter);

  std::vector<int64_t> reference;  // the revision sequence of the all-keys watchers
  for (int i = 0; i < kWatchers; ++i) {
    std::vector<EventPtr> events;
    watches[i]->Poll(&events, SIZE_MAX);
    ASSERT_FALSE(watches[i]->Closed());
    if (i % 3 == 0) {
      ASSERT_NO_FATAL_FAILURE(ExpectContiguous(events, first, last)) << "watcher " << i;
    } else if (i % 3 == 1) {
      std::string prefix = "/m/" + std::to_string(i % kWriters) + "/";
      ASSERT_EQ(events.size(), size_t{kPerWriter}) << "watcher " << i;
      for (size_t j = 0; j < events.size(); ++j) {
        ASSERT_TRUE(events[j]->kv.key.starts_with(prefix));
        if (j > 0) {
          ASSERT_LT(events[j - 1]->revision, events[j]->revision);
        }
        ASSERT_EQ(events[j]->kv.key, prefix + std::to_string(j));
      }
    } else {
      ASSERT_TRUE(events.empty());
    }
  }
  EXPECT_GT(notifies.load(), 0);
  watches.clear();
  EXPECT_EQ(store->Stats().watchers, 0);
}

TEST(WatchTest, SlowWatcherOverflowClosesOnlyIt) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto slow = store->StartWatch(WatchOptions{"/", 0, 5, {}});
  auto fast = store->StartWatch(WatchOptions{"/", 0, 100, {}});
  ASSERT_TRUE(slow.ok() && fast.ok());
  std::vector<Op> ops;
  for (int i = 0; i < 20; ++i) ops.push_back({Op::Kind::kCreate, "/s/" + std::to_string(i), "v", {}});
  auto r = store->Txn(ops);
  ASSERT_TRUE(r.ok());  // the writer is not held up by the full buffer

  EXPECT_TRUE((*slow)->Closed());
  EXPECT_EQ((*slow)->CloseReason().code(), Code::kExpired);
  std::vector<EventPtr> drained;
  EXPECT_EQ((*slow)->Poll(&drained, 100), 5u);  // what was queued before the overflow stays
  EXPECT_FALSE((*fast)->Closed());
  ExpectContiguous(DrainThrough(fast->get(), r->back().revision), r->front().revision, r->back().revision);
  EXPECT_EQ(store->Stats().watchers, 1);
}

TEST(WatchTest, NotifyRunsAfterEventsAreQueued) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::atomic<Watch*> watch_ptr{nullptr};
  std::atomic<int> notified_empty{0}, notified{0};
  auto watch = store->StartWatch(WatchOptions{"/", 0, 100, [&] {
                                                ++notified;
                                                // Poll is on the watch, not the store: allowed.
                                                std::vector<EventPtr> got;
                                                Watch* w = watch_ptr.load();
                                                if (w != nullptr && w->Poll(&got, 100) == 0 && !w->Closed()) {
                                                  ++notified_empty;
                                                }
                                              }});
  ASSERT_TRUE(watch.ok());
  watch_ptr = watch->get();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->Create("/n/" + std::to_string(i), "v").ok());
  EXPECT_GE(notified.load(), 1);
  EXPECT_EQ(notified_empty.load(), 0);
  watch_ptr = nullptr;
}

TEST(WatchTest, CancelIsIdempotentAndWatchMayOutliveStore) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto a = store->StartWatch(WatchOptions{"/", 0, 100, {}});
  auto b = store->StartWatch(WatchOptions{"/", 0, 100, {}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(store->Stats().watchers, 2);
  (*a)->Cancel();
  (*a)->Cancel();
  EXPECT_TRUE((*a)->Closed());
  EXPECT_TRUE((*a)->CloseReason().ok());
  EXPECT_EQ(store->Stats().watchers, 1);
  ASSERT_TRUE(store->Create("/x", "v").ok());
  std::vector<EventPtr> events;
  EXPECT_EQ((*a)->Poll(&events, 10), 0u);
  store.reset();
  EXPECT_TRUE((*b)->Closed());
  EXPECT_EQ((*b)->CloseReason().code(), Code::kUnavailable);
  EXPECT_EQ((*b)->Poll(&events, 10), 1u);  // delivered before the shutdown, still drainable
  (*b)->Cancel();
}

TEST(WatchTest, StartBelowCompactedRevisionIsExpired) {
  TempDir dir;
  RocksStoreOptions opts;
  opts.compaction_interval = 0ms;
  auto store = OpenOrDie(dir.path(), opts);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Create("/c/" + std::to_string(i), "v").ok());
  ASSERT_TRUE(store->Compact(6).ok());
  EXPECT_EQ(store->StartWatch(WatchOptions{"/", 5, 100, {}}).status().code(), Code::kExpired);
  auto at = store->StartWatch(WatchOptions{"/", 6, 100, {}});
  ASSERT_TRUE(at.ok());
  ExpectContiguous(DrainThrough(at->get(), 11), 7, 11);
}

}  // namespace
}  // namespace capstan::store
