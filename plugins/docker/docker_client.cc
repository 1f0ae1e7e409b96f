// Boost 1.74's asio uses std::exchange without including <utility>: it must come first.
#include <utility>

#include "plugins/docker/docker_client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace capstan::plugins::docker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using UnixSocket = asio::local::stream_protocol::socket;
using TlsStream = ssl::stream<tcp::socket>;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kMaxBody = uint64_t{64} << 20;
constexpr size_t kMaxErrorBody = 1 << 20;
constexpr char kUserAgent[] = "capstan-driver-docker/0.1.0";

// One connection to the engine and the io_context that drives it. Operations are started with
// With() and driven with RunUntil(); an operation still pending at a deadline stays pending (a
// stream reads on at the next call) until Close() aborts it.
class Connection {
 public:
  Connection(const Endpoint& endpoint, ssl::context* tls) : endpoint_(endpoint), tls_(tls) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects (and with TLS, handshakes) before `deadline`. Errors are UNAVAILABLE.
  sdk::Result<void> Open(Clock::time_point deadline) {
    beast::error_code ec;
    bool done = false;
    auto on_done = [&](const beast::error_code& e, auto&&...) {
      ec = e;
      done = true;
    };
    if (endpoint_.kind == Endpoint::Kind::kUnix) {
      unix_ = std::make_unique<UnixSocket>(ioc_);
      unix_->async_connect(asio::local::stream_protocol::endpoint(endpoint_.path), on_done);
      if (!RunUntil(done, deadline)) return Abandon("timed out connecting");
      if (ec) return Unreachable(ec.message());
      return sdk::Ok();
    }
    // DNS is synchronous (bounded by the resolver's own timeouts): an address needs none.
    tcp::resolver resolver(ioc_);
    const tcp::resolver::results_type addresses = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
    if (ec) return Unreachable("cannot resolve " + endpoint_.host + ": " + ec.message());
    tcp::socket* socket = nullptr;
    if (tls_ != nullptr) {
      tls_stream_ = std::make_unique<TlsStream>(ioc_, *tls_);
      socket = &tls_stream_->next_layer();
    } else {
      tcp_ = std::make_unique<tcp::socket>(ioc_);
      socket = tcp_.get();
    }
    asio::async_connect(*socket, addresses, on_done);
    if (!RunUntil(done, deadline)) return Abandon("timed out connecting");
    if (ec) return Unreachable(ec.message());
    if (tls_ == nullptr) return sdk::Ok();

    // SNI only for names (RFC 6066); the certificate must match the name or address configured.
    beast::error_code not_address;
    asio::ip::make_address(endpoint_.host, not_address);
    if (not_address && SSL_set_tlsext_host_name(tls_stream_->native_handle(), endpoint_.host.c_str()) != 1) {
      return Unreachable("TLS: cannot set the server name");
    }
    tls_stream_->set_verify_mode(ssl::verify_peer);
    tls_stream_->set_verify_callback(ssl::host_name_verification(endpoint_.host));
    done = false;
    tls_stream_->async_handshake(ssl::stream_base::client, on_done);
    if (!RunUntil(done, deadline)) return Abandon("timed out in the TLS handshake");
    if (ec) return Unreachable("TLS handshake: " + ec.message());
    return sdk::Ok();
  }

  // Calls f(stream) with the connected stream, whichever type it is.
  template <typename F>
  void With(F&& f) {
    if (unix_) {
      f(*unix_);
    } else if (tls_stream_) {
      f(*tls_stream_);
    } else {
      f(*tcp_);
    }
  }

  // Runs handlers until `done` is set (true) or `deadline` passes (false).
  bool RunUntil(const bool& done, Clock::time_point deadline) {
    ioc_.restart();
    while (!done) {
      if (ioc_.run_one_until(deadline) == 0) break;
    }
    return done;
  }

  // Closes the socket and runs pending handlers to completion (they see operation_aborted), so
  // no handler outlives the state it refers to.
  void Close() {
    beast::error_code ignored;
    if (unix_) unix_->close(ignored);
    if (tcp_) tcp_->close(ignored);
    if (tls_stream_) tls_stream_->lowest_layer().close(ignored);
    ioc_.restart();
    ioc_.run();
  }

