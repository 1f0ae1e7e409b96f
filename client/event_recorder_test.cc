// EventRecorder against the real API handler over a RocksStore in a temporary directory: what an
// Event carries, de-duplication into a count, the window, re-creation after a delete, Stop()
// draining, and a full queue dropping events without blocking the caller.
#include "client/event_recorder.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "client/informer_test_util.h"

namespace capstan::client {
namespace {

using namespace std::chrono_literals;
namespace ct = capstan::client::testing;

constexpr char kEvents[] = "/api/v1/namespaces/default/events";

json PodRef(const std::string& name, const std::string& uid) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", uid}, {"resourceVersion", "7"}}},
          {"spec", {{"containers", json::array()}}}};
}

// A wall clock that moves only when the test says so.
class FakeWallClock {
 public:
  WallClock Fn() {
    return [this] { return std::chrono::system_clock::time_point(std::chrono::seconds(seconds_.load())); };
  }
  void Advance(std::chrono::seconds d) { seconds_ += d.count(); }
  std::chrono::system_clock::time_point Now() const {
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds_.load()));
  }

 private:
  std::atomic<int64_t> seconds_{1700000000};
};

// Forwards to a real client; while closed, every Create waits until Open().
class BlockingApiClient : public ct::GatedApiClient {
 public:
  explicit BlockingApiClient(ApiClient* inner) : GatedApiClient(inner) {}
  Result<json> Create(const std::string& p, const json& b, const Query& q) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++creates_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    lock.unlock();
    return GatedApiClient::Create(p, b, q);
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitForCreates(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return creates_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;  // guarded by mu_
  int creates_ = 0;    // guarded by mu_
};

class EventRecorderTest : public ct::InProcessApiFixture {
 protected:
  std::vector<json> Events() {
    auto r = client_->List(kEvents);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["items"].get<std::vector<json>>() : std::vector<json>{};
  }
  EventRecorderOptions Options() {
    EventRecorderOptions o;
    o.now = clock_.Fn();
    return o;
  }

  FakeWallClock clock_;
};

TEST_F(EventRecorderTest, RecordsOneEventWithTheObjectReference) {
  EventRecorder recorder(client_.get(), "default-scheduler", Options());
  recorder.Event(PodRef("web-1", "uid-1"), kEventTypeNormal, "Scheduled", "Successfully assigned default/web-1 to n1");
  ASSERT_TRUE(recorder.Flush());
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  const json& e = events[0];
  EXPECT_EQ(e["involvedObject"],
            json({{"kind", "Pod"}, {"namespace", "default"}, {"name", "web-1"}, {"uid", "uid-1"},
                  {"apiVersion", "v1"}, {"resourceVersion", "7"}}));
  EXPECT_EQ(e["reason"], "Scheduled");
  EXPECT_EQ(e["message"], "Successfully assigned default/web-1 to n1");
  EXPECT_EQ(e["type"], "Normal");
  EXPECT_EQ(e["source"]["component"], "default-scheduler");
  EXPECT_EQ(e["reportingComponent"], "default-scheduler");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["firstTimestamp"], FormatRfc3339(clock_.Now()));
  EXPECT_EQ(e["lastTimestamp"], FormatRfc3339(clock_.Now()));
  EXPECT_EQ(e["metadata"]["namespace"], "default");
  EXPECT_TRUE(MetaString(e, "name").starts_with("web-1.")) << e["metadata"]["name"];
  EXPECT_EQ(recorder.Stats().created, 1u);
}

TEST_F(EventRecorderTest, RepeatsBecomeOneEventWithACount) {
  EventRecorder recorder(client_.get(), "default-scheduler", Options());
  const std::string first = FormatRfc3339(clock_.Now());
  for (int i = 0; i < 3; ++i) {
    recorder.Event(PodRef("web-1", "uid-1"), kEventTypeWarning, "FailedScheduling", "0/3 nodes are available");
    clock_.Advance(10s);
  }
  ASSERT_TRUE(recorder.Flush());
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], 3);
  EXPECT_EQ(events[0]["firstTimestamp"], first);
  EXPECT_EQ(events[0]["lastTimestamp"], FormatRfc3339(clock_.Now() - 10s));
  auto stats = recorder.Stats();
  EXPECT_EQ(stats.created, 1u);
  EXPECT_EQ(stats.patched, 2u);
  EXPECT_EQ(stats.failed, 0u);
}

