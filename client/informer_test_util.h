// Test helpers for informers and the controllers built on them:
//   - WaitUntil: polls a condition with a deadline (no fixed sleeps in tests).
//   - EventRecorder: a ResourceEventHandler that records "add k rv", "update k rv->rv",
//     "delete k" lines, thread-safe.
//   - FakeApiClient: a scripted ApiClient (list answers from a function; each watch is a
//     FakeWatch the test pushes events into or ends).
//   - GatedApiClient: wraps a real ApiClient, counts LIST/WATCH calls, and can cut every watch
//     and refuse new ones ("the watch is down"), to open gaps a re-list must repair.
//   - InProcessApiFixture: api::testing::ApiTest (a RocksStore in a temporary directory and an
//     ApiHandler over it) plus an InProcessApiClient with the admin token. Informers created in
//     a test body are destroyed before TearDown closes the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/api_test_util.h"
#include "client/api_client.h"
#include "client/in_process_api_client.h"
#include "client/informer.h"
#include "client/json_fields.h"

namespace capstan::client::testing {

using json = nlohmann::json;

inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// The value of query parameter `name`, or "" (and `found` false).
inline std::string QueryValue(const Query& query, const std::string& name, bool* found = nullptr) {
  for (const auto& [key, value] : query) {
    if (key == name) {
      if (found) *found = true;
      return value;
    }
  }
  if (found) *found = false;
  return "";
}

class EventRecorder {
 public:
  ResourceEventHandler Handler() {
    ResourceEventHandler h;
    h.on_add = [this](const ObjectPtr& obj) { Record("add " + ObjectKey(*obj) + " " + Rv(*obj)); };
    h.on_update = [this](const ObjectPtr& old_obj, const ObjectPtr& obj) {
      Record("update " + ObjectKey(*obj) + " " + Rv(*old_obj) + "->" + Rv(*obj));
    };
    h.on_delete = [this](const ObjectPtr& obj) { Record("delete " + ObjectKey(*obj)); };
    return h;
  }

  std::vector<std::string> Events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  size_t Size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }
  // Events starting with `prefix` ("add ", "delete default/x").
  size_t Count(const std::string& prefix) const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& e : events_) n += e.starts_with(prefix) ? 1 : 0;
    return n;
  }
  bool WaitForSize(size_t n, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    events_.clear();
  }

  static std::string Rv(const json& obj) { return MetaString(obj, "resourceVersion"); }

 private:
  void Record(std::string line) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(line));
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::string> events_;  // guarded by mu_
};

// The test's end of one fake watch.
class FakeWatch {
 public:
  explicit FakeWatch(Query query) : query_(std::move(query)) {}
  const Query& query() const { return query_; }
  void Push(json event) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  void End(Status status = Status::Ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    status_ = std::move(status);
    cv_.notify_all();
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

 private:
  friend class FakeWatchEvents;
  const Query query_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<json> events_;  // guarded by mu_
  bool ended_ = false;       // guarded by mu_
  Status status_;            // guarded by mu_
  bool cancelled_ = false;   // guarded by mu_
};

class FakeWatchEvents : public WatchEvents {
 public:
  explicit FakeWatchEvents(std::shared_ptr<FakeWatch> w) : w_(std::move(w)) {}
  ~FakeWatchEvents() override { Cancel(); }
  Result<std::optional<json>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(w_->mu_);
    w_->cv_.wait_for(lock, timeout, [&] { return w_->cancelled_ || !w_->events_.empty() || w_->ended_; });
    if (w_->cancelled_) return std::optional<json>();
    if (!w_->events_.empty()) {
      std::optional<json> e(std::move(w_->events_.front()));
      w_->events_.pop_front();
      return e;
    }
    if (w_->ended_ && !w_->status_.ok()) return w_->status_;
    return std::optional<json>();
  }
  bool Ended() const override {
    std::lock_guard<std::mutex> lock(w_->mu_);
    return w_->cancelled_ || (w_->ended_ && w_->events_.empty());
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(w_->mu_);
    w_->cancelled_ = true;
    w_->cv_.notify_all();
  }

 private:
  std::shared_ptr<FakeWatch> w_;
};

// A scripted ApiClient for informer unit tests. Set `on_list` (and optionally `on_watch`, which
// may refuse a watch with an error) before the informer starts.
class FakeApiClient : public ApiClient {
 public:
  std::function<Result<json>(const Query& query)> on_list;
  std::function<Status(const Query& query)> on_watch;

