// HTTP-neutral request and response values shared by the HTTP server and the API handlers.
//
// Handlers never see Beast or Asio: they take an HttpRequest and return an HttpResponse, which
// keeps them unit-testable and lets in-process clients (controllers) call them directly. A
// response with a `stream` is sent with chunked encoding until the stream ends (watches).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace capstan::api {

// Case-insensitive header list; the first of repeated headers wins in Get().
class Headers {
 public:
  void Add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  std::optional<std::string> Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct HttpRequest {
  std::string method;             // "GET", "POST", ...
  std::string path;               // percent-decoded path, without the query
  std::multimap<std::string, std::string> query;  // percent-decoded parameters
  Headers headers;
  std::string body;
  std::string remote;             // "127.0.0.1:51234"

  // In-process callers only (the HTTP server never sets these). `decoded_body`, when set, is the
  // JSON value of a JSON body and `body` is empty: the handler takes it instead of parsing text.
  // `decoded_response` asks the handler to answer a successful JSON write or read of one object
  // with HttpResponse::decoded_body rather than text. Why: a controller's write would otherwise
  // be serialized, parsed, serialized and parsed again inside one process.
  // The handler consumes decoded_body: reading the body moves the value out (a request's body is
  // read once), so a write takes the caller's object without copying it.
  std::shared_ptr<nlohmann::json> decoded_body;
  bool decoded_response = false;

  // The first value of a query parameter, if present.
  std::optional<std::string> Query(const std::string& name) const;
};

// A body produced incrementally (a watch). The server drives it from its event loop:
//   1. SetNotify(fn) once; the stream calls fn (from any thread) whenever Read() may have data or
//      the stream ended. fn only schedules work; it never blocks.
//   2. Read() returns what is ready now (possibly empty) and sets *done when nothing more will
//      come. It never blocks.
//   3. Deadline(): the stream wants Read() called again no later than this (bookmarks, its own
//      timeout); the server wakes up then even without a notify.
//   4. Close() when the client went away or the server stops; idempotent; Read() then ends.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual void SetNotify(std::function<void()> notify) = 0;
  virtual std::string Read(bool* done) = 0;
  virtual std::chrono::steady_clock::time_point Deadline() const = 0;
  virtual void Close() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;                // extra headers
  std::string body;
  std::shared_ptr<ResponseStream> stream;  // when set, body is ignored and the stream is sent
  // Only for a request with decoded_response: the answer's JSON value; `body` is then empty.
  // `decoded_body` is the caller's to take. `shared_body`, set instead when the value is shared
  // with others (a written object, which its watch event carries too), is immutable: a caller
  // that wants it changeable copies it.
  std::shared_ptr<nlohmann::json> decoded_body;
  std::shared_ptr<const nlohmann::json> shared_body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Answers a request an HttpAsyncHandler took. Call it once, from any thread; it never blocks
// and later calls are ignored.
using HttpResponder = std::function<void(HttpResponse)>;

// An optional fast path, tried on the I/O thread before a request is queued for the handler
// pool. It must not block: it either returns false without having changed the request (the
// pool then handles it), or takes the request and answers it through `respond`, typically
// from the store's commit thread once the write is durable. Why: a durable write then ties up
// no pool thread and costs two thread hand-offs fewer.
using HttpAsyncHandler = std::function<bool(HttpRequest& req, const HttpResponder& respond)>;

// Percent-decodes `in`; '+' is a space only when `plus_is_space`. False on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out, bool plus_is_space);
// Parses "a=1&b=x%20y" into *out. False on a malformed escape.
bool ParseQuery(std::string_view query, std::multimap<std::string, std::string>* out);

}  // namespace capstan::api
