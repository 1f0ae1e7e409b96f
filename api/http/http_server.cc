// HttpServer on Boost.Beast: one C++20 coroutine per connection, each on its own strand of one
// io_context run by options.io_threads threads. Handlers run on a separate thread pool; the
// connection coroutine suspends until the pool posts the response back to its strand. An
// optional async handler may take a request first, on the I/O thread, and answer it later from
// any thread (creates, answered by the store's commit thread): the same dispatch, one more way in.
//
// The connection code is a template over its stream: beast::tcp_stream (plain HTTP) or
// beast::ssl_stream<beast::tcp_stream> (HTTPS); both share every limit, timeout and behaviour.
//
// Beast stays in this file: it is slow to compile and no other module should see it. That is why
// the file is longer than our usual ~600 lines (about 900, with the dispatch to the pool and to
// the async handler, and the hand-over of waiting plain streams to DirectStreamWriter, all of
// which complete or park the connection's coroutine and so belong with it): splitting it would
// need a Beast header shared by two translation units, which costs every rebuild more than the
// length costs a reader. The Beast-free parts live beside it (http_internal.h,
// direct_stream_writer.h).
#include "api/http/http_server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio.hpp>  // includes co_spawn, detached, redirect_error, use_awaitable
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "api/http/direct_stream_writer.h"
#include "api/http/http_internal.h"
#include "base/log.h"

namespace capstan::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr size_t kReadChunk = 4096;
// After an error response with Connection: close, how long to drain what the client still sends;
// closing with unread input makes the kernel send a reset that can destroy the response.
constexpr Millis kLingerTime{1000};
// After closing every socket in Stop(), how long connection coroutines get to unwind.
constexpr Millis kUnwindTime{1000};
// A stream whose Deadline() is already past is read again after this, not in a busy loop.
constexpr Millis kMinStreamWait{10};
// How long a closing TLS connection waits for the peer to answer its close_notify.
constexpr Millis kTlsShutdownTime{500};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

using WakerPtr = std::shared_ptr<http_internal::Waker>;

auto Ec(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

Result<tcp::endpoint> ListenEndpoint(const std::string& host, uint16_t port) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  // "localhost" is pinned to IPv4 rather than resolved: one deterministic socket, no resolver
  // thread, and it matches what "http://localhost:port" clients try first.
  if (h == "localhost") h = "127.0.0.1";
  beast::error_code ec;
  auto addr = asio::ip::make_address(h, ec);
  if (ec) return Status(Code::kInvalid, "listen host \"" + host + "\" is neither an IP literal nor localhost");
  return tcp::endpoint(addr, port);
}

// Maps a parser error to the status the client should see; 0 means just close (the peer left,
// timed out, or sent nothing).
int ParseErrorStatus(const beast::error_code& ec) {
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  if (ec.category() == beast::error_code(http::error::bad_method).category()) return 400;
  return 0;
}

bool ExpectsContinue(const http::request<http::string_body>& msg) {
  auto it = msg.find(http::field::expect);
  return msg.version() >= 11 && it != msg.end() && beast::iequals(it->value(), "100-continue");
}

// Converts a parsed message; false when the target is malformed.
bool ToRequest(http::request<http::string_body>&& msg, const std::string& remote, HttpRequest* req) {
  if (!http_internal::ParseTarget(msg.target(), req)) return false;
  req->method = std::string(msg.method_string());
  for (const auto& field : msg) req->headers.Add(std::string(field.name_string()), std::string(field.value()));
  req->body = std::move(msg.body());
  req->remote = remote;
  return true;
}

// Copies status, content type and the handler's headers; framing headers are the server's.
template <class Body>
void FillHeader(const HttpResponse& res, http::response<Body>* out) {
  out->result(res.status >= 100 && res.status <= 599 ? static_cast<unsigned>(res.status) : 500u);
  if (!res.content_type.empty()) out->set(http::field::content_type, res.content_type);
  for (const auto& [name, value] : res.headers.items()) {
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "connection")) {
      continue;
    }
    out->insert(name, value);
  }
}

