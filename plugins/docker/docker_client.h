// DockerClient: a small synchronous HTTP/1.1 client of the Docker Engine API.
//
// Endpoints: a unix socket (unix:///var/run/docker.sock) or tcp://host:port, plain or with TLS
// (verifying the engine's certificate against the configured CA, or the system's, and its name;
// presenting a client certificate when one is configured). Every path is prefixed with the pinned
// API version ("/v1.41"), so the engine answers in the shapes this driver was written against.
//
// Each call opens its own connection (Connection: close) and has a deadline covering connect,
// write and read; nothing is shared between calls but constants, so calls run in parallel without
// locks and a slow call never holds up another. Streaming responses (events, logs with follow,
// exec output, pull progress) are read piece by piece from a ResponseStream, which owns its
// connection. Beast and Asio stay inside docker_client.cc (they are slow to compile).
//
// Errors are sdk::Error: the engine cannot be reached (refused, no socket, TLS handshake
// failed) -> UNAVAILABLE; a call that outlives its deadline -> TIMEOUT; an HTTP status the caller
// does not accept -> ErrorFromResponse (404 NOT_FOUND, 409 CONFLICT, ...).
//
// Thread-safety: DockerClient is immutable after Create and safe to share; a ResponseStream is
// used by one thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "capstan/driver_sdk.hpp"
#include "plugins/docker/config.h"

namespace capstan::plugins::docker {

struct HttpRequest {
  std::string method = "GET";
  // The path and query after the version prefix: "/containers/json?all=1". Encode what needs it
  // (UrlEncode).
  std::string target;
  // JSON text; sent with Content-Type: application/json when not empty.
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (X-Registry-Auth)
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// The error for an answer the caller did not expect: the engine's message ({"message": ...}) with
// `what` before it, and the code from the status: 400 INVALID_ARGUMENT, 401/403
// PERMISSION_DENIED, 404 NOT_FOUND, 409 CONFLICT, 503 UNAVAILABLE, other 5xx INTERNAL.
sdk::Error ErrorFromResponse(const HttpResponse& response, std::string_view what);
// The engine's message in an error body (the body itself when it is not the JSON shape).
std::string EngineMessage(const std::string& body);
// Percent-encodes everything but unreserved characters (RFC 3986), for a query value. With
// `keep_slashes`, '/' ':' '@' stay as they are (an image name in a path).
std::string UrlEncode(std::string_view s, bool keep_slashes = false);

// The body of one streaming response, read as it arrives.
class ResponseStream {
 public:
  enum class ReadResult {
    kData,  // something was appended (possibly nothing, when only framing arrived): read again
    kIdle,  // nothing arrived within the wait; the read goes on with the next call
    kEnd,   // the body is complete (or the engine closed the connection at its end)
  };

  struct Impl;  // docker_client.cc
  explicit ResponseStream(std::unique_ptr<Impl> impl);
  ~ResponseStream();  // closes the connection (the engine ends the request)
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  int status() const;
  std::string content_type() const;
  // Appends what arrives within `wait` to `out`. After kEnd every call answers kEnd. An error is
  // UNAVAILABLE (the connection broke mid-body).
  sdk::Result<ReadResult> Read(std::chrono::milliseconds wait, std::string* out);

 private:
  std::unique_ptr<Impl> impl_;
};

class DockerClient {
 public:
  // Loads the TLS files when `config.tls` is set (INVALID_CONFIG naming the file when one cannot
  // be read). Does not connect.
  static sdk::Result<std::unique_ptr<DockerClient>> Create(const Config& config);
  ~DockerClient();

  // One request and its whole response, whatever the status, within `timeout` (default: the
  // configured requestTimeoutMs). Bodies above 64 MiB are an error.
  sdk::Result<HttpResponse> Do(const HttpRequest& request, std::optional<std::chrono::milliseconds> timeout = {}) const;
  // Do, expecting one of `ok_statuses` (any 2xx when empty); another status is
  // ErrorFromResponse(response, what).
  sdk::Result<HttpResponse> Expect(const HttpRequest& request, std::string_view what,
                                   std::vector<int> ok_statuses = {},
                                   std::optional<std::chrono::milliseconds> timeout = {}) const;
  // Do, expecting 2xx, with the body parsed as JSON (an unparsable body is INTERNAL).
  sdk::Result<nlohmann::json> Json(const HttpRequest& request, std::string_view what,
                                   std::optional<std::chrono::milliseconds> timeout = {}) const;

  // Sends `request` and reads the response's header within `timeout`; the body is then read from
  // the stream at the caller's pace, without deadline. A status other than 2xx is
  // ErrorFromResponse(response, what) (its body read within `timeout`).
  sdk::Result<std::unique_ptr<ResponseStream>> Stream(const HttpRequest& request, std::string_view what,
                                                      std::optional<std::chrono::milliseconds> timeout = {}) const;

  const Config& config() const { return config_; }
  const Endpoint& endpoint() const { return config_.endpoint; }
  std::chrono::milliseconds default_timeout() const { return config_.request_timeout; }

 private:
  struct Tls;  // the asio ssl::context (docker_client.cc)
  DockerClient(Config config, std::unique_ptr<Tls> tls);

  // Constant after construction.
  const Config config_;
  const std::unique_ptr<Tls> tls_;  // null without TLS
};

}  // namespace capstan::plugins::docker
