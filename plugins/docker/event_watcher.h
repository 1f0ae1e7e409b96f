// EventWatcher: follows the engine's event stream (GET /events) on a thread of its own and hands
// every event to a callback.
//
// The stream is filtered on the engine's side (`filters`, docker's JSON form). When the connection
// cannot be made or breaks (the engine restarts, say), the watcher reconnects with exponential
// backoff (100 ms doubling to 5 s) and asks for the events since the last one it saw, so a short
// outage loses nothing (the callback may then see an event twice: it must be idempotent). Losing
// and regaining the stream is logged once each, not at every retry.
//
// Thread-safety: the callback runs on the watcher's thread, one event at a time. The destructor
// stops the thread and joins it within about kPoll (it must not be called from the callback).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "capstan/driver_sdk.hpp"
#include "plugins/docker/docker_client.h"

namespace capstan::plugins::docker {

class EventWatcher {
 public:
  using Handler = std::function<void(const nlohmann::json& event)>;

  // How long a read waits before the thread looks whether it should stop.
  static constexpr std::chrono::milliseconds kPoll{200};

  // Starts following at once. `client` and `host` must outlive the watcher.
  EventWatcher(const DockerClient& client, nlohmann::json filters, Handler handler, const sdk::Host& host);
  ~EventWatcher();
  EventWatcher(const EventWatcher&) = delete;
  EventWatcher& operator=(const EventWatcher&) = delete;

 private:
  void Run();
  // Follows one connection until it breaks or the watcher stops.
  void Follow(ResponseStream& stream);
  // Sleeps `d` unless the watcher stops first; false when it stops.
  bool Sleep(std::chrono::milliseconds d);
  bool stopping();

  // Constant after construction.
  const DockerClient& client_;
  const std::string filters_;  // the JSON text
  const Handler handler_;
  const sdk::Host host_;

  // Used by the thread only.
  std::string since_;  // "<seconds>.<nanoseconds>" of the last event seen, "" before any

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_

  std::thread thread_;  // last: started when everything above is ready
};

}  // namespace capstan::plugins::docker
