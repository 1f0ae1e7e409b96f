#include "controller/replicaset/expectations.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace capstan::controller::replicaset {
namespace {

using namespace std::chrono_literals;

class FakeNow {
 public:
  ControllerExpectations::NowFn Fn() {
    return [this] { return now_; };
  }
  void Advance(std::chrono::steady_clock::duration d) { now_ += d; }

 private:
  ControllerExpectations::TimePoint now_ = ControllerExpectations::TimePoint(1000s);
};

TEST(ExpectationsTest, UnknownKeyIsSatisfied) {
  ControllerExpectations e;
  EXPECT_TRUE(e.Satisfied("default/web"));
  EXPECT_FALSE(e.Get("default/web").has_value());
}

TEST(ExpectationsTest, CreationsPendingUntilEveryOneIsObserved) {
  ControllerExpectations e;
  e.ExpectCreations("default/web", 3);
  EXPECT_FALSE(e.Satisfied("default/web"));
  e.CreationObserved("default/web");
  e.CreationObserved("default/web");
  EXPECT_FALSE(e.Satisfied("default/web"));
  EXPECT_EQ(e.Get("default/web")->add, 1);
  e.CreationObserved("default/web");
  EXPECT_TRUE(e.Satisfied("default/web"));
  // Other keys are independent.
  e.ExpectCreations("default/api", 1);
  EXPECT_FALSE(e.Satisfied("default/api"));
  EXPECT_TRUE(e.Satisfied("default/web"));
}

TEST(ExpectationsTest, SkippedCreationsLowerTheCountAtOnce) {
  ControllerExpectations e;
  e.ExpectCreations("k", 7);
  e.CreationObserved("k", 1);  // the first batch's Pod appeared
  e.CreationObserved("k", 6);  // the second batch failed; the rest were never sent
  EXPECT_TRUE(e.Satisfied("k"));
}

TEST(ExpectationsTest, DeletionsAreTrackedByUidAndCountedOnce) {
  ControllerExpectations e;
  e.ExpectDeletions("k", {"uid-a", "uid-b"});
  EXPECT_FALSE(e.Satisfied("k"));
  e.DeletionObserved("k", "uid-a");
  e.DeletionObserved("k", "uid-a");  // deletionTimestamp update, then the delete event
  e.DeletionObserved("k", "uid-x");  // never expected
  EXPECT_FALSE(e.Satisfied("k"));
  EXPECT_EQ(e.Get("k")->del, 1);
  e.DeletionObserved("k", "uid-b");
  EXPECT_TRUE(e.Satisfied("k"));
}

TEST(ExpectationsTest, PendingDeletionsAreTheUidsNotYetObserved) {
  FakeNow clock;
  ControllerExpectations e(clock.Fn());
  EXPECT_TRUE(e.PendingDeletions("k").empty());
  e.ExpectDeletions("k", {"uid-a", "uid-b"});
  e.DeletionObserved("k", "uid-a");
  EXPECT_EQ(e.PendingDeletions("k"), (std::unordered_set<std::string>{"uid-b"}));
  EXPECT_TRUE(e.PendingDeletions("other").empty());
  clock.Advance(5min + 1s);
  EXPECT_TRUE(e.PendingDeletions("k").empty()) << "an expired record expects nothing";
}

TEST(ExpectationsTest, ExpectReplacesTheRecord) {
  ControllerExpectations e;
  e.ExpectDeletions("k", {"uid-a"});
  e.ExpectCreations("k", 2);
  EXPECT_EQ(e.Get("k")->add, 2);
  EXPECT_EQ(e.Get("k")->del, 0);
  e.DeletionObserved("k", "uid-a");  // no longer expected: ignored
  EXPECT_EQ(e.Get("k")->del, 0);
}

TEST(ExpectationsTest, ObservationsWithoutARecordAreIgnored) {
  ControllerExpectations e;
  e.CreationObserved("k");
  e.DeletionObserved("k", "uid");
  EXPECT_FALSE(e.Get("k").has_value());
  EXPECT_TRUE(e.Satisfied("k"));
}

TEST(ExpectationsTest, RecordsExpireAfterTheTtl) {
  FakeNow clock;
  ControllerExpectations e(clock.Fn());
  e.ExpectCreations("k", 1);
  clock.Advance(5min);
  EXPECT_FALSE(e.Satisfied("k")) << "exactly the TTL is not yet expired";
  clock.Advance(1s);
  EXPECT_TRUE(e.Satisfied("k"));
  // Fresh expectations start a new TTL.
  e.ExpectCreations("k", 1);
  EXPECT_FALSE(e.Satisfied("k"));
}

TEST(ExpectationsTest, DeleteForgetsTheKey) {
  ControllerExpectations e;
  e.ExpectCreations("k", 4);
  e.Delete("k");
  EXPECT_TRUE(e.Satisfied("k"));
  EXPECT_FALSE(e.Get("k").has_value());
}

TEST(ExpectationsTest, ConcurrentObservationsAreAllCounted) {
  ControllerExpectations e;
  constexpr int kThreads = 4, kPerThread = 250;
  e.ExpectCreations("k", kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&e] {
      for (int i = 0; i < kPerThread; ++i) {
        e.CreationObserved("k");
        (void)e.Satisfied("k");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(e.Get("k")->add, 0);
  EXPECT_TRUE(e.Satisfied("k"));
}

}  // namespace
}  // namespace capstan::controller::replicaset
