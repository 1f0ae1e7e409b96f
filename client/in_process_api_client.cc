#include "client/in_process_api_client.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "api/object_event_source.h"
#include "client/json_fields.h"

namespace capstan::client {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A stream whose Deadline() has passed is read again after this, not in a busy loop (as the
// HTTP server does).
constexpr std::chrono::milliseconds kMinStreamWait{10};

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// A successful answer's text body as JSON (an empty body: an empty object).
Result<json> ParseAnswer(const std::string& method, const std::string& path, const std::string& body) {
  if (body.empty()) return json::object();
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::Internal(method + " " + path + ": the server answered with invalid JSON");
  return parsed;
}

// Invalid UTF-8 in a string value is replaced rather than thrown about.

// What the stream's notify callback and Cancel() signal to a waiting Next(). Shared with the
// callback, which the stream may keep (and call) for a while after the WatchEvents is gone.
struct Signal {
  std::mutex mu;
  std::condition_variable cv;
  bool notified = false;   // guarded by mu; Read() may have data
  bool cancelled = false;  // guarded by mu
};

class InProcessWatchEvents : public WatchEvents {
 public:
  InProcessWatchEvents(std::shared_ptr<api::ResponseStream> stream, std::string path)
      : path_(std::move(path)),
        stream_(std::move(stream)),
        objects_(dynamic_cast<api::ObjectEventSource*>(stream_.get())),
        signal_(std::make_shared<Signal>()) {
    std::lock_guard<std::mutex> lock(stream_mu_);
    stream_->SetNotify([signal = signal_] {
      std::lock_guard<std::mutex> l(signal->mu);
      signal->notified = true;
      signal->cv.notify_all();
    });
  }

  // A finished answer (a 2xx without a stream): its body is the whole stream.
  InProcessWatchEvents(const std::string& body, std::string path)
      : path_(std::move(path)), signal_(std::make_shared<Signal>()), closed_(true) {
    buffer_ = body;
    ParseLines(/*at_end=*/true);
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
  }

  ~InProcessWatchEvents() override {
    {
      std::lock_guard<std::mutex> lock(stream_mu_);
      if (stream_) stream_->SetNotify(nullptr);
    }
    Cancel();
  }

  Result<std::optional<json>> Next(std::chrono::milliseconds timeout) override {
    Result<std::optional<WatchEvent>> next = NextEvent(timeout);
    if (!next.ok()) return next.status();
    if (!next->has_value()) return std::optional<json>();
    return std::optional<json>(json{{"type", (*next)->type}, {"object", *(*next)->object}});
  }

  Result<std::optional<WatchEvent>> NextEvent(std::chrono::milliseconds timeout) override {
    const auto end = Clock::now() + timeout;
    for (;;) {
      if (Cancelled()) return std::optional<WatchEvent>();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!events_.empty()) {
          std::optional<WatchEvent> event(std::move(events_.front()));
          events_.pop_front();
          return event;
        }
        if (ended_) {
          if (!status_.ok()) return status_;
          return std::optional<WatchEvent>();
        }
      }
      {
        std::lock_guard<std::mutex> lock(signal_->mu);
        signal_->notified = false;  // cleared before Read(): a later notify is not lost
      }
      bool done = false;
      Clock::time_point deadline = Clock::now();
      std::vector<api::ObjectEvent> objects;
      {
        std::lock_guard<std::mutex> lock(stream_mu_);
        if (closed_) {
          done = true;
        } else {
          if (objects_) {
            objects = objects_->ReadObjects(&done);
          } else {
            buffer_ += stream_->Read(&done);
          }
          deadline = stream_->Deadline();
          if (done) {
            stream_->Close();
            closed_ = true;
          }
        }
      }
      const bool more = objects_ ? TakeObjects(std::move(objects)) : ParseLines(done);
      if (!more) {
        std::lock_guard<std::mutex> lock(stream_mu_);  // an ERROR event: nothing else to read
        if (!closed_) {
          stream_->Close();
          closed_ = true;
        }
      }
      if (done || !more) {
        std::lock_guard<std::mutex> lock(mu_);
        ended_ = true;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!events_.empty() || ended_) continue;
      }
      const auto now = Clock::now();
      if (now >= end) return std::optional<WatchEvent>();
      const auto wake = std::min(end, std::max(deadline, now + kMinStreamWait));
      std::unique_lock<std::mutex> lock(signal_->mu);
      signal_->cv.wait_until(lock, wake, [&] { return signal_->notified || signal_->cancelled; });
    }
  }

  bool Ended() const override {
    if (Cancelled()) return true;
    std::lock_guard<std::mutex> lock(mu_);
    return ended_ && events_.empty();
  }

  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(signal_->mu);
      signal_->cancelled = true;
      signal_->cv.notify_all();
    }
    // Not under signal_->mu: Close() may call the notify callback synchronously.
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (!closed_) {
      stream_->Close();
      closed_ = true;
    }
  }

 private:
  bool Cancelled() const {
    std::lock_guard<std::mutex> lock(signal_->mu);
    return signal_->cancelled;
  }

  // Moves the complete lines of buffer_ (and, `at_end`, a last unterminated one) into events_.
  // An ERROR event or an unparsable line sets status_ and returns false: the watch is over.
  bool ParseLines(bool at_end) {
    size_t start = 0;
    bool go_on = true;
    for (;;) {
      size_t newline = buffer_.find('\n', start);
      std::string_view line;
      if (newline != std::string::npos) {
        line = std::string_view(buffer_).substr(start, newline - start);
        start = newline + 1;
      } else if (at_end && start < buffer_.size()) {
        line = std::string_view(buffer_).substr(start);
        start = buffer_.size();
      } else {
        break;
      }
      if (!HandleLine(line)) {
        go_on = false;
        break;
      }
    }
    buffer_.erase(0, start);
    return go_on;
  }

  // Queues events the stream handed over as objects; an ERROR event ends the watch (false).
  bool TakeObjects(std::vector<api::ObjectEvent> objects) {
    std::lock_guard<std::mutex> lock(mu_);
    for (api::ObjectEvent& ev : objects) {
      if (ev.type == "ERROR") {
        status_ = StatusFromWatchError(*ev.object);
        return false;
      }
      events_.push_back({std::move(ev.type), std::move(ev.object)});
    }
    return true;
  }

  bool HandleLine(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return true;
    json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::lock_guard<std::mutex> lock(mu_);
    if (event.is_discarded() || !event.is_object()) {
      status_ = Status::Internal("watch " + path_ + ": invalid event from the server: " +
                                 std::string(line.substr(0, 200)));
      return false;
    }
    if (StringField(event, "type") == "ERROR") {
      status_ = StatusFromWatchError(Field(event, "object"));
      return false;
    }
    std::string type = StringField(event, "type");
    auto object = event.find("object");
    events_.push_back({std::move(type), std::make_shared<const json>(object == event.end() ? json() : std::move(*object))});
    return true;
  }

  const std::string path_;

  std::mutex stream_mu_;  // serializes every call into stream_ (a ResponseStream is not thread-safe)
  std::shared_ptr<api::ResponseStream> stream_;  // guarded by stream_mu_; null for a finished answer
  // stream_ as an object source (a watch of ours: no text in between), or null: read the text.
  api::ObjectEventSource* const objects_ = nullptr;
  const std::shared_ptr<Signal> signal_;
  bool closed_ = false;  // guarded by stream_mu_

  std::string buffer_;  // used by Next() only: bytes of an incomplete line

  mutable std::mutex mu_;
  std::deque<WatchEvent> events_;  // guarded by mu_; received, not yet returned
  bool ended_ = false;       // guarded by mu_; the stream is over (normally or with status_)
  Status status_;            // guarded by mu_; the error that ended it, if any
};

}  // namespace