// Builds the server's TLS context once, from the options' PEMs: TLS 1.2 and later only, no
// renegotiation. A PEM that does not parse, or a key that does not match, is kInvalid.
Result<std::shared_ptr<ssl::context>> MakeTlsContext(const std::string& cert_pem, const std::string& key_pem) {
  if (cert_pem.empty() || key_pem.empty()) {
    return Status(Code::kInvalid, "HttpServer::Start: tls_cert_pem and tls_key_pem must both be set or both empty");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  if (ec) return Status(Code::kInvalid, "HttpServer::Start: TLS options: " + ec.message());
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  ctx->use_certificate_chain(asio::buffer(cert_pem), ec);
  if (ec) return Status(Code::kInvalid, "HttpServer::Start: bad tls_cert_pem (a PEM chain): " + ec.message());
  ctx->use_private_key(asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) return Status(Code::kInvalid, "HttpServer::Start: bad tls_key_pem (a PEM private key): " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return Status(Code::kInvalid, "HttpServer::Start: tls_key_pem does not match the certificate in tls_cert_pem");
  }
  return ctx;
}

// What Stop() needs of a connection of either kind.
struct ConnBase {
  virtual ~ConnBase() = default;
  virtual asio::any_io_executor executor() = 0;
  virtual void CloseNow() = 0;  // on the connection's strand: abrupt close, aborts pending I/O
};

template <class Stream>
struct Conn final : ConnBase {
  explicit Conn(tcp::socket socket) requires(!kIsTls<Stream>) : stream(std::move(socket)) {}
  Conn(tcp::socket socket, ssl::context& ctx) requires kIsTls<Stream> : stream(std::move(socket), ctx) {}

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream); }
  asio::any_io_executor executor() override { return lowest().get_executor(); }
  void CloseNow() override {
    if (direct) direct->Kill();  // no send from another thread may hit a closed (or reused) fd
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  Stream stream;               // its executor is this connection's strand
  beast::flat_buffer buffer;   // received, not yet parsed; a stream's disconnect watch reads into it
  std::string remote;
  std::shared_ptr<http_internal::DirectStreamWriter> direct;  // a plain stream's, while it is sent
};

