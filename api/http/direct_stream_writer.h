// DirectStreamWriter: sends a waiting stream's new data straight to its plain-TCP socket from
// whichever I/O thread drains the ready list, without resuming the connection's coroutine.
// Private to api/http; Beast-free so it is unit-tested over a socketpair.
//
// Why: one watch event for 10,000 watchers otherwise costs, per watcher, a strand post, a timer
// cancellation, a coroutine resumption and an asynchronous write with its own timeout timer:
// about three quarters of the server's time went there, not into the send itself. Here it is
// one non-blocking send per watcher, batched onto the I/O threads.
//
// Ownership: the connection's coroutine (the owner) and Flush() take turns with the stream and
// the socket's write side. While parked, only Flush() reads the stream and writes the socket;
// while unparked, only the owner does. The switch happens under mu_. Whatever Flush() cannot
// finish (a full socket buffer, the end of the stream, a failed send, a throwing stream) it hands
// back: it unparks and calls `wake_owner`, which must only post to the owner's executor.
//
// The socket stays open while the writer is parked: whoever closes it from outside the owner
// (an abrupt server stop) calls Kill() first, and the owner unparks before it finishes.
//
// Thread-safety: every method is thread-safe. Lock order: mu_ before the stream's own locks
// (Flush() calls Read() under mu_; Read() may notify, which only calls MarkQueued() and queues).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/http/http_types.h"

namespace capstan::api::http_internal {

class DirectStreamWriter {
 public:
  // `fd` is the connection's socket; `chunked`: frame each piece as an HTTP/1.1 chunk.
  DirectStreamWriter(int fd, std::shared_ptr<ResponseStream> stream, bool chunked, std::function<void()> wake_owner);
  DirectStreamWriter(const DirectStreamWriter&) = delete;
  DirectStreamWriter& operator=(const DirectStreamWriter&) = delete;

  // Owner: parks unless there is work for the owner (a notify since the last Unpark(), or what a
  // Flush() handed back). True if parked.
  bool Park();
  // Owner, after a wake or its own timeout: takes the stream back. Returns bytes a Flush() could
  // not send, to be written before anything else; *failed: a send failed (the client is gone);
  // *done: the stream ended during a Flush().
  std::string Unpark(bool* failed, bool* done);

  // Notify side, any thread: true if the writer was not queued yet; the caller then queues it
  // for a Flush(). Flush() clears the mark first, so a notify during a Flush() queues again.
  bool MarkQueued() { return !queued_.exchange(true); }

  // An I/O thread: if parked, reads the stream and sends what it gives; otherwise records that
  // the owner has something to read. Never blocks.
  void Flush();

  // After this returns no Flush() touches the socket and the owner is not woken again (the
  // wake function is destroyed here, outside mu_). Idempotent.
  void Kill();

  int64_t bytes_sent() const { return bytes_.load(); }

 private:
  // With mu_ held: sends `data` (framed); false if it did not all fit (the rest is in leftover_)
  // or the send failed (failed_).
  bool SendLocked(const std::string& data);
  void HandBackLocked();

  const int fd_;
  const std::shared_ptr<ResponseStream> stream_;
  const bool chunked_;
  std::atomic<bool> queued_{false};
  std::atomic<int64_t> bytes_{0};

  std::mutex mu_;
  // Guarded by mu_.
  std::function<void()> wake_owner_;  // empty once killed
  bool parked_ = false;
  bool pending_ = false;   // notified while unparked
  bool failed_ = false;
  bool done_ = false;
  bool dead_ = false;
  std::string leftover_;
};

// The writers notified since the last drain. Thread-safe.
class StreamReadyList {
 public:
  // True if the list was empty: the caller schedules a drain.
  bool Push(std::shared_ptr<DirectStreamWriter> w);
  std::vector<std::shared_ptr<DirectStreamWriter>> TakeAll();

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<DirectStreamWriter>> ready_;  // guarded by mu_
};

}  // namespace capstan::api::http_internal
