#include "bench/watch_phase.h"

#include <cstdio>
#include <thread>

#include "bench/load.h"
#include "bench/watch_client.h"

namespace capstan::bench {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

WatchPhaseResult RunWatchPhase(const Backend& b, const WatchPhaseOptions& o) {
  WatchPhaseResult r;
  auto client = NewClient(b);
  std::string request = b.WatchRequest(*client, o.group, &r.error);
  if (request.empty()) return r;

  WatchOptions wo;
  wo.watchers = o.watchers;
  wo.threads = o.threads;
  wo.marker = o.marker;
  wo.marker_base = o.marker_base;
  wo.writes = o.writes;
  WatchFleet fleet(b, request, wo);
  const auto t0 = Clock::now();
  fleet.Start();
  // Generous but bounded: 30 s plus 10 ms per watcher.
  fleet.WaitEstablished(t0 + milliseconds(30000 + 10L * o.watchers));
  r.connect_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::fprintf(stderr, "  %s: %ld/%d watchers established in %.1f s\n", b.name(), fleet.established(), o.watchers,
               r.connect_seconds);
  std::this_thread::sleep_for(milliseconds(500));  // let the server finish registering

  const long live = fleet.established() - fleet.ended();
  std::vector<Clock::time_point> sent(o.writes);
  const auto w0 = Clock::now();
  for (int i = 0; i < o.writes; ++i) {
    std::this_thread::sleep_until(w0 + milliseconds(long(o.interval_ms) * i));
    const std::string name = o.marker + std::to_string(o.marker_base + i);
    HttpCall call = b.Create(o.group, name, ObjectJson(o.group, name, o.object_bytes, o.marker_base + i));
    sent[i] = Clock::now();
    Reply reply = Send(*client, call);
    if (!reply.ok() && r.write_errors++ == 0) r.failures.push_back("write: " + Describe(call, reply));
  }
  // Every live watcher should see every write; wait for stragglers at most 10 s.
  fleet.WaitReceipts(live * o.writes, Clock::now() + milliseconds(10000));
  r.memory = ReadProcMemory(o.pid);
  fleet.Stop();

  std::vector<double> latency;
  fleet.Collect(sent, &latency, &r.missed);
  r.samples = static_cast<long>(latency.size());
  r.p50_ms = Percentile(&latency, 50);
  r.p99_ms = Percentile(&latency, 99);
  r.max_ms = Percentile(&latency, 100);
  r.established = fleet.established();
  r.failed = o.watchers - r.established;
  r.ended = fleet.ended();
  r.duplicates = fleet.duplicates();
  for (auto& f : fleet.failures()) r.failures.push_back(f);
  return r;
}

}  // namespace capstan::bench
