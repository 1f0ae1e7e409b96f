// TrafficLoop: HTTP GET / load through a load balancer on 127.0.0.1:port, for bench/haproxy.sh.
// `threads` clients, each with its own keep-alive connection (as real clients keep them; or a new
// connection per request), send
// requests back to back (with an optional pause between two) until Stop(), the time limit or the
// request cap, whichever comes first. It records when each distinct answer (a replica's name:
// lb_workload answers with it) was first received, and counts failures: a transport error
// (refused, reset, timeout) or a 5xx. Any other non-200 answer is counted apart.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace capstan::bench {

using LbClock = std::chrono::steady_clock;

struct TrafficOptions {
  int port = 0;
  int threads = 2;
  std::chrono::microseconds pause{0};       // between two requests of one client
  bool keep_alive = true;                   // false: a new connection per request
  std::chrono::seconds limit{300};          // hard stop
  long max_requests = 50'000'000;           // hard stop
};

struct TrafficCounts {
  long requests = 0;
  long ok = 0;      // 200
  long failed = 0;  // transport error or 5xx
  long other = 0;   // any other status
  std::string first_failure;
};

class TrafficLoop {
 public:
  explicit TrafficLoop(TrafficOptions options);
  ~TrafficLoop();  // Stop()
  TrafficLoop(const TrafficLoop&) = delete;
  TrafficLoop& operator=(const TrafficLoop&) = delete;

  // When `name` was first answered; nullopt: not yet.
  std::optional<LbClock::time_point> FirstSeen(const std::string& name) const;
  // Waits (up to `timeout`) until `name` answered; its first answer's time.
  std::optional<LbClock::time_point> WaitSeen(const std::string& name, std::chrono::milliseconds timeout) const;
  // Names answered so far.
  std::vector<std::string> Seen() const;
  TrafficCounts Counts() const;
  // Stops the clients and joins them; the final counts. Idempotent.
  TrafficCounts Stop();

 private:
  void Client();  // a client thread's top frame

  const TrafficOptions options_;
  const LbClock::time_point deadline_;
  std::atomic<bool> stop_{false};
  std::atomic<long> issued_{0};
  mutable std::mutex mu_;
  std::map<std::string, LbClock::time_point> first_seen_;  // guarded by mu_
  TrafficCounts counts_;                                    // guarded by mu_
  std::vector<std::thread> threads_;
};

// The p-th percentile (0..100) of `v` (nearest rank); 0 for an empty vector.
double Percentile(std::vector<double> v, double p);

}  // namespace capstan::bench