TEST_F(EventRecorderTest, DifferentMessagesOrObjectsAreDifferentEvents) {
  EventRecorder recorder(client_.get(), "default-scheduler", Options());
  recorder.Event(PodRef("web-1", "uid-1"), kEventTypeWarning, "FailedScheduling", "message one");
  recorder.Event(PodRef("web-1", "uid-1"), kEventTypeWarning, "FailedScheduling", "message two");
  recorder.Event(PodRef("web-2", "uid-2"), kEventTypeWarning, "FailedScheduling", "message one");
  ASSERT_TRUE(recorder.Flush());
  auto events = Events();
  ASSERT_EQ(events.size(), 3u);
  for (const json& e : events) EXPECT_EQ(e["count"], 1);
}

TEST_F(EventRecorderTest, ARepeatAfterTheWindowIsANewEvent) {
  EventRecorder recorder(client_.get(), "default-scheduler", Options());
  recorder.Event(PodRef("web-1", "uid-1"), kEventTypeNormal, "Pulled", "pulled");
  clock_.Advance(11min);
  recorder.Event(PodRef("web-1", "uid-1"), kEventTypeNormal, "Pulled", "pulled");
  ASSERT_TRUE(recorder.Flush());
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0]["metadata"]["name"], events[1]["metadata"]["name"]);
}

TEST_F(EventRecorderTest, ClusterScopedObjectsGetEventsInDefault) {
  EventRecorder recorder(client_.get(), "node-controller", Options());
  json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}, {"uid", "node-uid"}}}};
  recorder.Event(node, kEventTypeNormal, "RegisteredNode", "Node n1 event: Registered Node n1");
  ASSERT_TRUE(recorder.Flush());
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0]["involvedObject"].contains("namespace"));
  EXPECT_EQ(events[0]["involvedObject"]["kind"], "Node");
}

TEST_F(EventRecorderTest, ADeletedEventIsCreatedAgainWithItsCount) {
  EventRecorder recorder(client_.get(), "default-scheduler", Options());
  recorder.Event(PodRef("web-1", "uid-1"), kEventTypeNormal, "Scheduled", "assigned");
  ASSERT_TRUE(recorder.Flush());
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  const std::string name = MetaString(events[0], "name");
  ASSERT_TRUE(client_->Delete(std::string(kEvents) + "/" + name).ok());
  recorder.Event(PodRef("web-1", "uid-1"), kEventTypeNormal, "Scheduled", "assigned");
  ASSERT_TRUE(recorder.Flush());
  events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(MetaString(events[0], "name"), name);
  EXPECT_EQ(events[0]["count"], 2);
}

TEST_F(EventRecorderTest, StopSendsWhatIsQueuedAndRefusesMore) {
  auto recorder = std::make_unique<EventRecorder>(client_.get(), "default-scheduler", Options());
  for (int i = 0; i < 5; ++i) {
    recorder->Event(PodRef("web-" + std::to_string(i), "uid-" + std::to_string(i)), kEventTypeNormal, "Scheduled", "x");
  }
  recorder->Stop();
  recorder->Event(PodRef("late", "uid-late"), kEventTypeNormal, "Scheduled", "x");
  auto stats = recorder->Stats();
  EXPECT_EQ(stats.created, 5u);
  EXPECT_EQ(stats.dropped, 1u);
  EXPECT_EQ(Events().size(), 5u);
}

TEST_F(EventRecorderTest, AFullQueueDropsWithoutBlocking) {
  BlockingApiClient blocking(client_.get());
  EventRecorderOptions o = Options();
  o.queue_capacity = 2;
  EventRecorder recorder(&blocking, "default-scheduler", o);
  recorder.Event(PodRef("web-0", "uid-0"), kEventTypeNormal, "Scheduled", "x");
  ASSERT_TRUE(blocking.WaitForCreates(1));  // the sender holds web-0 and waits on the API
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= 10; ++i) {
    recorder.Event(PodRef("web-" + std::to_string(i), "uid-" + std::to_string(i)), kEventTypeNormal, "Scheduled", "x");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  auto stats = recorder.Stats();
  EXPECT_EQ(stats.recorded, 3u);
  EXPECT_EQ(stats.dropped, 8u);
  EXPECT_EQ(stats.queued, 2u);
  blocking.Open();
  ASSERT_TRUE(recorder.Flush());
  EXPECT_EQ(recorder.Stats().created, 3u);
  EXPECT_EQ(Events().size(), 3u);
}

TEST(FormatRfc3339Test, FormatsUtcSeconds) {
  EXPECT_EQ(FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(0))), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000999))),
            "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace capstan::client
