#include "bench/lb_traffic.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>

namespace capstan::bench {

TrafficLoop::TrafficLoop(TrafficOptions options)
    : options_(options), deadline_(LbClock::now() + options.limit) {
  for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this] { Client(); });
}

TrafficLoop::~TrafficLoop() { Stop(); }

void TrafficLoop::Client() {
  httplib::Client c("127.0.0.1", options_.port);
  c.set_keep_alive(options_.keep_alive);
  c.set_tcp_nodelay(true);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(10, 0);
  c.set_write_timeout(5, 0);
  TrafficCounts mine;
  std::map<std::string, LbClock::time_point> seen;  // this thread's; merged at once when new
  auto flush = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    counts_.requests += mine.requests;
    counts_.ok += mine.ok;
    counts_.failed += mine.failed;
    counts_.other += mine.other;
    if (counts_.first_failure.empty()) counts_.first_failure = mine.first_failure;
    mine = TrafficCounts{};
  };
  while (!stop_.load(std::memory_order_relaxed) && issued_.fetch_add(1) < options_.max_requests &&
         LbClock::now() < deadline_) {
    httplib::Result r = c.Get("/");
    const LbClock::time_point at = LbClock::now();
    ++mine.requests;
    if (!r) {
      ++mine.failed;
      if (mine.first_failure.empty()) mine.first_failure = "transport error: " + httplib::to_string(r.error());
    } else if (r->status >= 500) {
      ++mine.failed;
      if (mine.first_failure.empty()) mine.first_failure = "HTTP " + std::to_string(r->status);
    } else if (r->status != 200) {
      ++mine.other;
    } else {
      ++mine.ok;
      std::string name = r->body;
      while (!name.empty() && name.back() == '\n') name.pop_back();
      if (seen.emplace(name, at).second) {
        std::lock_guard<std::mutex> lock(mu_);
        auto [it, fresh] = first_seen_.emplace(name, at);
        if (!fresh && at < it->second) it->second = at;
      }
    }
    if (mine.requests % 256 == 0) flush();
    if (options_.pause.count() > 0) std::this_thread::sleep_for(options_.pause);
  }
  flush();
}

std::optional<LbClock::time_point> TrafficLoop::FirstSeen(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = first_seen_.find(name);
  if (it == first_seen_.end()) return std::nullopt;
  return it->second;
}

std::optional<LbClock::time_point> TrafficLoop::WaitSeen(const std::string& name,
                                                         std::chrono::milliseconds timeout) const {
  const auto end = LbClock::now() + timeout;
  for (;;) {
    if (auto at = FirstSeen(name)) return at;
    if (LbClock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::vector<std::string> TrafficLoop::Seen() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, at] : first_seen_) out.push_back(name);
  return out;
}

TrafficCounts TrafficLoop::Counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

TrafficCounts TrafficLoop::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  return Counts();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

}  // namespace capstan::bench