 private:
  sdk::Error Unreachable(const std::string& why) const {
    return sdk::Unavailable("cannot reach the docker engine at " + endpoint_.text + ": " + why);
  }
  // Unreachable, for an operation still pending: aborted first, while the state its handler
  // refers to (Open's locals) still exists.
  sdk::Error Abandon(const std::string& why) {
    Close();
    return Unreachable(why);
  }

  const Endpoint& endpoint_;
  ssl::context* const tls_;
  asio::io_context ioc_;
  std::unique_ptr<UnixSocket> unix_;
  std::unique_ptr<tcp::socket> tcp_;
  std::unique_ptr<TlsStream> tls_stream_;
};

std::string HostHeader(const Endpoint& e) {
  if (e.kind == Endpoint::Kind::kUnix) return "docker";  // the engine ignores it; HTTP/1.1 wants one
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

http::request<http::string_body> MakeRequest(const Config& config, const HttpRequest& r) {
  http::request<http::string_body> req;
  req.method_string(r.method);
  req.target("/v" + config.api_version + r.target);
  req.version(11);
  req.set(http::field::host, HostHeader(config.endpoint));
  req.set(http::field::user_agent, kUserAgent);
  req.keep_alive(false);
  for (const auto& [name, value] : r.headers) req.set(name, value);
  if (!r.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = r.body;
  }
  req.prepare_payload();
  return req;
}

// Whether `ec` is the engine closing the connection where the body may end (a body without
// length ends there; a TLS peer may close without close_notify).
bool IsClosed(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream || ec == ssl::error::stream_truncated;
}

// Sends `req` on an open connection before `deadline`.
sdk::Result<void> Send(Connection& conn, const http::request<http::string_body>& req, Clock::time_point deadline,
                       std::string_view what) {
  bool done = false;
  beast::error_code ec;
  conn.With([&](auto& s) {
    http::async_write(s, req, [&](const beast::error_code& e, size_t) {
      ec = e;
      done = true;
    });
  });
  if (!conn.RunUntil(done, deadline)) {
    conn.Close();
    return sdk::Timeout(std::string(what) + ": timed out sending the request to the docker engine");
  }
  if (ec) return sdk::Unavailable(std::string(what) + ": sending the request to the docker engine: " + ec.message());
  return sdk::Ok();
}

}  // namespace

// ---- Errors and encoding ----------------------------------------------------------------------

std::string EngineMessage(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "(no message)" : text;
}

sdk::Error ErrorFromResponse(const HttpResponse& response, std::string_view what) {
  const std::string message =
      std::string(what) + ": " + EngineMessage(response.body) + " (HTTP " + std::to_string(response.status) + ")";
  switch (response.status) {
    case 400: return sdk::InvalidArgument(message);
    case 401:
    case 403: return sdk::PermissionDenied(message);
    case 404: return sdk::NotFound(message);
    case 409: return sdk::Conflict(message);
    case 503: return sdk::Unavailable(message);
    default: return sdk::Internal(message);
  }
}

std::string UrlEncode(std::string_view s, bool keep_slashes) {
  std::string out;
  for (const char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    const bool unreserved = std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slashes && (c == '/' || c == ':' || c == '@'))) {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    }
  }
  return out;
}

// ---- ResponseStream ---------------------------------------------------------------------------

struct ResponseStream::Impl {
  // No limit: a stream may run for days. (Not boost::none: Boost 1.74 compares a Content-Length
  // against an empty optional as "over the limit".)
  Impl(const Endpoint& endpoint, ssl::context* tls) : conn(endpoint, tls) {
    parser.body_limit(std::numeric_limits<uint64_t>::max());
  }
  // The connection is closed (and its pending read aborted) while the buffers it reads into live.
  ~Impl() { conn.Close(); }

