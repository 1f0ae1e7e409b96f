// WatchStream: a Kubernetes watch response over a store::Watch.
//
// Emits newline-delimited {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...} as the
// Kubernetes API server streams it. Events are filtered by namespace (the store prefix), label
// and field selectors; a change that makes an object start or stop matching is sent as ADDED or
// DELETED, as Kubernetes' watch cache does. The stream ends after timeoutSeconds, on overflow of
// the store watch (the client re-lists), or when the server stops.
//
// Thread-safety: driven by one HTTP connection (Read/Deadline/Close); the store's notify callback
// may fire on any thread and only forwards to the connection's notify.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "api/http/http_types.h"
#include "api/decoded_event_cache.h"
#include "api/kind.h"
#include "api/object_event_source.h"
#include "api/selector/selector.h"
#include "store/store.h"

namespace capstan::api {

struct WatchSpec {
  const KindInfo* kind = nullptr;
  std::string ns;                     // empty: all namespaces (or cluster-scoped)
  LabelSelector labels;
  FieldSelector fields;
  bool bookmarks = false;             // allowWatchBookmarks
  std::chrono::seconds timeout{1800};
  std::chrono::seconds bookmark_interval{60};
  // Turns an object into what the client asked for (the object itself, or a Table row);
  // `first` is true for the first object sent on this stream.
  std::function<json(const json& obj, bool first)> transform;
  // Shared decoding of store events (see decoded_event_cache.h); null: decode per stream.
  DecodedEventCache* decoded = nullptr;
};

// Forwards the store watch's notifications to the connection that drives the stream. Created
// before the store watch (whose options need the callback), handed to the stream afterwards.
class NotifyRelay {
 public:
  void Set(std::function<void()> fn);
  void Fire();

 private:
  std::mutex mu_;
  std::function<void()> fn_;  // guarded by mu_
};

class WatchStream : public ResponseStream, public ObjectEventSource {
 public:
  // `initial` are synthetic ADDED objects sent first (a watch without resourceVersion starts
  // with the current state); `watch` follows from `start_revision`, the revision `initial` was
  // read at, and was started with `relay` as its notify target.
  WatchStream(WatchSpec spec, std::vector<json> initial, std::unique_ptr<store::Watch> watch,
              int64_t start_revision, std::shared_ptr<NotifyRelay> relay);
  ~WatchStream() override;

  void SetNotify(std::function<void()> notify) override;
  std::string Read(bool* done) override;
  std::vector<ObjectEvent> ReadObjects(bool* done) override;
  std::chrono::steady_clock::time_point Deadline() const override;
  void Close() override;

  // A stream that sends one ERROR event (e.g. 410 too old resource version) and ends.
  static std::shared_ptr<ResponseStream> Error(const Status& status);

 private:
  class Sink;
  class TextSink;
  class ObjectSink;

  bool Matches(const json& obj) const;
  // The spec's transform of `obj`, telling it whether this is the stream's first object.
  json Transformed(const json& obj);
  // One read's worth of events, into `sink`, for Read() and ReadObjects() alike.
  void Produce(Sink* sink, bool* done);
  void SendStoreEvents(const std::vector<store::EventPtr>& events, Sink* sink);

  // Constant after construction.
  const WatchSpec spec_;
  const std::chrono::steady_clock::time_point end_;

  // Used only by the connection driving the stream.
  std::vector<json> initial_;
  std::unique_ptr<store::Watch> watch_;
  int64_t last_revision_;
  bool sent_first_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point next_bookmark_;

  std::shared_ptr<NotifyRelay> relay_;
};

}  // namespace capstan::api
