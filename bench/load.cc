#include "bench/load.h"

#include <atomic>
#include <mutex>
#include <thread>

namespace capstan::bench {

using Clock = std::chrono::steady_clock;

std::unique_ptr<httplib::Client> NewClient(const Backend& b) {
  auto c = std::make_unique<httplib::Client>(b.host(), b.port());
  c->set_keep_alive(true);
  // Without it, a request written in two segments waits out Nagle + delayed ACK (~40 ms).
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5, 0);
  // A full LIST of 10,000 objects can take seconds on a loaded 2-core machine.
  c->set_read_timeout(60, 0);
  c->set_write_timeout(10, 0);
  if (!b.token().empty()) c->set_bearer_token_auth(b.token().c_str());
  return c;
}

Reply Send(httplib::Client& c, const HttpCall& call) {
  httplib::Result res = call.method == "POST" ? c.Post(call.path.c_str(), call.body, "application/json")
                                              : c.Get(call.path.c_str());
  Reply r;
  if (!res) {
    r.error = ErrorText(res.error());
    return r;
  }
  r.status = res->status;
  r.body = std::move(res->body);
  return r;
}

std::string Describe(const HttpCall& call, const Reply& r) {
  std::string s = call.method + " " + call.path;
  if (!call.body.empty()) s += " " + call.body.substr(0, 160) + (call.body.size() > 160 ? "..." : "");
  s += " -> ";
  s += r.status < 0 ? "transport error: " + r.error : std::to_string(r.status) + " " + r.body.substr(0, 400);
  return s;
}

LoadResult RunLoad(const Backend& b, const LoadOptions& o, const std::function<HttpCall(long)>& make,
                   const std::function<bool(const Reply&)>& check) {
  std::atomic<long> next{0};
  std::mutex mu;
  LoadResult total;  // guarded by mu until the threads are joined
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                   o.duration.count() > 0 ? std::min(o.duration, o.limit) : o.limit);
  auto worker = [&] {
    auto client = NewClient(b);
    LoadResult mine;
    for (;;) {
      long i = next.fetch_add(1);
      if (i >= o.count || Clock::now() >= stop_at) break;
      HttpCall call = make(i);
      auto t0 = Clock::now();
      Reply r = Send(*client, call);
      auto t1 = Clock::now();
      if (check(r)) {
        ++mine.ok;
        mine.latency_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      } else {
        if (mine.errors++ == 0) mine.first_error = Describe(call, r);
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    total.ok += mine.ok;
    total.errors += mine.errors;
    total.latency_ms.insert(total.latency_ms.end(), mine.latency_ms.begin(), mine.latency_ms.end());
    if (total.first_error.empty()) total.first_error = mine.first_error;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return total;
}

}  // namespace capstan::bench
