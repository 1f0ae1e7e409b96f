#include "bench/watch_client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace capstan::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct WatchFleet::Watcher {
  explicit Watcher(asio::io_context& io, int writes) : sock(io), got(writes) {}

  tcp::socket sock;
  bool in_body = false;
  bool chunked = false;
  bool settled = false;  // counted as established or failed
  bool established = false;
  enum class Chunk { kSize, kData, kCrlf } chunk = Chunk::kSize;
  size_t chunk_left = 0;
  std::string raw;   // received bytes not yet decoded (headers, chunk framing)
  std::string body;  // decoded body not yet split into messages
  std::vector<Clock::time_point> got;  // first receipt of each write; {} if none
};

namespace {
constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxMessageBytes = 16 * 1024 * 1024;
}  // namespace

WatchFleet::WatchFleet(const Backend& b, std::string request, WatchOptions o)
    : backend_(b), request_(std::move(request)), opts_(std::move(o)),
      endpoint_(asio::ip::make_address(b.host()), static_cast<unsigned short>(b.port())) {
  watchers_.reserve(opts_.watchers);
  for (int i = 0; i < opts_.watchers; ++i) watchers_.push_back(std::make_unique<Watcher>(io_, opts_.writes));
}

WatchFleet::~WatchFleet() { Stop(); }

void WatchFleet::Start() {
  // Keeps run() from returning while the pipeline of connections refills.
  auto guard = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor());
  for (int i = 0; i < std::min(opts_.max_connecting, opts_.watchers); ++i) {
    asio::post(io_, [this] { StartNext(); });
  }
  for (int t = 0; t < opts_.threads; ++t) {
    threads_.emplace_back([this, guard] { io_.run(); });
  }
}

void WatchFleet::StartNext() {
  long i = next_.fetch_add(1);
  if (i >= opts_.watchers) return;
  Watcher* w = watchers_[i].get();
  w->sock.async_connect(endpoint_, [this, w](const boost::system::error_code& ec) { OnConnected(w, ec); });
}

void WatchFleet::OnConnected(Watcher* w, const boost::system::error_code& ec) {
  if (ec) return Settle(w, false, "connect: " + ec.message());
  w->sock.set_option(tcp::no_delay(true));
  w->sock.non_blocking(true);
  asio::async_write(w->sock, asio::buffer(request_), [this, w](const boost::system::error_code& ec, size_t) {
    if (ec) return Settle(w, false, "send request: " + ec.message());
    WaitReadable(w);
  });
}

void WatchFleet::WaitReadable(Watcher* w) {
  // Waiting for readability, then reading into a per-thread buffer, keeps 10,000 idle watchers
  // from each pinning a read buffer.
  w->sock.async_wait(tcp::socket::wait_read, [this, w](const boost::system::error_code& ec) {
    if (ec) return Finish(w, "wait: " + ec.message());
    OnReadable(w);
  });
}

void WatchFleet::OnReadable(Watcher* w) {
  thread_local std::array<char, 64 * 1024> buf;
  const auto now = Clock::now();
  std::optional<std::string> closed;
  for (int reads = 0; reads < 64; ++reads) {  // bounded: let other watchers run
    boost::system::error_code ec;
    size_t n = w->sock.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) {
      closed = ec == asio::error::eof ? "server closed the stream" : "read: " + ec.message();
      break;
    }
    w->raw.append(buf.data(), n);
  }
  if (!Consume(w, now)) return;
  if (closed) return Finish(w, *closed);
  WaitReadable(w);
}

bool WatchFleet::ConsumeHeaders(Watcher* w) {
  size_t end = w->raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (w->raw.size() > kMaxHeaderBytes) Settle(w, false, "response headers too long");
    return w->raw.size() <= kMaxHeaderBytes;
  }
  std::string head = w->raw.substr(0, end);
  w->raw.erase(0, end + 4);
  int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
  if (status != 200) {
    Settle(w, false, head.substr(0, head.find('\r')) + " " + w->raw.substr(0, 300));
    return false;
  }
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
  w->chunked = head.find("transfer-encoding: chunked") != std::string::npos;
  w->in_body = true;
  if (backend_.EstablishedOnHeaders()) Settle(w, true, "");
  return true;
}

