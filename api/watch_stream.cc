#include "api/watch_stream.h"

#include <cstdint>

#include "api/errors.h"
#include "api/object_meta.h"

namespace capstan::api {
namespace {

constexpr size_t kMaxEventsPerRead = 512;

class ErrorStream : public ResponseStream {
 public:
  explicit ErrorStream(std::string line) : line_(std::move(line)) {}
  void SetNotify(std::function<void()>) override {}
  std::string Read(bool* done) override {
    *done = true;
    return std::exchange(line_, std::string());
  }
  std::chrono::steady_clock::time_point Deadline() const override { return std::chrono::steady_clock::now(); }
  void Close() override {}

 private:
  std::string line_;
};

}  // namespace

void NotifyRelay::Set(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  fn_ = std::move(fn);
}

void NotifyRelay::Fire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fn_) fn_();
}

WatchStream::WatchStream(WatchSpec spec, std::vector<json> initial, std::unique_ptr<store::Watch> watch,
                         int64_t start_revision, std::shared_ptr<NotifyRelay> relay)
    : spec_(std::move(spec)),
      end_(std::chrono::steady_clock::now() + spec_.timeout),
      initial_(std::move(initial)),
      watch_(std::move(watch)),
      last_revision_(start_revision),
      next_bookmark_(std::chrono::steady_clock::now() + spec_.bookmark_interval),
      relay_(relay ? std::move(relay) : std::make_shared<NotifyRelay>()) {}

WatchStream::~WatchStream() {
  // Cancel() may notify synchronously; by now the connection that set the callback may be gone.
  relay_->Set(nullptr);
  Close();
}

void WatchStream::SetNotify(std::function<void()> notify) { relay_->Set(std::move(notify)); }

bool WatchStream::Matches(const json& obj) const {
  const json& meta = obj["metadata"];
  auto labels = meta.find("labels");
  if (!spec_.labels.Matches(labels == meta.end() ? json(nullptr) : *labels)) return false;
  if (!spec_.fields.Empty() && !spec_.fields.Matches([&](const std::string& f) { return FieldValue(obj, f); })) {
    return false;
  }
  return true;
}

// Receives the events of one Read()/ReadObjects() call. Owned events (initial objects,
// bookmarks, errors) come as values; store events as the shared decoded event and which side of
// it (the object after the change, or before it for a selector departure).
class WatchStream::Sink {
 public:
  virtual ~Sink() = default;
  // `transform`: apply the spec's transform (objects yes; bookmarks and errors never).
  virtual void Owned(const char* type, json obj, bool transform) = 0;
  virtual void Decoded(const char* type, const DecodedEvent& d, bool before) = 0;
};

namespace {

constexpr char kAdded[] = "ADDED";
constexpr char kModified[] = "MODIFIED";
constexpr char kDeleted[] = "DELETED";

}  // namespace

// Newline-delimited JSON, as the HTTP watch sends it.
class WatchStream::TextSink : public Sink {
 public:
  explicit TextSink(WatchStream* stream) : stream_(stream) {}
  void Owned(const char* type, json obj, bool transform) override {
    if (!transform) {
      json ev = {{"type", type}, {"object", std::move(obj)}};
      out += ev.dump(-1, ' ', false, json::error_handler_t::replace);
      out += '\n';
      return;
    }
    Append(type, obj);
  }
  void Decoded(const char* type, const DecodedEvent& d, bool before) override {
    const json& obj = before ? *d.prev() : *d.cur();
    if (stream_->spec_.transform) return Append(type, obj);
    out += "{\"type\":\"";
    out += type;
    out += "\",\"object\":";
    out += before ? d.prev_json() : d.cur_json();
    out += "}\n";
    stream_->sent_first_ = true;
  }
  std::string out;

 private:
  void Append(const char* type, const json& obj) {
    json ev = {{"type", type}};
    ev["object"] = stream_->Transformed(obj);
    out += ev.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '\n';
  }
  WatchStream* stream_;
};

// The objects themselves; the decoded ones are shared, not copied.
class WatchStream::ObjectSink : public Sink {
 public:
  explicit ObjectSink(WatchStream* stream) : stream_(stream) {}
  void Owned(const char* type, json obj, bool transform) override {
    if (transform && stream_->spec_.transform) obj = stream_->Transformed(obj);
    if (transform) stream_->sent_first_ = true;
    out.push_back({type, std::make_shared<const json>(std::move(obj))});
  }
  void Decoded(const char* type, const DecodedEvent& d, bool before) override {
    const ObjectRef& obj = before ? d.prev() : d.cur();
    if (stream_->spec_.transform) {
      out.push_back({type, std::make_shared<const json>(stream_->Transformed(*obj))});
    } else {
      out.push_back({type, obj});
      stream_->sent_first_ = true;
    }
  }
  std::vector<ObjectEvent> out;

