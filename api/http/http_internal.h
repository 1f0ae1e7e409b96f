// Private to api/http: the Beast-free parts of the server, kept apart so they are unit-tested
// directly and http_server.cc stays small. Not for use outside this folder.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "api/http/http_types.h"

namespace capstan::api::http_internal {

// Splits a request target into the percent-decoded req->path and req->query. Accepts origin-form
// ("/a?b=c") and absolute-form ("http://host/a?b=c"); false for anything else ("*", "a/b") or a
// malformed escape.
bool ParseTarget(std::string_view target, HttpRequest* req);

// The body of an error the server produces itself when no render_error is configured: a
// Kubernetes Status (kind, code, reason, message), so clients parse it like any other error.
std::string DefaultErrorBody(int status, const std::string& message);

// Bridges a ResponseStream's notify, called from any thread and possibly after the server is
// gone, to its connection. Wake() runs `wake` (which only posts) until Kill(); Kill() destroys
// `wake` and whatever it holds (the connection's executor), so nothing the stream keeps can
// reach an io_context after the server destroyed it. Thread-safe.
// `on_kill` runs once, in the first Kill(), outside mu_ (it may take locks that Wake() nests in).
class Waker {
 public:
  explicit Waker(std::function<void()> wake, std::function<void()> on_kill = nullptr)
      : wake_(std::move(wake)), on_kill_(std::move(on_kill)) {}
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    if (wake_) wake_();
  }
  void Kill() {
    std::function<void()> dead, on_kill;
    {
      std::lock_guard<std::mutex> lock(mu_);
      dead.swap(wake_);  // destroyed after the unlock: never run a destructor under mu_
      on_kill.swap(on_kill_);
    }
    if (on_kill) on_kill();
  }

 private:
  std::mutex mu_;
  std::function<void()> wake_;     // guarded by mu_; empty once killed
  std::function<void()> on_kill_;  // guarded by mu_
};

}  // namespace capstan::api::http_internal
