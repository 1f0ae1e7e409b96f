// Test helpers shared by the HTTP server tests: a hand-fed ResponseStream and raw-socket
// helpers for what cpp-httplib cannot express (100-continue, malformed requests, hang-ups).
// Test-only; never linked into the server.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/http/http_server.h"

namespace capstan::api::http_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline std::unique_ptr<HttpServer> MustStart(HttpServerOptions options, HttpHandler handler) {
  auto server = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return nullptr;
  return std::move(server).value();
}

inline HttpServerOptions TestOptions() {
  HttpServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  o.handler_threads = 4;
  return o;
}

// A body fed by the test; thread-safe like the watch streams it stands in for.
class TestStream : public ResponseStream {
 public:
  void SetNotify(std::function<void()> fn) override {
    std::lock_guard<std::mutex> l(mu_);
    notify_ = std::move(fn);
  }
  std::string Read(bool* done) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (auto& s : queue_) out += s;
    queue_.clear();
    *done = closed_ || finished_;
    return out;
  }
  std::chrono::steady_clock::time_point Deadline() const override { return Clock::now() + 1h; }
  void Close() override {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> l(mu_);
      closed_ = true;
      fn = notify_;
    }
    cv_.notify_all();
    if (fn) fn();
  }
  void Push(std::string s) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(s));
      fn = notify_;
    }
    if (fn) fn();
  }
  void Finish() {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> l(mu_);
      finished_ = true;
      fn = notify_;
    }
    if (fn) fn();
  }
  bool WaitClosed(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return closed_; });
  }
  bool closed() {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> notify_;
  std::deque<std::string> queue_;
  bool closed_ = false;
  bool finished_ = false;
};

// --- raw sockets, for what cpp-httplib cannot express ---

inline int Connect(uint16_t port, bool v6 = false) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until `until` appears in what was read, EOF, or the timeout; returns everything read.
inline std::string ReadUntil(int fd, std::string_view until, std::chrono::milliseconds timeout = 5s) {
  std::string out;
  auto deadline = Clock::now() + timeout;
  while (until.empty() || out.find(until) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

inline int CountThreads() {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

inline HttpResponse Json(int status, nlohmann::json body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

}  // namespace capstan::api::http_test