// Per-stream state, touched only on the connection's strand.
struct StreamState {
  explicit StreamState(const asio::any_io_executor& ex) : timer(ex), read_done(ex) {}
  asio::steady_timer timer;      // the stream loop waits on it; cancel() wakes it
  asio::steady_timer read_done;  // cancelled when the disconnect watch's read completes
  bool pending = false;          // a notify arrived since the last Read()
  bool gone = false;             // the client hung up or a write failed
  bool watching = false;         // the disconnect watch should report a hang-up
  bool reading = false;          // the disconnect watch's read is outstanding
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpServerOptions& options, HttpHandler handler, std::shared_ptr<ssl::context> tls)
      : options_(options),
        handler_(std::move(handler)),
        tls_(std::move(tls)),
        ioc_(std::make_unique<asio::io_context>(std::max(1, options.io_threads))),
        work_(asio::make_work_guard(*ioc_)),
        acceptor_(std::in_place, asio::make_strand(*ioc_)),
        pool_(static_cast<size_t>(std::max(1, options.handler_threads))) {}

  // A server dropped without Stop() still ends its streams and threads; the grace is short
  // because a destructor should not stall its caller for long.
  ~HttpServerImpl() override { Stop(Millis(1000)); }

  Status Listen();
  void Run();

  uint16_t port() const override { return port_; }
  void Stop(Millis grace) override;
  int64_t open_connections() const override { return open_connections_.load(); }
  int64_t open_streams() const override { return open_streams_.load(); }

 private:
  // RAII counters and registries; each decrement wakes Stop().
  struct ConnGuard;
  struct StreamGuard;
  struct ActiveGuard;

  asio::awaitable<void> Accept();
  template <class S>
  asio::awaitable<void> Serve(std::shared_ptr<Conn<S>> c);
  template <class S>
  asio::awaitable<bool> Handshake(Conn<S>& c);
  template <class S>
  asio::awaitable<void> ServeLoop(std::shared_ptr<Conn<S>> c);
  template <class S>
  asio::awaitable<bool> HandleRequest(std::shared_ptr<Conn<S>> c, http::request<http::string_body> msg);
  template <class S>
  asio::awaitable<bool> SendResponse(Conn<S>& c, HttpResponse& res, bool keep_alive, bool head, unsigned version,
                                     size_t* bytes);
  template <class S>
  asio::awaitable<bool> SendStream(std::shared_ptr<Conn<S>> c, HttpResponse& res, bool* keep_alive,
                                   unsigned version, size_t* bytes);
  template <class S>
  asio::awaitable<void> SendErrorAndClose(Conn<S>& c, int status, const std::string& message);
  template <class S>
  void WatchDisconnect(std::shared_ptr<Conn<S>> c, std::shared_ptr<StreamState> s);

  // Flushes the writers notified since the last drain, spreading a large batch over the I/O
  // threads (a post from an I/O thread wakes another one).
  void DrainReady();
  void FlushBatch(std::shared_ptr<std::vector<std::shared_ptr<http_internal::DirectStreamWriter>>> batch,
                  size_t begin, size_t end);

  HttpResponse RenderError(int status, const std::string& message) const;
  HttpResponse CallHandler(const HttpRequest& req);
  void Changed() {
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
  }

  // Runs the handler on pool_ and completes on the caller's (the connection's) executor, so no
  // I/O thread blocks while a handler waits for its fsync. The async handler, if any, is offered
  // the request first, on this (the I/O) thread.
  template <class Token>
  auto AsyncHandle(HttpRequest req, Token&& token) {
    return asio::async_initiate<Token, void(HttpResponse)>(
        [this](auto completion, HttpRequest r) {
          auto ex = asio::get_associated_executor(completion);
          // Completion handlers can be moved but not assigned: it lives in the call from here on.
          auto call = std::make_shared<PendingCall<decltype(completion), decltype(ex)>>();
          call->completion.emplace(std::move(completion));
          call->ex.emplace(ex);
          if (options_.async_handler && TryAsyncHandler(r, call)) return;
          auto c = [&] {
            std::lock_guard<std::mutex> lock(call->mu);
            auto taken = std::move(*call->completion);
            call->completion.reset();
            call->ex.reset();
            return taken;
          }();
          // Load shedding, as Kubernetes' max-inflight limits: past the bound, a request waits for
          // no handler thread but is told to come back (429 with Retry-After).
          if (queued_.fetch_add(1) >= static_cast<int64_t>(options_.max_queued_requests)) {
            queued_.fetch_sub(1);
            HttpResponse busy = RenderError(429, "too many requests, please try again later");
            busy.headers.Add("Retry-After", "1");
            asio::post(ex, [c = std::move(c), busy = std::move(busy)]() mutable { c(std::move(busy)); });
            return;
          }
          asio::post(pool_, [this, ex, c = std::move(c), r = std::move(r)]() mutable {
            queued_.fetch_sub(1);
            HttpResponse res = CallHandler(r);
            asio::post(ex, [c = std::move(c), res = std::move(res)]() mutable { c(std::move(res)); });
          });
        },
        token, std::move(req));
  }

  // Both the completion and the connection's executor live here, not in the responder: whoever
  // holds a responder (a store callback) may destroy it after Stop(), and by then nothing of the
  // io_context may be left in it. Both are emptied when the call is answered (or taken back).
  template <class Completion, class Executor>
  struct PendingCall {
    std::mutex mu;
    std::optional<Completion> completion;
    std::optional<Executor> ex;
  };

  // Offers the request to options_.async_handler. Taken: the responder it got answers through
  // call->completion, posted to call->ex. Declined: call->completion is still there.
  template <class Completion, class Executor>
  bool TryAsyncHandler(HttpRequest& r, const std::shared_ptr<PendingCall<Completion, Executor>>& call) {
    async_pending_.fetch_add(1);
    HttpResponder respond = [this, call](HttpResponse res) {
      {
        std::optional<Completion> c;
        std::optional<Executor> ex;
        {
          std::lock_guard<std::mutex> lock(call->mu);
          if (!call->completion) return;
          c.emplace(std::move(*call->completion));
          call->completion.reset();
          ex.emplace(std::move(*call->ex));
          call->ex.reset();
        }
        asio::post(*ex, [c = std::move(*c), res = std::move(res)]() mutable { c(std::move(res)); });
      }  // the executor copy is gone before Stop() may learn the answer was given
      if (async_pending_.fetch_sub(1) == 1) Changed();
    };
    bool taken = false;
    try {
      taken = options_.async_handler(r, respond);
    } catch (const std::exception& e) {
      log::Error("http async handler threw", {{"method", r.method}, {"path", r.path}, {"error", e.what()}});
      respond(RenderError(500, "internal error"));
      return true;
    } catch (...) {
      log::Error("http async handler threw", {{"method", r.method}, {"path", r.path}});
      respond(RenderError(500, "internal error"));
      return true;
    }
    if (taken) return true;
    std::lock_guard<std::mutex> lock(call->mu);
    if (!call->completion) return true;  // declined, yet answered: the answer stands
    async_pending_.fetch_sub(1);
    return false;  // the caller takes the completion and the executor back
  }

  // Constant after construction.
  const HttpServerOptions options_;
  const HttpHandler handler_;
  const std::shared_ptr<ssl::context> tls_;  // null: plain HTTP
  uint16_t port_ = 0;

  // Destroyed explicitly at the end of Stop(), in this order: acceptor, work guard, context.
  std::unique_ptr<asio::io_context> ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;  // used on its own strand only
  asio::thread_pool pool_;
  std::atomic<int64_t> queued_{0};  // requests posted to pool_ whose handler has not started
  std::atomic<int64_t> async_pending_{0};  // taken by the async handler, not yet answered
  std::vector<std::thread> io_threads_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandon_{false};  // the grace expired: queued handlers answer 503
  std::atomic<bool> accepting_{false};
  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> open_streams_{0};
  std::atomic<int64_t> active_requests_{0};

  std::mutex stop_mu_;  // serializes Stop() with the destructor's Stop()
  bool stopped_ = false;  // guarded by stop_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;  // signalled when a counter drops
  uint64_t next_id_ = 0;                                   // guarded by mu_
  std::map<uint64_t, std::weak_ptr<ConnBase>> conns_;      // guarded by mu_
  std::map<uint64_t, std::pair<std::shared_ptr<ResponseStream>, WakerPtr>> streams_;  // guarded by mu_
  http_internal::StreamReadyList ready_;  // plain streams' writers to flush
};