InProcessApiClient::InProcessApiClient(Handler handler, std::string token, std::string user_agent)
    : handler_(std::move(handler)), token_(std::move(token)), user_agent_(std::move(user_agent)) {}

Result<api::HttpRequest> InProcessApiClient::MakeRequest(const std::string& method, const std::string& path,
                                                         const Query& query, json* body,
                                                         const std::string& content_type) const {
  api::HttpRequest req;
  req.method = method;
  if (!api::PercentDecode(path, &req.path, false)) {
    return Status::BadRequest(method + " " + path + ": malformed percent-escape in the path");
  }
  if (!query.empty() && !api::ParseQuery(EncodeQuery(query), &req.query)) {
    return Status::BadRequest(method + " " + path + ": malformed query");  // not reached: we encoded it
  }
  req.headers.Add("Accept", "application/json");
  req.headers.Add("User-Agent", user_agent_);
  if (!token_.empty()) req.headers.Add("Authorization", "Bearer " + token_);
  if (body != nullptr) {
    req.headers.Add("Content-Type", content_type);
    req.decoded_body = std::make_shared<json>(std::move(*body));
  }
  req.decoded_response = true;
  req.remote = "in-process";
  return req;
}

Result<api::HttpResponse> InProcessApiClient::Call(const api::HttpRequest& request) const {
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    return Status::Internal(request.method + " " + request.path + ": " + e.what());
  } catch (...) {
    return Status::Internal(request.method + " " + request.path + ": unknown exception");
  }
}