  Result<json> Get(const std::string&, const Query&) override { return Unsupported(); }
  Result<json> List(const std::string&, const Query& query) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      list_queries_.push_back(query);
    }
    return on_list(query);
  }
  Result<json> Create(const std::string&, const json&, const Query&) override { return Unsupported(); }
  Result<json> Update(const std::string&, const json&, const Query&) override { return Unsupported(); }
  Result<json> Patch(const std::string&, PatchType, const json&, const Query&) override { return Unsupported(); }
  Result<json> Delete(const std::string&, const json&, const Query&) override { return Unsupported(); }
  Result<std::unique_ptr<WatchEvents>> Watch(const std::string&, const Query& query) override {
    std::lock_guard<std::mutex> lock(mu_);
    watch_queries_.push_back(query);
    if (on_watch) {
      Status refused = on_watch(query);
      if (!refused.ok()) return refused;
    }
    auto w = std::make_shared<FakeWatch>(query);
    watches_.push_back(w);
    cv_.notify_all();
    return std::unique_ptr<WatchEvents>(new FakeWatchEvents(std::move(w)));
  }

  // The index-th watch opened (0-based), waiting for it; null on timeout.
  std::shared_ptr<FakeWatch> WaitForWatch(size_t index,
                                          std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return watches_.size() > index; })) return nullptr;
    return watches_[index];
  }
  std::vector<Query> ListQueries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return list_queries_;
  }
  std::vector<Query> WatchQueries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return watch_queries_;
  }

 private:
  static Status Unsupported() { return Status(Code::kMethodNotAllowed, "FakeApiClient: not scripted"); }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Query> list_queries_;                // guarded by mu_
  std::vector<Query> watch_queries_;               // guarded by mu_
  std::vector<std::shared_ptr<FakeWatch>> watches_;  // guarded by mu_
};

// Forwards to a real ApiClient; counts LIST and WATCH calls; Block() ends every open watch with
// kUnavailable and refuses new ones until Unblock().
class GatedApiClient : public ApiClient {
 public:
  explicit GatedApiClient(ApiClient* inner) : inner_(inner), gate_(std::make_shared<Gate>()) {}

  void Block() {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->blocked = true;
    ++gate_->generation;
  }
  void Unblock() {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->blocked = false;
  }
  int lists() const { return lists_.load(); }
  int watches() const { return watches_.load(); }

  Result<json> Get(const std::string& p, const Query& q) override { return inner_->Get(p, q); }
  Result<json> List(const std::string& p, const Query& q) override {
    ++lists_;
    return inner_->List(p, q);
  }
  Result<json> Create(const std::string& p, const json& b, const Query& q) override { return inner_->Create(p, b, q); }
  Result<json> Update(const std::string& p, const json& b, const Query& q) override { return inner_->Update(p, b, q); }
  Result<json> Patch(const std::string& p, PatchType t, const json& b, const Query& q) override {
    return inner_->Patch(p, t, b, q);
  }
  Result<json> Delete(const std::string& p, const json& o, const Query& q) override { return inner_->Delete(p, o, q); }
  Result<std::unique_ptr<WatchEvents>> Watch(const std::string& p, const Query& q) override {
    ++watches_;
    int64_t generation;
    {
      std::lock_guard<std::mutex> lock(gate_->mu);
      if (gate_->blocked) return Status::Unavailable("GatedApiClient: watches are blocked");
      generation = gate_->generation;
    }
    auto inner = inner_->Watch(p, q);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<WatchEvents>(new GatedWatch(std::move(inner).value(), gate_, generation));
  }

 private:
  struct Gate {
    std::mutex mu;
    bool blocked = false;    // guarded by mu
    int64_t generation = 0;  // guarded by mu; bumped by Block()
  };

  // Polls the inner watch in short slices so that Block() ends it.
  class GatedWatch : public WatchEvents {
   public:
    GatedWatch(std::unique_ptr<WatchEvents> inner, std::shared_ptr<Gate> gate, int64_t generation)
        : inner_(std::move(inner)), gate_(std::move(gate)), generation_(generation) {}
    Result<std::optional<json>> Next(std::chrono::milliseconds timeout) override {
      const auto end = std::chrono::steady_clock::now() + timeout;
      for (;;) {
        if (Cut()) return Status::Unavailable("GatedApiClient: watch cut");
        auto slice = std::min<std::chrono::milliseconds>(
            std::chrono::milliseconds(20),
            std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()));
        auto next = inner_->Next(std::max(slice, std::chrono::milliseconds(0)));
        if (!next.ok() || next->has_value() || inner_->Ended() || std::chrono::steady_clock::now() >= end) {
          if (Cut()) return Status::Unavailable("GatedApiClient: watch cut");
          return next;
        }
      }
    }
    bool Ended() const override { return inner_->Ended(); }
    void Cancel() override { inner_->Cancel(); }

   private:
    bool Cut() const {
      std::lock_guard<std::mutex> lock(gate_->mu);
      return gate_->generation != generation_;
    }
    std::unique_ptr<WatchEvents> inner_;
    std::shared_ptr<Gate> gate_;
    const int64_t generation_;
  };

  ApiClient* const inner_;
  std::shared_ptr<Gate> gate_;
  std::atomic<int> lists_{0};
  std::atomic<int> watches_{0};
};

class InProcessApiFixture : public api::testing::ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    api::ApiHandler* handler = handler_.get();
    client_ = std::make_unique<InProcessApiClient>(
        [handler](const api::HttpRequest& r) { return handler->Handle(r); }, api::testing::kAdminToken);
  }
  void TearDown() override {
    client_.reset();
    ApiTest::TearDown();
  }

  // Creates a namespace through the client.
  void MakeNamespace(const std::string& name) {
    auto r = client_->Create("/api/v1/namespaces", api::testing::NamespaceObj(name));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::unique_ptr<InProcessApiClient> client_;
};

}  // namespace capstan::client::testing