  sdk::Result<ReadResult> Read(std::chrono::milliseconds wait, std::string* out) {
    if (ended || parser.is_done()) {
      ended = true;
      return ReadResult::kEnd;
    }
    if (!pending) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      pending = true;
      done = false;
      conn.With([this](auto& s) {
        http::async_read_some(s, buffer, parser, [this](const beast::error_code& e, size_t) {
          ec = e;
          done = true;
        });
      });
    }
    if (!conn.RunUntil(done, Clock::now() + wait)) return ReadResult::kIdle;
    pending = false;
    const size_t n = chunk.size() - parser.get().body().size;
    out->append(chunk.data(), n);
    if (ec == http::error::need_buffer) ec = {};
    if (IsClosed(ec)) {
      ended = true;
      return n > 0 ? ReadResult::kData : ReadResult::kEnd;
    }
    if (ec) return sdk::Unavailable("reading from the docker engine: " + ec.message());
    return ReadResult::kData;
  }

  Connection conn;
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  std::array<char, 65536> chunk{};
  bool pending = false;  // a read is under way
  bool done = false;     // ... and it completed (with ec)
  bool ended = false;
  beast::error_code ec;
};

ResponseStream::ResponseStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResponseStream::~ResponseStream() = default;

int ResponseStream::status() const { return impl_->parser.get().result_int(); }

std::string ResponseStream::content_type() const {
  return std::string(impl_->parser.get()[http::field::content_type]);
}

sdk::Result<ResponseStream::ReadResult> ResponseStream::Read(std::chrono::milliseconds wait, std::string* out) {
  return impl_->Read(wait, out);
}

// ---- DockerClient -----------------------------------------------------------------------------

struct DockerClient::Tls {
  ssl::context ctx{ssl::context::tls_client};
};

sdk::Result<std::unique_ptr<DockerClient>> DockerClient::Create(const Config& config) {
  std::unique_ptr<Tls> tls;
  if (config.tls.has_value()) {
    tls = std::make_unique<Tls>();
    beast::error_code ec;
    tls->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                         ec);
    if (config.tls->ca.empty()) {
      tls->ctx.set_default_verify_paths(ec);
      if (ec) return sdk::InvalidConfig("tls: cannot load the system's CA certificates: " + ec.message());
    } else {
      tls->ctx.load_verify_file(config.tls->ca, ec);
      if (ec) return sdk::InvalidConfig("tls.ca: cannot load " + config.tls->ca + ": " + ec.message());
    }
    if (!config.tls->cert.empty()) {
      tls->ctx.use_certificate_chain_file(config.tls->cert, ec);
      if (ec) return sdk::InvalidConfig("tls.cert: cannot load " + config.tls->cert + ": " + ec.message());
      tls->ctx.use_private_key_file(config.tls->key, ssl::context::pem, ec);
      if (ec) return sdk::InvalidConfig("tls.key: cannot load " + config.tls->key + ": " + ec.message());
    }
    tls->ctx.set_verify_mode(ssl::verify_peer, ec);
  }
  return std::unique_ptr<DockerClient>(new DockerClient(config, std::move(tls)));
}

DockerClient::DockerClient(Config config, std::unique_ptr<Tls> tls) : config_(std::move(config)), tls_(std::move(tls)) {}
DockerClient::~DockerClient() = default;