Result<json> InProcessApiClient::DoJson(const std::string& method, const std::string& path, const Query& query,
                                        const json* body, const std::string& content_type) const {
  if (body == nullptr) return DoJsonTaking(method, path, query, nullptr, content_type);
  json copy = *body;
  return DoJsonTaking(method, path, query, &copy, content_type);
}

Result<api::HttpResponse> InProcessApiClient::DoTaking(const std::string& method, const std::string& path,
                                                       const Query& query, json* body,
                                                       const std::string& content_type) const {
  Result<api::HttpRequest> request = MakeRequest(method, path, query, body, content_type);
  if (!request.ok()) return request.status();
  Result<api::HttpResponse> response = Call(*request);
  if (!response.ok()) return response.status();
  if (response->stream) {
    response->stream->Close();
    return Status::Internal(method + " " + path + ": the server answered with a stream");
  }
  if (!IsSuccess(response->status)) return StatusFromResponse(response->status, response->body);
  return response;
}

Result<json> InProcessApiClient::DoJsonTaking(const std::string& method, const std::string& path, const Query& query,
                                              json* body, const std::string& content_type) const {
  Result<api::HttpResponse> response = DoTaking(method, path, query, body, content_type);
  if (!response.ok()) return response.status();
  if (response->decoded_body) return std::move(*response->decoded_body);
  if (response->shared_body) return json(*response->shared_body);  // the caller's own: a copy
  return ParseAnswer(method, path, response->body);
}

Result<ObjectPtr> InProcessApiClient::WriteShared(SharedWrite verb, const std::string& path, PatchType type,
                                                  json&& body, const Query& query) {
  static constexpr const char* kMethods[] = {"POST", "PUT", "PATCH", "DELETE"};
  const std::string method = kMethods[static_cast<int>(verb)];
  const std::string content_type = verb == SharedWrite::kPatch ? PatchContentType(type) : "application/json";
  Result<api::HttpResponse> response = DoTaking(method, path, query, body.is_null() ? nullptr : &body, content_type);
  if (!response.ok()) return response.status();
  if (response->shared_body) return std::move(response->shared_body);
  if (response->decoded_body) return ObjectPtr(std::move(response->decoded_body));
  Result<json> parsed = ParseAnswer(method, path, response->body);
  if (!parsed.ok()) return parsed.status();
  return ObjectPtr(std::make_shared<const json>(std::move(*parsed)));
}

Result<json> InProcessApiClient::Get(const std::string& path, const Query& query) {
  return DoJson("GET", path, query, nullptr, "");
}

Result<json> InProcessApiClient::List(const std::string& path, const Query& query) {
  Result<json> list = DoJson("GET", path, query, nullptr, "");
  if (!list.ok()) return list;
  CAPSTAN_RETURN_IF_ERROR(CheckListShape(path, *list));
  return list;
}

Result<json> InProcessApiClient::Create(const std::string& path, const json& body, const Query& query) {
  return DoJson("POST", path, query, &body, "application/json");
}

Result<json> InProcessApiClient::Update(const std::string& path, const json& body, const Query& query) {
  return DoJson("PUT", path, query, &body, "application/json");
}

Result<json> InProcessApiClient::Patch(const std::string& path, PatchType type, const json& patch,
                                       const Query& query) {
  return DoJson("PATCH", path, query, &patch, PatchContentType(type));
}

Result<json> InProcessApiClient::Delete(const std::string& path, const json& options, const Query& query) {
  return DoJson("DELETE", path, query, options.is_null() ? nullptr : &options, "application/json");
}

Result<json> InProcessApiClient::CreateTaking(const std::string& path, json&& body, const Query& query) {
  return DoJsonTaking("POST", path, query, &body, "application/json");
}

Result<json> InProcessApiClient::UpdateTaking(const std::string& path, json&& body, const Query& query) {
  return DoJsonTaking("PUT", path, query, &body, "application/json");
}

Result<json> InProcessApiClient::PatchTaking(const std::string& path, PatchType type, json&& patch,
                                             const Query& query) {
  return DoJsonTaking("PATCH", path, query, &patch, PatchContentType(type));
}

Result<std::unique_ptr<WatchEvents>> InProcessApiClient::Watch(const std::string& path, const Query& query) {
  Result<api::HttpRequest> request = MakeRequest("GET", path, WithWatchParam(query), nullptr, "");
  if (!request.ok()) return request.status();
  Result<api::HttpResponse> response = Call(*request);
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) {
    if (response->stream) response->stream->Close();
    return StatusFromResponse(response->status, response->body);
  }
  if (!response->stream) return std::unique_ptr<WatchEvents>(new InProcessWatchEvents(response->body, path));
  return std::unique_ptr<WatchEvents>(new InProcessWatchEvents(std::move(response->stream), path));
}

}  // namespace capstan::client
