#include "plugins/docker/event_watcher.h"

#include <algorithm>
#include <cstdio>

namespace capstan::plugins::docker {
namespace {

constexpr std::chrono::milliseconds kMinBackoff{100}, kMaxBackoff{5000};
// Connecting and the answer's header: the engine answers /events at once when it is up.
constexpr std::chrono::milliseconds kConnectTimeout{5000};

std::string SinceOf(int64_t unix_nano) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(unix_nano / 1000000000),
                static_cast<long long>(unix_nano % 1000000000));
  return buf;
}

}  // namespace

EventWatcher::EventWatcher(const DockerClient& client, nlohmann::json filters, Handler handler, const sdk::Host& host)
    : client_(client), filters_(filters.dump()), handler_(std::move(handler)), host_(host), thread_([this] { Run(); }) {}

EventWatcher::~EventWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool EventWatcher::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool EventWatcher::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !wake_.wait_for(lock, d, [this] { return stopping_; });
}

void EventWatcher::Run() {
  std::chrono::milliseconds backoff = kMinBackoff;
  bool lost = false;  // logged that the stream is lost
  while (!stopping()) {
    // After a break, ask for what happened since: the last event's time, or else when the stream
    // was last connected (by this host's clock; the engine's may differ a little).
    std::string target = "/events?filters=" + UrlEncode(filters_);
    if (!since_.empty()) target += "&since=" + since_;
    const int64_t connected_at = sdk::NowUnixNano();
    sdk::Result<std::unique_ptr<ResponseStream>> stream =
        client_.Stream({"GET", target, "", {}}, "follow the engine's events",
                       std::min(kConnectTimeout, client_.default_timeout()));
    if (!stream.ok()) {
      if (!lost) host_.Warn("docker events: " + stream.error().message + " (retrying)");
      lost = true;
      if (!Sleep(backoff)) return;
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    if (lost) host_.Info("docker events: following the engine's events again");
    lost = false;
    backoff = kMinBackoff;
    if (since_.empty()) since_ = SinceOf(connected_at);
    Follow(*stream.value());
    if (stopping()) return;
    host_.Warn("docker events: the event stream ended (retrying)");
    lost = true;
  }
}

void EventWatcher::Follow(ResponseStream& stream) {
  std::string pending;  // bytes of events not yet complete: one JSON document per line
  while (!stopping()) {
    sdk::Result<ResponseStream::ReadResult> r = stream.Read(kPoll, &pending);
    if (!r.ok() || r.value() == ResponseStream::ReadResult::kEnd) return;
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      const nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
      if (!event.is_object()) continue;
      if (event.contains("timeNano") && event["timeNano"].is_number_integer()) {
        since_ = SinceOf(event["timeNano"].get<int64_t>());
      }
      handler_(event);
    }
  }
}

}  // namespace capstan::plugins::docker