struct HttpServerImpl::ConnGuard {
  ConnGuard(HttpServerImpl* s, const std::shared_ptr<ConnBase>& c) : server(s) {
    std::lock_guard<std::mutex> lock(s->mu_);
    s->conns_[id = s->next_id_++] = c;
    s->open_connections_++;
  }
  ~ConnGuard() {
    std::lock_guard<std::mutex> lock(server->mu_);
    server->conns_.erase(id);
    server->open_connections_--;
    server->cv_.notify_all();
  }
  HttpServerImpl* server;
  uint64_t id = 0;
};

struct HttpServerImpl::StreamGuard {
  StreamGuard(HttpServerImpl* s, std::shared_ptr<ResponseStream> st, WakerPtr w)
      : server(s), stream(std::move(st)), waker(std::move(w)) {
    std::lock_guard<std::mutex> lock(s->mu_);
    s->streams_[id = s->next_id_++] = {stream, waker};
    s->open_streams_++;
  }
  ~StreamGuard() {
    waker->Kill();
    try {
      stream->Close();  // idempotent; ends a stream whose client left or whose write failed
    } catch (...) {
      log::Warn("http stream Close() threw");
    }
    std::lock_guard<std::mutex> lock(server->mu_);
    server->streams_.erase(id);
    server->open_streams_--;
    server->cv_.notify_all();
  }
  HttpServerImpl* server;
  std::shared_ptr<ResponseStream> stream;
  WakerPtr waker;
  uint64_t id = 0;
};

struct HttpServerImpl::ActiveGuard {
  explicit ActiveGuard(HttpServerImpl* s) : server(s) { s->active_requests_++; }
  ~ActiveGuard() {
    server->active_requests_--;
    server->Changed();
  }
  HttpServerImpl* server;
};

Status HttpServerImpl::Listen() {
  auto ep = ListenEndpoint(options_.host, options_.port);
  if (!ep.ok()) return ep.status();
  beast::error_code ec;
  acceptor_->open(ep->protocol(), ec);
  if (ec) return Status::Unavailable("opening listener: " + ec.message());
  // Lets a restarted server bind while old connections sit in TIME_WAIT; on Linux it does not let
  // two listeners share the port, so "address in use" is still reported.
  acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  acceptor_->bind(*ep, ec);
  if (ec) return Status::Unavailable("binding " + FormatEndpoint(*ep) + ": " + ec.message());
  acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listening on " + FormatEndpoint(*ep) + ": " + ec.message());
  port_ = acceptor_->local_endpoint(ec).port();
  return Status::Ok();
}

void HttpServerImpl::Run() {
  accepting_ = true;
  asio::co_spawn(acceptor_->get_executor(), Accept(), asio::detached);
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    io_threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_->run();
          return;
        } catch (const std::exception& e) {  // a completion handler threw: log and keep serving
          log::Error("http io thread caught exception", {{"error", e.what()}});
        } catch (...) {
          log::Error("http io thread caught unknown exception");
        }
      }
    });
  }
}