bool WatchFleet::Consume(Watcher* w, Clock::time_point now) {
  if (!w->in_body && !ConsumeHeaders(w)) return false;
  if (!w->in_body) return true;
  if (!w->chunked) {
    w->body += w->raw;
    w->raw.clear();
  } else {
    size_t pos = 0;
    for (;;) {
      if (w->chunk == Watcher::Chunk::kSize) {
        size_t eol = w->raw.find("\r\n", pos);
        if (eol == std::string::npos) break;
        size_t size = std::strtoul(w->raw.c_str() + pos, nullptr, 16);
        pos = eol + 2;
        if (size == 0) {
          w->raw.clear();
          Finish(w, "server ended the stream (last chunk)");
          return false;
        }
        w->chunk_left = size;
        w->chunk = Watcher::Chunk::kData;
      } else if (w->chunk == Watcher::Chunk::kData) {
        size_t n = std::min(w->chunk_left, w->raw.size() - pos);
        if (n == 0) break;
        w->body.append(w->raw, pos, n);
        pos += n;
        w->chunk_left -= n;
        if (w->chunk_left == 0) w->chunk = Watcher::Chunk::kCrlf;
      } else {
        if (w->raw.size() - pos < 2) break;
        pos += 2;
        w->chunk = Watcher::Chunk::kSize;
      }
    }
    w->raw.erase(0, pos);
  }
  size_t start = 0;
  for (size_t nl = w->body.find('\n'); nl != std::string::npos; nl = w->body.find('\n', start)) {
    OnMessage(w, std::string_view(w->body).substr(start, nl - start), now);
    start = nl + 1;
  }
  w->body.erase(0, start);
  if (w->body.size() > kMaxMessageBytes) {
    Finish(w, "message without newline over 16 MiB");
    return false;
  }
  return true;
}

void WatchFleet::OnMessage(Watcher* w, std::string_view line, Clock::time_point now) {
  if (line.empty() || line == "\r") return;
  if (!w->established && backend_.IsCreatedMessage(line)) Settle(w, true, "");
  if (backend_.IsErrorMessage(line)) Fail("error message: " + std::string(line.substr(0, 300)));
  thread_local std::vector<long> ids;
  ids.clear();
  backend_.Markers(line, opts_.marker, &ids);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (long id : ids) {
    long k = id - opts_.marker_base;
    if (k < 0 || k >= opts_.writes) continue;
    if (w->got[k] == Clock::time_point{}) {
      w->got[k] = now;
      receipts_.fetch_add(1);
    } else {
      duplicates_.fetch_add(1);
    }
  }
}

void WatchFleet::Settle(Watcher* w, bool ok, const std::string& why) {
  if (w->settled) return;
  w->settled = true;
  w->established = ok;
  if (ok) {
    established_.fetch_add(1);
  } else {
    failed_.fetch_add(1);
    Fail(why);
    boost::system::error_code ignored;
    w->sock.close(ignored);
  }
  StartNext();  // keep max_connecting connections in flight
}

void WatchFleet::Finish(Watcher* w, const std::string& why) {
  if (!w->settled) return Settle(w, false, why);
  if (stopped_) return;
  ended_.fetch_add(1);
  Fail(why);
  boost::system::error_code ignored;
  w->sock.close(ignored);
}

void WatchFleet::Fail(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.size() < 5) failures_.push_back(why);
}

std::vector<std::string> WatchFleet::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

bool WatchFleet::WaitEstablished(Clock::time_point deadline) {
  while (established_.load() + failed_.load() < opts_.watchers) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool WatchFleet::WaitReceipts(long want, Clock::time_point deadline) {
  while (receipts_.load() < want) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void WatchFleet::Stop() {
  if (stopped_.exchange(true)) return;
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // No handler runs now; closing here cannot race with one.
  for (auto& w : watchers_) {
    boost::system::error_code ignored;
    w->sock.close(ignored);
  }
}

void WatchFleet::Collect(const std::vector<Clock::time_point>& sent, std::vector<double>* latency_ms,
                         long* missed) const {
  *missed = 0;
  for (const auto& w : watchers_) {
    if (!w->established) continue;
    for (size_t k = 0; k < w->got.size() && k < sent.size(); ++k) {
      if (w->got[k] == Clock::time_point{}) {
        ++*missed;
      } else {
        latency_ms->push_back(std::chrono::duration<double, std::milli>(w->got[k] - sent[k]).count());
      }
    }
  }
}

}  // namespace capstan::bench
