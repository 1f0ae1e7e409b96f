// WatchFleet: many concurrent watch streams on one server, driven by a few Asio threads (one
// socket each, no thread per watcher), recording when each watcher receives each marked write.
//
// Each watcher sends the same raw HTTP/1.1 request, reads the (chunked) streaming response and
// splits it into newline-delimited messages, which the Backend interprets. Connections are opened
// a bounded number at a time so the server's accept backlog never overflows.
//
// Thread-safety: Start/Wait*/counters/Stop/Collect are for one controlling thread; the counters
// may be read while the fleet runs. Collect only after Stop.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "bench/backend.h"

namespace capstan::bench {

struct WatchOptions {
  int watchers = 1000;
  int threads = 2;            // Asio threads for all watchers
  int max_connecting = 256;   // watchers between connect() and established at any time
  std::string marker;         // the writes are named <marker><marker_base + i>, i < writes
  long marker_base = 0;
  int writes = 20;
};

class WatchFleet {
 public:
  using Clock = std::chrono::steady_clock;

  // `b` must outlive the fleet.
  WatchFleet(const Backend& b, std::string request, WatchOptions o);
  ~WatchFleet();

  // Begins connecting every watcher in the background.
  void Start();
  // Blocks until every watcher is established or has failed, or until `deadline`; returns
  // whether all were settled.
  bool WaitEstablished(Clock::time_point deadline);
  // Blocks until receipts() >= want or `deadline`.
  bool WaitReceipts(long want, Clock::time_point deadline);
  // Stops the threads and closes every connection.
  void Stop();

  long established() const { return established_.load(); }
  long failed() const { return failed_.load(); }      // never established
  long ended() const { return ended_.load(); }        // established, then the stream ended or errored
  long receipts() const { return receipts_.load(); }  // first receipts of a write by a watcher
  long duplicates() const { return duplicates_.load(); }
  // The first few failure descriptions.
  std::vector<std::string> failures() const;

  // After Stop: the delay of every receipt of write i after sent[i], in ms, and how many
  // (established watcher, write) pairs saw nothing.
  void Collect(const std::vector<Clock::time_point>& sent, std::vector<double>* latency_ms, long* missed) const;

 private:
  struct Watcher;

  void StartNext();
  void OnConnected(Watcher* w, const boost::system::error_code& ec);
  void WaitReadable(Watcher* w);
  void OnReadable(Watcher* w);
  // Decodes what arrived; false once the stream is over.
  bool Consume(Watcher* w, Clock::time_point now);
  bool ConsumeHeaders(Watcher* w);
  void OnMessage(Watcher* w, std::string_view line, Clock::time_point now);
  void Settle(Watcher* w, bool ok, const std::string& why);  // established or failed, once
  void Finish(Watcher* w, const std::string& why);           // the stream ended
  void Fail(const std::string& why);

  // Constant after construction.
  const Backend& backend_;
  const std::string request_;
  const WatchOptions opts_;
  boost::asio::ip::tcp::endpoint endpoint_;

  boost::asio::io_context io_;  // declared before watchers_: sockets must close first
  std::vector<std::unique_ptr<Watcher>> watchers_;  // each touched by one handler at a time
  std::vector<std::thread> threads_;

  std::atomic<long> next_{0};
  std::atomic<long> established_{0}, failed_{0}, ended_{0}, receipts_{0}, duplicates_{0};
  mutable std::mutex mu_;
  std::vector<std::string> failures_;  // guarded by mu_
  std::atomic<bool> stopped_{false};
};

}  // namespace capstan::bench