 private:
  WatchStream* stream_;
};

json WatchStream::Transformed(const json& obj) {
  json out = spec_.transform ? spec_.transform(obj, !sent_first_) : obj;
  sent_first_ = true;
  return out;
}

std::string WatchStream::Read(bool* done) {
  TextSink sink(this);
  Produce(&sink, done);
  return std::move(sink.out);
}

std::vector<ObjectEvent> WatchStream::ReadObjects(bool* done) {
  ObjectSink sink(this);
  Produce(&sink, done);
  return std::move(sink.out);
}

void WatchStream::Produce(Sink* sink, bool* done) {
  *done = false;
  if (finished_) {
    *done = true;
    return;
  }
  for (auto& obj : initial_) sink->Owned(kAdded, std::move(obj), true);
  initial_.clear();

  std::vector<store::EventPtr> events;
  if (watch_) watch_->Poll(&events, kMaxEventsPerRead);
  SendStoreEvents(events, sink);

  const auto now = std::chrono::steady_clock::now();
  if (spec_.bookmarks && now >= next_bookmark_ && events.empty()) {
    // A bookmark promises every event up to its revision was delivered; last_revision_ is the
    // newest event this watch has seen, so the promise holds. Never transformed (as Kubernetes).
    json obj = {{"kind", spec_.kind->kind},
                {"apiVersion", spec_.kind->api_version()},
                {"metadata", {{"resourceVersion", std::to_string(last_revision_)}}}};
    sink->Owned("BOOKMARK", std::move(obj), false);
    next_bookmark_ = now + spec_.bookmark_interval;
  }
  const bool more_queued = events.size() == kMaxEventsPerRead;
  if (!more_queued && watch_ && watch_->Closed()) {
    // The store marks a watch closed only after queueing its last event: drain, then end.
    std::vector<store::EventPtr> rest;
    watch_->Poll(&rest, SIZE_MAX);
    SendStoreEvents(rest, sink);
    if (watch_->CloseReason().IsExpired()) {
      sink->Owned("ERROR", StatusObject(Status::Expired("watch closed: the client fell too far behind; re-list")),
                  false);
    }
    finished_ = true;
  }
  if (now >= end_) finished_ = true;
  if (more_queued) relay_->Fire();  // come back for the rest without waiting
  *done = finished_;
}

void WatchStream::SendStoreEvents(const std::vector<store::EventPtr>& events, Sink* sink) {
  for (const auto& ev : events) {
    last_revision_ = ev->revision;
    // Without a shared cache (tests, in-process callers) the stream decodes for itself.
    std::shared_ptr<const DecodedEvent> d = spec_.decoded ? spec_.decoded->Get(ev) : DecodeEvent(ev);
    if (!d->ok()) continue;
    if (ev->type == store::EventType::kDelete) {
      if (Matches(*d->cur())) sink->Decoded(kDeleted, *d, false);
      continue;
    }
    const bool now_matches = Matches(*d->cur());
    // The state before matters only for a selector: without one every object matches.
    const bool selects = !spec_.labels.Empty() || !spec_.fields.Empty();
    bool before_matched = d->has_prev() && !selects;
    if (d->has_prev() && selects) {
      // The state before, for the selector only: the key's previous event decoded it already
      // when the cache still holds that (its resourceVersion differs, which no selector reads).
      std::shared_ptr<const DecodedEvent> earlier =
          spec_.decoded ? spec_.decoded->Peek(ev->prev.mod_revision, ev->prev.key) : nullptr;
      if (earlier && earlier->ok()) before_matched = Matches(*earlier->cur());
      else before_matched = d->prev() && Matches(*d->prev());
    }
    // Selector transitions look like arrivals and departures to the client, as in Kubernetes.
    if (now_matches) sink->Decoded(before_matched ? kModified : kAdded, *d, false);
    else if (before_matched) sink->Decoded(kDeleted, *d, true);
  }
}

std::chrono::steady_clock::time_point WatchStream::Deadline() const {
  if (spec_.bookmarks) return std::min(end_, next_bookmark_);
  return end_;
}

void WatchStream::Close() {
  if (watch_) watch_->Cancel();
  finished_ = true;
}

std::shared_ptr<ResponseStream> WatchStream::Error(const Status& status) {
  json ev = {{"type", "ERROR"}, {"object", StatusObject(status)}};
  return std::make_shared<ErrorStream>(ev.dump() + "\n");
}

}  // namespace capstan::api
