// EventRecorder: best-effort core v1 Events about API objects, as client-go's record package
// (EventRecorder + EventBroadcaster + EventCorrelator, in its simplest form) writes them.
//
// Event(obj, type, reason, message) returns at once: it copies the object's reference (kind,
// namespace, name, uid, apiVersion, resourceVersion) and the texts into a bounded queue, and one
// background thread sends them. When the queue is full the event is dropped and counted: events
// are best-effort, and a controller must never slow down or fail because of them.
//
// What the sender writes, per event:
//   - the first occurrence of (involved uid, type, reason, message): POST a v1 Event named
//     "<object name>.<hex timestamp>" in the object's namespace ("default" for cluster-scoped
//     objects) with involvedObject, reason, message, type, source.component, reportingComponent
//     (and source.host / reportingInstance when `host` is set), firstTimestamp = lastTimestamp
//     and count 1;
//   - a repeat within `dedup_window` of the previous occurrence: a strategic-merge PATCH of that
//     Event's count and lastTimestamp (so `kubectl get events` shows "x3" instead of three rows).
//     If the Event is gone (404) it is created again under the same name with the running count;
//   - a repeat after the window: a new Event, as for a first occurrence.
// The de-duplication memory is an LRU map of `cache_size` entries; an evicted key starts over.
// Failed writes are logged at debug level and counted, never retried and never thrown.
//
// Timestamps come from `options.now` (wall time; system_clock by default) when Event() is
// called, not when the event is sent.
//
// Thread-safety: Event, Flush, Stats and Stop may be called from any thread. Lifetime: the
// ApiClient must outlive the recorder (or at least its Stop()).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "client/api_client.h"

namespace capstan::client {

inline constexpr char kEventTypeNormal[] = "Normal";
inline constexpr char kEventTypeWarning[] = "Warning";

using WallClock = std::function<std::chrono::system_clock::time_point()>;

struct EventRecorderOptions {
  size_t queue_capacity = 1000;                     // events waiting to be sent; more are dropped
  size_t cache_size = 4096;                         // LRU entries remembered for de-duplication
  std::chrono::seconds dedup_window{600};           // a repeat within this patches the count
  WallClock now;                                    // nullptr: std::chrono::system_clock::now;
                                                    // called from the callers' threads
  std::string host;                                 // source.host and reportingInstance; optional
};

// Counters since construction, and the queue's size now.
struct EventRecorderStats {
  uint64_t recorded = 0;  // Event() calls accepted into the queue
  uint64_t dropped = 0;   // Event() calls refused: queue full, or after Stop()
  uint64_t created = 0;   // Events POSTed successfully
  uint64_t patched = 0;   // Events whose count was PATCHed successfully
  uint64_t failed = 0;    // writes that failed (logged at debug)
  size_t queued = 0;
};

class EventRecorder {
 public:
  // `api` is borrowed. `component` is source.component and reportingComponent
  // ("default-scheduler", "replicaset-controller"). Starts the sender thread.
  EventRecorder(ApiClient* api, std::string component, EventRecorderOptions options = {});
  ~EventRecorder();  // Stop()

  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Records that `reason` happened to `involved_object` (any API object: only its apiVersion,
  // kind and metadata are read). `type` is kEventTypeNormal or kEventTypeWarning. Never blocks on
  // I/O; never throws.
  void Event(const nlohmann::json& involved_object, std::string_view type, std::string_view reason,
             std::string message);

  // Waits until every event queued so far has been sent (or has failed); false on timeout.
  bool Flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  // Refuses new events, sends the queued ones, and joins the sender. Idempotent.
  void Stop();

  EventRecorderStats Stats() const;

  const std::string& component() const { return component_; }

 private:
  struct Pending {
    nlohmann::json reference;  // the involvedObject
    std::string ns;            // the Event's namespace
    std::string type;
    std::string reason;
    std::string message;
    std::chrono::system_clock::time_point at;
  };
  // What the LRU remembers of the last Event written for one key.
  struct Seen {
    std::string key;
    std::string ns;
    std::string name;
    int64_t count = 0;
    std::string first_timestamp;
    std::chrono::system_clock::time_point last;
  };

  void Run();  // the sender thread
  void Send(Pending& event);
  // POSTs a new Event; on success `seen` names it. Returns whether it was written.
  bool Create(const Pending& event, Seen* seen);
  std::string NewName(const std::string& object_name, std::chrono::system_clock::time_point at);

  // Constant after construction.
  ApiClient* const api_;
  const std::string component_;
  const EventRecorderOptions options_;

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the sender: an event was queued, or stopping
  std::condition_variable idle_;     // Flush(): the queue emptied and nothing is in flight
  // Guarded by mu_. Invariant: queue_.size() <= options_.queue_capacity.
  std::deque<Pending> queue_;
  bool in_flight_ = false;  // the sender holds an event taken from queue_
  bool stopping_ = false;
  EventRecorderStats stats_;  // counters only; `queued` is filled in by Stats()

  // Owned by the sender thread (no lock): the de-duplication LRU, most recent first, and the
  // last name suffix handed out (names stay unique even when the clock stands still).
  std::list<Seen> lru_;
  std::unordered_map<std::string, std::list<Seen>::iterator> lru_index_;
  int64_t last_suffix_ = 0;

  std::mutex stop_mu_;  // serializes Stop() callers around the join
  std::thread thread_;
};

// RFC 3339 in UTC with second precision ("2006-01-02T15:04:05Z"), as metav1.Time serializes.
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace capstan::client
