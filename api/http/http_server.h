// HttpServer: HTTP/1.1 on Boost.Beast and Asio with C++20 coroutines.
//
// One coroutine per connection on a small pool of I/O threads; no thread per connection, and a
// streaming response (a watch) waits on a timer, not a thread. Handlers may block (a durable write
// waits for its fsync), so they run on a separate handler pool: a slow handler never stalls I/O,
// and the number of requests in progress is bounded by that pool's size.
//
// Limits enforced before the handler runs: header size, body size (413), idle keep-alive timeout.
// Every request is logged at debug level (method, path, status, duration, bytes).
//
// Thread-safety: Start/Stop from one thread; the handler is called concurrently from the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http/http_types.h"
#include "base/status.h"

namespace capstan::api {

struct HttpServerOptions {
  std::string host = "127.0.0.1";   // IPv4 or IPv6 literal, or "localhost"
  uint16_t port = 7420;             // 0: pick a free port (see HttpServer::port())
  int io_threads = 2;
  int handler_threads = 64;         // max requests being handled at once
  // Requests waiting for a handler thread beyond this get 429 Too Many Requests with
  // Retry-After: 1 instead of queueing without bound (default 2,000).
  size_t max_queued_requests = 2000;
  size_t max_body_bytes = 3 * 1024 * 1024;   // Kubernetes' default request limit
  size_t max_header_bytes = 64 * 1024;
  std::chrono::seconds idle_timeout{120};    // keep-alive connection without a request
  std::chrono::seconds read_timeout{60};     // a request that does not arrive in time
  // TLS: when both are set, the server speaks only HTTPS (TLS 1.2+, no renegotiation) with this
  // PEM certificate chain (leaf first) and private key; when both are empty, plain HTTP. Only one
  // set, a PEM that does not parse or a key that does not match the certificate: Start() fails
  // with kInvalid. The handshake must complete within read_timeout.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Renders an error the server produces itself (413, 400 on unparsable HTTP, 503 when stopping)
  // as a response, so it is a Kubernetes Status like every other error.
  std::function<HttpResponse(int status, const std::string& message)> render_error;
  // Tried before the handler pool (see HttpAsyncHandler); may be empty. Stop() waits until
  // every request it took has been answered.
  HttpAsyncHandler async_handler;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds, listens and starts serving. Fails with kUnavailable when the address is in use.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, HttpHandler handler);

  virtual uint16_t port() const = 0;

  // Graceful stop: stop accepting, close streams (watches end cleanly), wait up to `grace` for
  // in-flight requests to finish, then close every connection. Idempotent.
  virtual void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) = 0;

  virtual int64_t open_connections() const = 0;
  virtual int64_t open_streams() const = 0;
};

}  // namespace capstan::api
