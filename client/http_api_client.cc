#include "client/http_api_client.h"

#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace capstan::client {
namespace {

using json = nlohmann::json;

// The read timeout of a watch: the option, capped a little above the timeoutSeconds the server
// was asked to end the stream at.
std::chrono::milliseconds IdleTimeout(const Query& query, std::chrono::milliseconds option) {
  for (const auto& [key, value] : query) {
    if (key != "timeoutSeconds") continue;
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && end == value.data() + value.size() && seconds > 0) {
      return std::min(option, std::chrono::milliseconds(std::chrono::seconds(seconds + 5)));
    }
  }
  return option;
}

// The state shared by the reader thread and the consumer.
struct WatchState {
  std::mutex mu;
  std::condition_variable cv;   // any change below
  std::deque<json> queue;       // guarded by mu; size <= capacity
  bool finished = false;        // guarded by mu; the reader returned
  Status status;                // guarded by mu; its result, once finished
  bool cancelled = false;       // guarded by mu
  size_t capacity = 1;          // constant
};

class HttpWatchEvents : public WatchEvents {
 public:
  HttpWatchEvents(const RestClient* rest, std::string path, Query query, size_t capacity,
                  std::chrono::milliseconds idle_timeout)
      : state_(std::make_shared<WatchState>()) {
    state_->capacity = std::max<size_t>(capacity, 1);
    thread_ = std::thread([state = state_, rest, path = std::move(path), query = std::move(query), idle_timeout] {
      Status status;
      try {
        status = rest->Watch(
            path, query,
            [&state](const json& event) {
              std::unique_lock<std::mutex> lock(state->mu);
              state->cv.wait(lock, [&] { return state->cancelled || state->queue.size() < state->capacity; });
              if (state->cancelled) return false;
              state->queue.push_back(event);
              state->cv.notify_all();
              return true;
            },
            "", idle_timeout);
      } catch (const std::exception& e) {
        status = Status::Internal("watch " + path + ": " + e.what());
      } catch (...) {
        status = Status::Internal("watch " + path + ": unknown exception");
      }
      std::lock_guard<std::mutex> lock(state->mu);
      state->finished = true;
      state->status = std::move(status);
      state->cv.notify_all();
    });
  }

  ~HttpWatchEvents() override {
    Cancel();
    thread_.join();  // may wait for the server: see "Latency of Cancel()" in the header
  }

  Result<std::optional<json>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait_for(lock, timeout,
                        [&] { return state_->cancelled || !state_->queue.empty() || state_->finished; });
    if (state_->cancelled) return std::optional<json>();
    if (!state_->queue.empty()) {
      std::optional<json> event(std::move(state_->queue.front()));
      state_->queue.pop_front();
      state_->cv.notify_all();  // room for the reader
      return event;
    }
    if (state_->finished && !state_->status.ok()) return state_->status;
    return std::optional<json>();
  }

  bool Ended() const override {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->cancelled || (state_->finished && state_->queue.empty());
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->cancelled = true;
    state_->queue.clear();
    state_->cv.notify_all();
  }

 private:
  std::shared_ptr<WatchState> state_;
  std::thread thread_;
};

}  // namespace

HttpApiClient::HttpApiClient(const RestClient* rest, HttpApiClientOptions options)
    : rest_(rest), options_(options) {}

Result<json> HttpApiClient::Get(const std::string& path, const Query& query) { return rest_->Get(path, query); }

Result<json> HttpApiClient::List(const std::string& path, const Query& query) {
  Result<json> list = rest_->Get(path, query);
  if (!list.ok()) return list;
  CAPSTAN_RETURN_IF_ERROR(CheckListShape(path, *list));
  return list;
}

Result<json> HttpApiClient::Create(const std::string& path, const json& body, const Query& query) {
  return rest_->Create(path, body, query);
}

Result<json> HttpApiClient::Update(const std::string& path, const json& body, const Query& query) {
  return rest_->Update(path, body, query);
}

Result<json> HttpApiClient::Patch(const std::string& path, PatchType type, const json& patch, const Query& query) {
  return rest_->Patch(path, type, patch, query);
}

Result<json> HttpApiClient::Delete(const std::string& path, const json& options, const Query& query) {
  return rest_->Delete(path, options, query);
}

Result<std::unique_ptr<WatchEvents>> HttpApiClient::Watch(const std::string& path, const Query& query) {
  Query full = WithWatchParam(query);
  std::chrono::milliseconds idle = IdleTimeout(full, options_.watch_idle_timeout);
  return std::unique_ptr<WatchEvents>(
      std::make_unique<HttpWatchEvents>(rest_, path, std::move(full), options_.watch_queue, idle));
}

}  // namespace capstan::client
