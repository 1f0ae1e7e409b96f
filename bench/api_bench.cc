// api_bench: capstan vs etcd, side by side in one run, with the same client code and the same
// concurrency — durable creates/s, GETs/s, full LIST time, watch delivery latency with many
// watchers, and server memory. Prints a table and a JSON line; never asserts timings.
// bench/api.sh starts both servers on 127.0.0.1 and runs this.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/backend.h"
#include "bench/bench_flags.h"
#include "bench/load.h"
#include "bench/proc_stats.h"
#include "bench/report.h"
#include "bench/watch_phase.h"

namespace capstan::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Server {
  std::unique_ptr<Backend> backend;
  int pid = 0;
  long created = 0;  // creates attempted: names 0..created-1 exist unless they failed
};

// "http://HOST:PORT" -> host, port.
bool ParseUrl(const std::string& url, std::string* host, int* port) {
  std::string rest = url.rfind("http://", 0) == 0 ? url.substr(7) : url;
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  *host = rest.substr(0, colon);
  *port = std::atoi(rest.c_str() + colon + 1);
  return !host->empty() && *port > 0 && *port < 65536;
}

// Each watcher is a socket: 10,000 of them need more than the usual 1,024 descriptors. Without
// CAP_SYS_RESOURCE the hard limit caps us; the watch phase then reports failed watchers.
void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = 65536;
  rlimit up = rl;
  up.rlim_cur = want;
  up.rlim_max = std::max(rl.rlim_max, want);
  if (setrlimit(RLIMIT_NOFILE, &up) == 0) return;
  up.rlim_cur = std::min(want, rl.rlim_max);
  up.rlim_max = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &up);
  std::fprintf(stderr, "api_bench: RLIMIT_NOFILE raised only to %llu (hard limit)\n",
               static_cast<unsigned long long>(up.rlim_cur));
}

std::string Name(const std::string& tag, const char* kind, long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%s-%06ld", kind, i);
  return tag + buf;
}

std::string Ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", v);
  return buf;
}

void CreatePhase(Server& s, const BenchConfig& cfg, const std::string& tag, Report* rep) {
  const Backend& b = *s.backend;
  LoadOptions lo;
  lo.threads = cfg.threads;
  lo.count = cfg.duration > 0 ? 10'000'000 : cfg.creates;
  lo.duration = std::chrono::duration<double>(cfg.duration);
  lo.limit = std::chrono::duration<double>(cfg.phase_limit);
  std::atomic<long> attempted{0};
  auto make = [&](long i) {
    attempted.fetch_add(1);
    std::string name = Name(tag, "c", i);
    return b.Create("default", name, ObjectJson("default", name, cfg.object_bytes, uint64_t(i)));
  };
  LoadResult r = RunLoad(b, lo, make, [](const Reply& reply) { return reply.ok(); });
  s.created = attempted.load();
  std::fprintf(stderr, "  %s: %ld creates in %.1f s (%ld errors)\n", b.name(), r.ok, r.seconds, r.errors);
  rep->Set("creates_per_s", "durable creates/s (1 KiB)", Better::kHigher, b.name(), r.rate());
  rep->Set("create_p50_ms", "  create latency p50 (ms)", Better::kLower, b.name(), Percentile(&r.latency_ms, 50));
  rep->Set("create_p99_ms", "  create latency p99 (ms)", Better::kLower, b.name(), Percentile(&r.latency_ms, 99));
  rep->Set("create_errors", "  create errors", Better::kNone, b.name(), double(r.errors));
  if (r.errors) rep->Note(std::string(b.name()) + " creates: " + std::to_string(r.errors) + " failed, first: " + r.first_error);
}

void GetPhase(Server& s, const BenchConfig& cfg, const std::string& tag, Report* rep) {
  const Backend& b = *s.backend;
  LoadOptions lo;
  lo.threads = cfg.threads;
  lo.count = cfg.duration > 0 ? 10'000'000 : cfg.gets;
  lo.duration = std::chrono::duration<double>(cfg.duration);
  lo.limit = std::chrono::duration<double>(cfg.phase_limit);
  const long n = std::max(1L, s.created);
  auto make = [&](long i) { return b.Get("default", Name(tag, "c", i % n)); };
  LoadResult r = RunLoad(b, lo, make, [&](const Reply& reply) { return reply.ok() && b.Found(reply.body); });
  std::fprintf(stderr, "  %s: %ld GETs in %.1f s (%ld errors)\n", b.name(), r.ok, r.seconds, r.errors);
  rep->Set("gets_per_s", "GETs/s", Better::kHigher, b.name(), r.rate());
  rep->Set("get_p50_ms", "  GET latency p50 (ms)", Better::kLower, b.name(), Percentile(&r.latency_ms, 50));
  rep->Set("get_p99_ms", "  GET latency p99 (ms)", Better::kLower, b.name(), Percentile(&r.latency_ms, 99));
  rep->Set("get_errors", "  GET errors", Better::kNone, b.name(), double(r.errors));
  if (r.errors) rep->Note(std::string(b.name()) + " GETs: " + std::to_string(r.errors) + " failed, first: " + r.first_error);
}