asio::awaitable<void> HttpServerImpl::Accept() {
  for (;;) {
    beast::error_code ec;
    asio::any_io_executor conn_ex = asio::make_strand(*ioc_);
    tcp::socket socket = co_await acceptor_->async_accept(conn_ex, Ec(ec));
    if (stopping_ || ec == asio::error::operation_aborted || !acceptor_->is_open()) break;
    if (ec) {
      // EMFILE and friends leave the listener readable; back off instead of spinning.
      log::Warn("http accept failed", {{"error", ec.message()}});
      asio::steady_timer backoff(co_await asio::this_coro::executor, Millis(50));
      co_await backoff.async_wait(Ec(ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);  // watch events are small and latency-bound
    std::string remote = FormatEndpoint(socket.remote_endpoint(ec));
    if (tls_) {
      auto conn = std::make_shared<Conn<TlsStream>>(std::move(socket), *tls_);
      conn->remote = std::move(remote);
      asio::co_spawn(conn->executor(), Serve(conn), asio::detached);
    } else {
      auto conn = std::make_shared<Conn<PlainStream>>(std::move(socket));
      conn->remote = std::move(remote);
      asio::co_spawn(conn->executor(), Serve(conn), asio::detached);
    }
  }
  accepting_ = false;
  Changed();
}

template <class S>
asio::awaitable<void> HttpServerImpl::Serve(std::shared_ptr<Conn<S>> c) {
  ConnGuard guard(this, c);
  bool clean = false;  // no exception, so no read is outstanding: TLS can send its close_notify
  try {
    if (co_await Handshake(*c)) {
      co_await ServeLoop(c);
      clean = true;
    }
  } catch (const std::exception& e) {  // a stream threw, or an allocation failed
    log::Warn("http connection failed", {{"remote", c->remote}, {"error", e.what()}});
  } catch (...) {
    log::Warn("http connection failed", {{"remote", c->remote}});
  }
  if constexpr (kIsTls<S>) {
    // close_notify tells the client the data is complete (an HTTP/1.0 stream ends so). Briefly:
    // a peer that left or never answers fails or times out; Stop() closes the socket under it.
    if (clean && c->lowest().socket().is_open()) {
      beast::error_code ec;
      c->lowest().expires_after(kTlsShutdownTime);
      co_await c->stream.async_shutdown(Ec(ec));
    }
  }
  c->CloseNow();
}

// TLS: the handshake must complete within read_timeout; false closes the connection (a plain
// HTTP request to the TLS port ends here, logged at debug level).
template <class S>
asio::awaitable<bool> HttpServerImpl::Handshake(Conn<S>& c) {
  if constexpr (kIsTls<S>) {
    beast::error_code ec;
    c.lowest().expires_after(options_.read_timeout);
    co_await c.stream.async_handshake(ssl::stream_base::server, Ec(ec));
    if (ec) {
      log::Debug("http tls handshake failed", {{"remote", c.remote}, {"error", ec.message()}});
      co_return false;
    }
  }
  co_return true;
}

template <class S>
asio::awaitable<void> HttpServerImpl::ServeLoop(std::shared_ptr<Conn<S>> c) {
  beast::flat_buffer& buffer = c->buffer;
  for (;;) {
    if (stopping_) co_return;
    beast::error_code ec;
    if (buffer.size() == 0) {
      // Waiting for the first byte is the idle keep-alive phase; the rest must arrive in read_timeout.
      c->lowest().expires_after(options_.idle_timeout);
      size_t n = co_await c->stream.async_read_some(buffer.prepare(kReadChunk), Ec(ec));
      if (ec) co_return;
      buffer.commit(n);
    }
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(std::min<size_t>(options_.max_header_bytes, UINT32_MAX)));
    parser.body_limit(options_.max_body_bytes);
    c->lowest().expires_after(options_.read_timeout);
    co_await http::async_read_header(c->stream, buffer, parser, Ec(ec));
    if (!ec && !parser.is_done() && ExpectsContinue(parser.get())) {
      // The client holds the body back until we agree to read it (curl does for bodies > 1 KiB).
      http::response<http::empty_body> cont{http::status::continue_, 11};
      co_await http::async_write(c->stream, cont, Ec(ec));
    }
    if (!ec && !parser.is_done()) co_await http::async_read(c->stream, buffer, parser, Ec(ec));
    if (ec) {
      if (int status = ParseErrorStatus(ec)) co_await SendErrorAndClose(*c, status, ec.message());
      co_return;
    }
    bool keep_alive = co_await HandleRequest(c, parser.release());
    if (!keep_alive) co_return;
  }
}

template <class S>
asio::awaitable<bool> HttpServerImpl::HandleRequest(std::shared_ptr<Conn<S>> c, http::request<http::string_body> msg) {
  ActiveGuard active(this);
  const auto start = Clock::now();
  const unsigned version = msg.version();
  const bool head = msg.method() == http::verb::head;
  bool keep_alive = msg.keep_alive() && !stopping_;
  std::string method(msg.method_string());
  std::string path(msg.target());
  HttpRequest req;
  HttpResponse res;
  if (!ToRequest(std::move(msg), c->remote, &req)) {
    res = RenderError(400, "malformed request target");
    keep_alive = false;
  } else if (stopping_) {
    res = RenderError(503, "the server is shutting down");
    keep_alive = false;
  } else {
    path = req.path;
    res = co_await AsyncHandle(std::move(req), asio::use_awaitable);
  }
  size_t bytes = 0;
  const int status = res.status;
  bool ok = false;
  // Plain if/else: GCC 12 miscompiles some co_await operands of the conditional operator.
  if (res.stream) {
    ok = co_await SendStream(c, res, &keep_alive, version, &bytes);
  } else {
    ok = co_await SendResponse(*c, res, keep_alive, head, version, &bytes);
  }
  auto ms = std::chrono::duration_cast<Millis>(Clock::now() - start).count();
  log::Debug("http request", {{"method", method}, {"path", path}, {"status", std::to_string(status)},
                              {"duration_ms", std::to_string(ms)}, {"bytes", std::to_string(bytes)},
                              {"remote", c->remote}});
  co_return ok && keep_alive;
}

template <class S>
asio::awaitable<bool> HttpServerImpl::SendResponse(Conn<S>& c, HttpResponse& res, bool keep_alive, bool head,
                                                   unsigned version, size_t* bytes) {
  http::response<http::string_body> out;
  out.version(version);
  FillHeader(res, &out);
  out.keep_alive(keep_alive);
  out.body() = std::move(res.body);
  out.prepare_payload();
  beast::error_code ec;
  c.lowest().expires_after(options_.read_timeout);
  if (head) {
    http::response_serializer<http::string_body> sr{out};
    co_await http::async_write_header(c.stream, sr, Ec(ec));
  } else {
    co_await http::async_write(c.stream, out, Ec(ec));
    *bytes = out.body().size();
  }
  co_return !ec;
}

template <class S>
asio::awaitable<bool> HttpServerImpl::SendStream(std::shared_ptr<Conn<S>> c, HttpResponse& res, bool* keep_alive,
                                                 unsigned version, size_t* bytes) {
  auto stream = res.stream;
  auto state = std::make_shared<StreamState>(c->executor());
  // Wakes the coroutine: a notify (TLS), or a direct writer handing the stream back (plain).
  auto wake_owner = [ex = c->executor(), w = std::weak_ptr<StreamState>(state)] {
    asio::post(ex, [w] {
      if (auto s = w.lock()) {
        s->pending = true;
        s->timer.cancel();
      }
    });
  };
  // HTTP/1.0 has no chunked encoding: there the body is the raw bytes and ends when we close.
  const bool chunked = version >= 11;
  // Plain streams are written from the ready list while this coroutine waits (see
  // direct_stream_writer.h); TLS records need the stream's own state, so TLS keeps to the strand.
  std::shared_ptr<http_internal::DirectStreamWriter> direct;
  if constexpr (!kIsTls<S>) {
    direct = std::make_shared<http_internal::DirectStreamWriter>(c->lowest().socket().native_handle(), stream,
                                                                 chunked, wake_owner);
  }
  // The wake function holds the strand; Kill() drops it before the io_context can go away.
  WakerPtr waker;
  if (direct) {
    waker = std::make_shared<http_internal::Waker>(
        [this, direct] {
          if (direct->MarkQueued() && ready_.Push(direct)) asio::post(*ioc_, [this] { DrainReady(); });
        },
        [direct] { direct->Kill(); });
  } else {
    waker = std::make_shared<http_internal::Waker>(wake_owner);
  }
  // Registered before the stopping_ check below, so Stop() either sees it or we see stopping_.
  StreamGuard guard(this, stream, waker);
  stream->SetNotify([waker] { waker->Wake(); });

  if (!chunked) *keep_alive = false;
  http::response<http::empty_body> head;
  head.version(version);
  FillHeader(res, &head);
  head.keep_alive(*keep_alive);
  if (chunked) head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  beast::error_code ec;
  c->lowest().expires_after(options_.read_timeout);
  co_await http::async_write_header(c->stream, sr, Ec(ec));
  if (ec) co_return false;

  c->direct = direct;
  WatchDisconnect(c, state);
  bool done = false;
  for (;;) {
    if (stopping_) stream->Close();  // Read() now drains and reports done
    state->pending = false;
    std::string data;
    if (direct) {
      bool failed = false;
      std::string leftover = direct->Unpark(&failed, &done);
      if (failed) state->gone = true;
      if (!leftover.empty() && !state->gone) {
        c->lowest().expires_after(options_.read_timeout);
        co_await asio::async_write(c->stream, asio::buffer(leftover), Ec(ec));
        if (ec) state->gone = true;
      }
    }
    if (!done && !state->gone) data = stream->Read(&done);
    if (!data.empty()) {
      c->lowest().expires_after(options_.read_timeout);  // the write's timer; the watch's read has none
      asio::const_buffer buf(data.data(), data.size());
      if (chunked) {
        co_await asio::async_write(c->stream, http::make_chunk(buf), Ec(ec));
      } else {
        co_await asio::async_write(c->stream, buf, Ec(ec));
      }
      if (ec) state->gone = true;
      *bytes += data.size();
    }
    if (done || state->gone) break;
    if (state->pending) continue;
    if (direct && !direct->Park()) continue;
    state->timer.expires_at(std::max(stream->Deadline(), Clock::now() + kMinStreamWait));
    co_await state->timer.async_wait(Ec(ec));  // cancelled by a notify or a hang-up
  }
  if (direct) {
    // Back from the ready list for good: after Kill() no Flush() writes to this socket.
    direct->Kill();
    c->direct.reset();
    *bytes += size_t(direct->bytes_sent());
  }
  // End the disconnect watch and wait for its read: the next request is read into the same buffer.
  state->watching = false;
  if (state->reading) c->lowest().socket().cancel(ec);
  while (state->reading) {
    state->read_done.expires_at(Clock::time_point::max());
    co_await state->read_done.async_wait(Ec(ec));
  }
  if (state->gone) co_return false;  // the guard Close()s the stream
  if (!chunked) co_return false;  // closing the connection ends the body
  c->lowest().expires_after(options_.read_timeout);
  co_await asio::async_write(c->stream, http::make_chunk_last(), Ec(ec));
  *keep_alive = *keep_alive && !stopping_;
  co_return !ec;
}

// A waiting watch has nothing to write, so only a pending read notices that the client hung up.
// It is a real read through the stream, into the connection's buffer, alongside the stream's
// writes (one read and one write may be outstanding at once, also on an ssl_stream). A raw
// readiness or peek test cannot tell with TLS: the bytes may be a close_notify alert (encrypted
// under TLS 1.3) or a post-handshake message. Decrypting decides: TLS records that carry no
// application data (a key update, say) are consumed inside the read, which keeps waiting; a
// close_notify (eof), a FIN without one (stream_truncated), a reset or the server closing the
// socket is an error, so the client is gone. Data (a pipelined request) stays in the buffer for
// the next request and ends the watch; a failed write then detects a hang-up. The read has no
// timeout: a watch may stay idle for longer than read_timeout. The epoll reactor's stale edges
// (a "readable" for bytes already consumed) only make the read retry, never end a live watch.
template <class S>
void HttpServerImpl::WatchDisconnect(std::shared_ptr<Conn<S>> c, std::shared_ptr<StreamState> s) {
  s->watching = true;
  s->reading = true;
  c->lowest().expires_never();  // no operation is pending: this sets the read's timer
  c->stream.async_read_some(c->buffer.prepare(kReadChunk), [c, s](const beast::error_code& ec, size_t n) {
    c->buffer.commit(n);
    s->reading = false;
    s->read_done.cancel();
    if (!s->watching) return;
    s->watching = false;
    if (!ec && n > 0) return;
    s->gone = true;
    s->timer.cancel();
  });
}

template <class S>
asio::awaitable<void> HttpServerImpl::SendErrorAndClose(Conn<S>& c, int status, const std::string& message) {
  HttpResponse res = RenderError(status, message);
  size_t bytes = 0;
  bool ok = co_await SendResponse(c, res, false, false, 11, &bytes);
  log::Debug("http request", {{"method", ""}, {"path", ""}, {"status", std::to_string(status)},
                              {"duration_ms", "0"}, {"bytes", std::to_string(bytes)}, {"remote", c.remote},
                              {"error", message}});
  if (!ok) co_return;
  beast::error_code ec;
  // Plain: a FIN tells a client that reads to EOF the response is complete. TLS cannot half-close
  // before close_notify, which Serve() sends; the client has Connection: close and the length.
  if constexpr (!kIsTls<S>) c.lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  c.lowest().expires_after(kLingerTime);
  std::vector<char> discard(16384);
  while (!ec) co_await c.stream.async_read_some(asio::buffer(discard), Ec(ec));
}

void HttpServerImpl::DrainReady() {
  auto batch = std::make_shared<std::vector<std::shared_ptr<http_internal::DirectStreamWriter>>>(ready_.TakeAll());
  FlushBatch(batch, 0, batch->size());
}

void HttpServerImpl::FlushBatch(
    std::shared_ptr<std::vector<std::shared_ptr<http_internal::DirectStreamWriter>>> batch, size_t begin,
    size_t end) {
  // Halving until a piece is small lets an idle I/O thread take the other halves.
  constexpr size_t kPiece = 128;
  while (end - begin > kPiece && options_.io_threads > 1) {
    const size_t mid = begin + (end - begin) / 2;
    asio::post(*ioc_, [this, batch, mid, end] { FlushBatch(batch, mid, end); });
    end = mid;
  }
  for (size_t i = begin; i < end; ++i) (*batch)[i]->Flush();
}

HttpResponse HttpServerImpl::RenderError(int status, const std::string& message) const {
  if (options_.render_error) {
    try {
      return options_.render_error(status, message);
    } catch (...) {
      log::Warn("http render_error threw; using the built-in error body");
    }
  }
  HttpResponse res;
  res.status = status;
  res.body = http_internal::DefaultErrorBody(status, message);
  return res;
}

HttpResponse HttpServerImpl::CallHandler(const HttpRequest& req) {
  if (abandon_) return RenderError(503, "the server is shutting down");
  try {
    return handler_(req);
  } catch (const std::exception& e) {
    log::Error("http handler threw", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
  } catch (...) {
    log::Error("http handler threw", {{"method", req.method}, {"path", req.path}});
  }
  return RenderError(500, "internal error");
}

void HttpServerImpl::Stop(Millis grace) {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  const auto deadline = Clock::now() + grace;

  asio::post(acceptor_->get_executor(), [this] {
    beast::error_code ec;
    acceptor_->close(ec);
  });

  // Close every stream so each watch sends what it has and its last chunk. Outside mu_: Close()
  // is user code and may call its notify synchronously.
  std::unique_lock<std::mutex> lock(mu_);
  auto streams = streams_;
  lock.unlock();
  for (auto& [id, entry] : streams) {
    try {
      entry.first->Close();
    } catch (...) {
      log::Warn("http stream Close() threw");
    }
    entry.second->Wake();
  }
  streams.clear();

  lock.lock();
  cv_.wait_until(lock, deadline, [this] { return active_requests_ == 0 && open_streams_ == 0; });
  abandon_ = true;
  // Close idle keep-alive connections and any request that outlived the grace. Posting under mu_
  // is fine: the posted work runs later, on the connection's strand.
  for (auto& [id, weak] : conns_) {
    if (auto c = weak.lock()) asio::post(c->executor(), [c] { c->CloseNow(); });
  }
  bool unwound = cv_.wait_for(lock, kUnwindTime, [this] { return open_connections_ == 0 && !accepting_; });
  // No notify may reach the context once it is gone, even from a stream that outlives us.
  for (auto& [id, entry] : streams_) entry.second->Kill();
  lock.unlock();

  work_.reset();
  // With every connection gone the context runs out of work and its threads return on their own.
  const auto drain_until = Clock::now() + kUnwindTime;
  while (unwound && !io_threads_.empty() && !ioc_->stopped() && Clock::now() < drain_until) {
    std::this_thread::sleep_for(Millis(1));
  }
  ioc_->stop();  // otherwise a handler outlived the grace: its coroutine is destroyed below
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  pool_.join();  // a handler that is still running is user code we cannot interrupt
  // Likewise an answer the async handler still owes (a write the store has yet to commit): its
  // responder holds a completion of this context, which must not be destroyed after it.
  lock.lock();
  cv_.wait(lock, [this] { return async_pending_ == 0; });
  lock.unlock();
  // Destroys whatever is still queued (suspended coroutines) while the rest of *this is alive.
  acceptor_.reset();
  ioc_.reset();
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, HttpHandler handler) {
  if (!handler) return Status(Code::kInvalid, "HttpServer::Start: no handler");
  try {
    std::shared_ptr<ssl::context> tls;
    if (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty()) {
      // Either both PEMs or an error: never plain HTTP to someone who asked for HTTPS.
      auto ctx = MakeTlsContext(options.tls_cert_pem, options.tls_key_pem);
      if (!ctx.ok()) return ctx.status();
      tls = std::move(ctx).value();
    }
    auto server = std::make_unique<HttpServerImpl>(options, std::move(handler), std::move(tls));
    CAPSTAN_RETURN_IF_ERROR(server->Listen());
    server->Run();
    return std::unique_ptr<HttpServer>(std::move(server));
  } catch (const std::exception& e) {  // thread creation or allocation failed
    return Status::Unavailable(std::string("starting HTTP server: ") + e.what());
  }
}

}  // namespace capstan::api
