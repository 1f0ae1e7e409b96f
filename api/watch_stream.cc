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

void WatchStream::AppendEvent(std::string* out, const char* type, const json& obj) {
  json ev = {{"type", type}};
  ev["object"] = spec_.transform ? spec_.transform(obj, !sent_first_) : obj;
  sent_first_ = true;
  *out += ev.dump(-1, ' ', false, json::error_handler_t::replace);
  *out += '\n';
}

std::string WatchStream::Read(bool* done) {
  std::string out;
  *done = false;
  if (finished_) {
    *done = true;
    return out;
  }
  for (auto& obj : initial_) AppendEvent(&out, "ADDED", obj);
  initial_.clear();

  std::vector<store::EventPtr> events;
  if (watch_) watch_->Poll(&events, kMaxEventsPerRead);
  AppendStoreEvents(events, &out);

  const auto now = std::chrono::steady_clock::now();
  if (spec_.bookmarks && now >= next_bookmark_ && events.empty()) {
    // A bookmark promises every event up to its revision was delivered; last_revision_ is the
    // newest event this watch has seen, so the promise holds.
    json obj = {{"kind", spec_.kind->kind},
                {"apiVersion", spec_.kind->api_version()},
                {"metadata", {{"resourceVersion", std::to_string(last_revision_)}}}};
    json ev = {{"type", "BOOKMARK"}, {"object", obj}};
    out += ev.dump() + "\n";
    next_bookmark_ = now + spec_.bookmark_interval;
  }
  const bool more_queued = events.size() == kMaxEventsPerRead;
  if (!more_queued && watch_ && watch_->Closed()) {
    // The store marks a watch closed only after queueing its last event: drain, then end.
    std::vector<store::EventPtr> rest;
    watch_->Poll(&rest, SIZE_MAX);
    AppendStoreEvents(rest, &out);
    if (watch_->CloseReason().IsExpired()) {
      json ev = {{"type", "ERROR"},
                 {"object", StatusObject(Status::Expired("watch closed: the client fell too far behind; re-list"))}};
      out += ev.dump() + "\n";
    }
    finished_ = true;
  }
  if (now >= end_) finished_ = true;
  if (more_queued) relay_->Fire();  // come back for the rest without waiting
  *done = finished_;
  return out;
}

void WatchStream::AppendEncoded(std::string* out, const char* type, const json& obj, const std::string& encoded) {
  if (spec_.transform) return AppendEvent(out, type, obj);
  *out += "{\"type\":\"";
  *out += type;
  *out += "\",\"object\":";
  *out += encoded;
  *out += "}\n";
  sent_first_ = true;
}

void WatchStream::AppendStoreEvents(const std::vector<store::EventPtr>& events, std::string* out) {
  for (const auto& ev : events) {
    last_revision_ = ev->revision;
    // Without a shared cache (tests, in-process callers) the stream decodes for itself.
    std::shared_ptr<const DecodedEvent> d = spec_.decoded ? spec_.decoded->Get(*ev) : DecodeEvent(*ev);
    if (!d->ok) continue;
    if (ev->type == store::EventType::kDelete) {
      if (Matches(d->cur)) AppendEncoded(out, "DELETED", d->cur, d->cur_json);
      continue;
    }
    const bool now_matches = Matches(d->cur);
    const bool before_matched = d->has_prev && Matches(d->prev);
    // Selector transitions look like arrivals and departures to the client, as in Kubernetes.
    if (now_matches) AppendEncoded(out, before_matched ? "MODIFIED" : "ADDED", d->cur, d->cur_json);
    else if (before_matched) AppendEncoded(out, "DELETED", d->prev, d->prev_json);
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