void ListPhase(Server& s, const BenchConfig& cfg, const std::string& tag, Report* rep) {
  const Backend& b = *s.backend;
  const std::string group = "bench-list-" + tag;  // its own namespace, so it holds exactly N
  const std::string label = "LIST " + std::to_string(cfg.list_objects) + " objects, median (ms)";
  auto client = NewClient(b);
  if (std::string err = b.PrepareGroup(*client, group); !err.empty()) {
    rep->Note(std::string(b.name()) + " list: cannot prepare: " + err);
    return;
  }
  LoadOptions lo;
  lo.threads = cfg.threads;
  lo.count = cfg.list_objects;
  lo.limit = std::chrono::duration<double>(cfg.phase_limit);
  auto make = [&](long i) {
    std::string name = Name(tag, "l", i);
    return b.Create(group, name, ObjectJson(group, name, cfg.object_bytes, uint64_t(i) + 1'000'000'000));
  };
  LoadResult fill = RunLoad(b, lo, make, [](const Reply& reply) { return reply.ok(); });
  if (fill.errors) rep->Note(std::string(b.name()) + " list fill: " + std::to_string(fill.errors) + " failed, first: " + fill.first_error);

  std::vector<double> ms;
  size_t bytes = 0;
  for (int run = 0; run < cfg.list_runs; ++run) {
    HttpCall call = b.List(group);
    auto t0 = Clock::now();
    Reply r = Send(*client, call);
    double t = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!r.ok()) {
      rep->Note(std::string(b.name()) + " list failed: " + Describe(call, r));
      break;
    }
    if (long n = b.ListCount(r.body); n != fill.ok) {
      rep->Note(std::string(b.name()) + " list returned " + std::to_string(n) + " objects, expected " +
                std::to_string(fill.ok));
    }
    bytes = r.body.size();
    ms.push_back(t);
  }
  double median = Percentile(&ms, 50);
  std::fprintf(stderr, "  %s: %ld objects listed, median %s, %.1f MiB\n", b.name(), fill.ok, Ms(median).c_str(),
               bytes / 1048576.0);
  rep->Set("list_ms", label, Better::kLower, b.name(), median);
  rep->Set("list_mib", "  LIST response size (MiB)", Better::kNone, b.name(), bytes / 1048576.0);
}

void WatchPhase(Server& s, const BenchConfig& cfg, const std::string& tag, int watchers, long base, bool last,
                Report* rep) {
  const Backend& b = *s.backend;
  WatchPhaseOptions o;
  o.watchers = watchers;
  o.writes = cfg.watch_writes;
  o.interval_ms = cfg.watch_interval_ms;
  o.threads = cfg.watch_threads;
  o.marker = tag + "-w-";
  o.marker_base = base;
  o.object_bytes = cfg.object_bytes;
  o.pid = s.pid;
  WatchPhaseResult r = RunWatchPhase(b, o);
  const std::string n = std::to_string(watchers), key = "watch_" + n + "_";
  if (!r.error.empty()) {
    rep->Note(std::string(b.name()) + " watch " + n + ": " + r.error);
    return;
  }
  std::fprintf(stderr, "  %s: %ld receipts, p50 %s p99 %s, %ld failed, %ld missed\n", b.name(), r.samples,
               Ms(r.p50_ms).c_str(), Ms(r.p99_ms).c_str(), r.failed, r.missed);
  rep->Set(key + "p50_ms", "watch latency p50, " + n + " watchers (ms)", Better::kLower, b.name(), r.p50_ms);
  rep->Set(key + "p99_ms", "watch latency p99, " + n + " watchers (ms)", Better::kLower, b.name(), r.p99_ms);
  rep->Set(key + "max_ms", "  max (ms)", Better::kLower, b.name(), r.max_ms);
  rep->Set(key + "connect_s", "  time to establish all watchers (s)", Better::kLower, b.name(), r.connect_seconds);
  rep->Set(key + "failed", "  watchers failed to connect", Better::kNone, b.name(), double(r.failed));
  rep->Set(key + "ended", "  streams ended early", Better::kNone, b.name(), double(r.ended));
  rep->Set(key + "missed", "  events missed (watcher x write)", Better::kNone, b.name(), double(r.missed));
  if (r.duplicates) rep->Note(std::string(b.name()) + " watch " + n + ": " + std::to_string(r.duplicates) + " duplicate events");
  for (const auto& f : r.failures) rep->Note(std::string(b.name()) + " watch " + n + ": " + f);
  if (last) {
    const std::string when = " after " + n + " watchers (MiB)";
    rep->Set("rss_mib", "server VmRSS" + when, Better::kLower, b.name(), r.memory.rss_mib);
    rep->Set("hwm_mib", "server VmHWM (peak)" + when, Better::kLower, b.name(), r.memory.hwm_mib);
  }
}

int Run(int argc, char** argv) {
  BenchConfig cfg;
  bool help = false;
  if (std::string err = ParseFlags(argc, argv, &cfg, &help); !err.empty() || help) {
    if (help) {
      PrintUsage();
      return 0;
    }
    std::fprintf(stderr, "api_bench: %s\n", err.c_str());
    return 2;
  }
  RaiseFdLimit();
  signal(SIGPIPE, SIG_IGN);  // a server closing a socket must not kill the client

  std::vector<Server> servers;
  for (auto [url, is_capstan] : {std::pair{cfg.capstan_url, true}, std::pair{cfg.etcd_url, false}}) {
    if (url.empty()) continue;
    std::string host;
    int port = 0;
    if (!ParseUrl(url, &host, &port)) {
      std::fprintf(stderr, "api_bench: cannot parse URL \"%s\"\n", url.c_str());
      return 2;
    }
    Server s;
    s.backend = is_capstan ? NewCapstanBackend(host, port, cfg.capstan_token) : NewEtcdBackend(host, port);
    s.pid = is_capstan ? cfg.capstan_pid : cfg.etcd_pid;
    servers.push_back(std::move(s));
  }

  // Names carry a per-run tag so a rerun against the same servers does not collide.
  char tag[16];
  std::snprintf(tag, sizeof tag, "b%06llx",
                static_cast<unsigned long long>(std::chrono::system_clock::now().time_since_epoch().count() / 1000 %
                                                0xffffff));
  Report rep;
  rep.Config("threads", cfg.threads);
  rep.Config("creates", cfg.duration > 0 ? nlohmann::json(nullptr) : nlohmann::json(cfg.creates));
  rep.Config("gets", cfg.duration > 0 ? nlohmann::json(nullptr) : nlohmann::json(cfg.gets));
  rep.Config("duration_s", cfg.duration);
  rep.Config("object_bytes", cfg.object_bytes);
  rep.Config("list_objects", cfg.list_objects);
  rep.Config("list_runs", cfg.list_runs);
  rep.Config("watchers", cfg.watchers);
  rep.Config("watch_writes", cfg.watch_writes);
  rep.Config("watch_interval_ms", cfg.watch_interval_ms);
  rep.Config("cores", std::thread::hardware_concurrency());

  // Each phase runs on one server at a time, so the other one is idle while it is measured.
  std::fprintf(stderr, "creates (%d threads)\n", cfg.threads);
  for (auto& s : servers) CreatePhase(s, cfg, tag, &rep);
  std::fprintf(stderr, "GETs\n");
  for (auto& s : servers) GetPhase(s, cfg, tag, &rep);
  if (cfg.list_objects > 0) {
    std::fprintf(stderr, "LIST of %ld objects\n", cfg.list_objects);
    for (auto& s : servers) ListPhase(s, cfg, tag, &rep);
  }
  for (size_t k = 0; k < cfg.watchers.size(); ++k) {
    std::fprintf(stderr, "watch, %d watchers\n", cfg.watchers[k]);
    for (auto& s : servers) {
      WatchPhase(s, cfg, tag, cfg.watchers[k], long(k + 1) * 1'000'000, k + 1 == cfg.watchers.size(), &rep);
      std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server drop the closed streams
    }
  }
  rep.Print(stdout);
  return 0;
}

}  // namespace
}  // namespace capstan::bench

int main(int argc, char** argv) {
  try {
    return capstan::bench::Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "api_bench: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "api_bench: unknown exception\n");
  }
  return 1;
}