sdk::Result<HttpResponse> DockerClient::Do(const HttpRequest& request,
                                           std::optional<std::chrono::milliseconds> timeout) const {
  const Clock::time_point deadline = Clock::now() + timeout.value_or(config_.request_timeout);
  const std::string what = request.method + " " + request.target;
  const http::request<http::string_body> req = MakeRequest(config_, request);
  // Declared before the connection: a handler still pending is aborted (conn.Close) before these go.
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  bool done = false;
  beast::error_code ec;
  Connection conn(config_.endpoint, tls_ ? &tls_->ctx : nullptr);
  if (sdk::Result<void> opened = conn.Open(deadline); !opened.ok()) return opened.error();
  if (sdk::Result<void> sent = Send(conn, req, deadline, what); !sent.ok()) return sent.error();
  conn.With([&](auto& s) {
    http::async_read(s, buffer, parser, [&](const beast::error_code& e, size_t) {
      ec = e;
      done = true;
    });
  });
  if (!conn.RunUntil(done, deadline)) {
    conn.Close();
    return sdk::Timeout(what + ": the docker engine did not answer within " +
                        std::to_string(timeout.value_or(config_.request_timeout).count()) + " ms");
  }
  if (ec && IsClosed(ec) && parser.is_header_done() && !parser.is_done()) {
    parser.put_eof(ec);  // a body delimited by the end of the connection
  }
  if (ec) return sdk::Unavailable(what + ": reading the docker engine's answer: " + ec.message());
  HttpResponse response;
  response.status = parser.get().result_int();
  response.content_type = std::string(parser.get()[http::field::content_type]);
  response.body = std::move(parser.get().body());
  return response;
}

sdk::Result<HttpResponse> DockerClient::Expect(const HttpRequest& request, std::string_view what,
                                               std::vector<int> ok_statuses,
                                               std::optional<std::chrono::milliseconds> timeout) const {
  sdk::Result<HttpResponse> r = Do(request, timeout);
  if (!r.ok()) return r;
  const int status = r.value().status;
  const bool ok = ok_statuses.empty() ? (status >= 200 && status < 300)
                                      : std::find(ok_statuses.begin(), ok_statuses.end(), status) != ok_statuses.end();
  if (!ok) return ErrorFromResponse(r.value(), what);
  return r;
}

sdk::Result<nlohmann::json> DockerClient::Json(const HttpRequest& request, std::string_view what,
                                               std::optional<std::chrono::milliseconds> timeout) const {
  sdk::Result<HttpResponse> r = Expect(request, what, {}, timeout);
  if (!r.ok()) return r.error();
  nlohmann::json j = nlohmann::json::parse(r.value().body, nullptr, false);
  if (j.is_discarded()) {
    return sdk::Internal(std::string(what) + ": the docker engine answered with malformed JSON: " +
                         r.value().body.substr(0, 200));
  }
  return j;
}

sdk::Result<std::unique_ptr<ResponseStream>> DockerClient::Stream(
    const HttpRequest& request, std::string_view what, std::optional<std::chrono::milliseconds> timeout) const {
  const std::chrono::milliseconds budget = timeout.value_or(config_.request_timeout);
  const Clock::time_point deadline = Clock::now() + budget;
  const http::request<http::string_body> req = MakeRequest(config_, request);
  auto impl = std::make_unique<ResponseStream::Impl>(config_.endpoint, tls_ ? &tls_->ctx : nullptr);
  if (sdk::Result<void> opened = impl->conn.Open(deadline); !opened.ok()) return opened.error();
  if (sdk::Result<void> sent = Send(impl->conn, req, deadline, what); !sent.ok()) return sent.error();
  bool done = false;
  beast::error_code ec;
  impl->conn.With([&](auto& s) {
    http::async_read_header(s, impl->buffer, impl->parser, [&](const beast::error_code& e, size_t) {
      ec = e;
      done = true;
    });
  });
  if (!impl->conn.RunUntil(done, deadline)) {
    impl->conn.Close();
    return sdk::Timeout(std::string(what) + ": the docker engine did not answer within " +
                        std::to_string(budget.count()) + " ms");
  }
  if (ec) return sdk::Unavailable(std::string(what) + ": reading the docker engine's answer: " + ec.message());
  auto stream = std::make_unique<ResponseStream>(std::move(impl));
  const int status = stream->status();
  if (status >= 200 && status < 300) return stream;
  // An error: its (short) body is the engine's message.
  HttpResponse response;
  response.status = status;
  while (response.body.size() < kMaxErrorBody && Clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    sdk::Result<ResponseStream::ReadResult> r = stream->Read(left, &response.body);
    if (!r.ok() || r.value() != ResponseStream::ReadResult::kData) break;
  }
  return ErrorFromResponse(response, what);
}

}  // namespace capstan::plugins::docker
