// haproxy_bench: issue 7's benchmark, in one run (bench/haproxy.sh starts the server):
//   (a) model + render + `haproxy -c` of S Services x E endpoints, in process (the controller's
//       own code), each part timed;
//   (b) Pod Ready -> first request through HAProxy answered by that Pod, p50/p99: Capstan (a real
//       `capstan server --driver process --lb haproxy`: EndpointSlice, HAProxy controller,
//       runtime API, health check) against the seed's way (ReloadPeer: rewrite haproxy.cfg and
//       reload per change), the same number of samples, the same request loop;
//   (c) failed requests (transport errors, 5xx) during a rolling update of R replicas under
//       continuous load: Capstan's Deployment rollout against the peer's rollout by hand (start
//       new, rewrite, reload, stop old, one replica at a time).
// Measures and prints; asserts nothing. Every wait and loop is bounded; traffic goes to
// 127.0.0.1 only.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "bench/lb_capstan.h"
#include "bench/lb_reload_peer.h"
#include "bench/lb_traffic.h"
#include "controller/haproxy/config_check.h"
#include "controller/haproxy/haproxy_test_util.h"
#include "controller/haproxy/model_builder.h"
#include "controller/haproxy/renderer.h"
#include "controller/haproxy/settings.h"

namespace capstan::bench {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace hp = controller::haproxy;
using hp::testing::WaitUntil;

struct Flags {
  std::string kubeconfig;       // empty: (b) and (c) measure the peer only
  std::string workload;         // lb_workload binary
  std::string haproxy = "/usr/sbin/haproxy";
  std::string dir;              // scratch
  std::string phases = "abc";
  std::string marker = "lb-bench";  // LB_BENCH_MARK of every replica
  std::string check_interval;       // (b): haproxy.capstan.io/check-interval on the Service
  int pre_stop_sleep = 0;           // (c): Capstan's Pods get a preStop `sleep N` (a control)
  int services = 1000, endpoints = 10;
  int samples = 100;            // (b), each side (nearest-rank p99 of 100 is the second worst, of 50 the worst)
  int replicas = 10;            // (c)
  int probe_threads = 2;
  int load_threads = 4;
  int load_pause_us = 200;
  bool load_keep_alive = true;  // false: (c)'s clients open a connection per request
  bool verbose = false;          // (b): one line per sample (a slow one's wall-clock time, to find it in logs)
  // The peer's nbthread: bench/haproxy.sh gives Capstan's server the same (--lb-threads), so the
  // two sides differ only in how a change reaches HAProxy. Default: Capstan's default.
  int haproxy_threads = hp::DefaultHaproxyThreads(hp::UsableCpus());
};

// HH:MM:SS.micro UTC, as the server's log lines stamp their time.
std::string WallClock(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%06lld", tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

double Ms(LbClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Secs(LbClock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- (a) -----------------------------------------------------------------------------------

struct RenderFigures {
  double model_ms = 0, render_ms = 0, write_ms = 0, check_ms = 0;
  bool valid = false, deterministic = false;
  size_t bytes = 0;
  std::string error;
  double total_ms() const { return model_ms + render_ms + write_ms + check_ms; }
};

// S Services (one HTTP port each) and, as Capstan's EndpointSlice controller writes them for
// process Pods (each Pod its own host port), one slice per endpoint.
hp::ModelInputs Inputs(int services, int endpoints) {
  hp::ModelInputs in;
  for (int s = 0; s < services; ++s) {
    const std::string name = "svc-" + std::to_string(s);
    in.services.push_back(std::make_shared<const json>(json{
        {"apiVersion", "v1"},
        {"kind", "Service"},
        {"metadata", {{"name", name}, {"namespace", "bench"}, {"resourceVersion", "1"}}},
        {"spec",
         {{"selector", {{"app", name}}},
          {"ports", json::array({{{"name", "http"}, {"port", 10000 + s % 50000}, {"protocol", "TCP"}}})}}}}));
    for (int e = 0; e < endpoints; ++e) {
      const int port = 1024 + (s * endpoints + e) % 60000;
      in.endpoint_slices.push_back(std::make_shared<const json>(json{
          {"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", name + "-" + std::to_string(e)},
            {"namespace", "bench"},
            {"labels", {{"kubernetes.io/service-name", name}}}}},
          {"addressType", "IPv4"},
          {"endpoints",
           json::array({{{"addresses", {"127.0.0.1"}},
                         {"conditions", {{"ready", true}, {"serving", true}, {"terminating", false}}}}})},
          {"ports", json::array({{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}})}}));
    }
  }
  return in;
}

RenderFigures RenderPhase(const Flags& f) {
  RenderFigures out;
  const hp::ModelInputs in = Inputs(f.services, f.endpoints);
  hp::RenderOptions ro;
  ro.stats_socket = f.dir + "/render/stats.sock";
  ro.cert_dir = f.dir + "/render/certs";
  ro.crt_list = f.dir + "/render/certs/crt-list.txt";
  std::filesystem::create_directories(ro.cert_dir);

  auto t0 = LbClock::now();
  hp::ModelResult model = hp::BuildHaproxyModel(in);
  auto t1 = LbClock::now();
  hp::RenderedConfig rendered = hp::RenderHaproxyConfig(model.model, ro);
  auto t2 = LbClock::now();
  const std::string path = f.dir + "/render/haproxy.cfg";
  std::ofstream(path) << rendered.text;
  auto t3 = LbClock::now();
  auto check = hp::CheckHaproxyConfig(f.haproxy, path);
  auto t4 = LbClock::now();
  out.model_ms = Ms(t1 - t0);
  out.render_ms = Ms(t2 - t1);
  out.write_ms = Ms(t3 - t2);
  out.check_ms = Ms(t4 - t3);
  out.bytes = rendered.text.size();
  out.deterministic = hp::RenderHaproxyConfig(hp::BuildHaproxyModel(in).model, ro).text == rendered.text;
  if (!model.problems.empty()) out.error = model.problems.size() > 0 ? model.problems[0].message : "";
  if (!check.ok()) {
    out.error = check.status().ToString();
  } else {
    out.valid = check->valid;
    if (!check->valid) out.error = hp::AlertSummary(check->output).substr(0, 300);
  }
  return out;
}

// ---- (b) -----------------------------------------------------------------------------------

struct LatencyFigures {
  std::vector<double> ms;
  std::vector<double> to_slice_ms;  // Capstan: Ready -> the EndpointSlice lists it ready
  int missed = 0;  // samples that never became routed within the bound
  std::string error;
};

TrafficOptions ProbeOptions(const Flags& f, int port) {
  TrafficOptions o;
  o.port = port;
  o.threads = f.probe_threads;
  o.pause = std::chrono::microseconds(100);
  o.limit = std::chrono::seconds(600);
  return o;
}

// Base 2 replicas; each sample scales to 3, times Ready -> routed for the new Pod, scales back to 2
// (so the backend keeps its 8 slots and no sample costs a reload).
LatencyFigures CapstanReadyToRouted(const Flags& f, CapstanLb& capstan) {
  LatencyFigures out;
  const std::string app = "lb-ready";
  const int port = hp::testing::FreePort();
  if (Status s = capstan.Create(app, port, 2, f.check_interval); !s.ok()) {
    out.error = "create: " + s.ToString();
    return out;
  }
  TrafficLoop probe(ProbeOptions(f, port));
  if (!WaitUntil([&] {
        auto ready = capstan.ReadyPods(app);
        if (ready.size() < 2) return false;
        for (const auto& p : ready) {
          if (!probe.FirstSeen(p)) return false;
        }
        return true;
      }, 60s)) {
    out.error = "the first 2 replicas were not routed within 60 s";
    return out;
  }
  std::set<std::string> known = capstan.ReadyPods(app);
  for (int i = 0; i < f.samples; ++i) {
    if (Status s = capstan.Scale(app, 3); !s.ok()) {
      out.error = "scale: " + s.ToString();
      break;
    }
    auto fresh = capstan.WaitNewReady(app, known, 30s);
    if (!fresh) {
      out.error = "no new Ready Pod within 30 s";
      break;
    }
    known.insert(fresh->first);
    auto seen = probe.WaitSeen(fresh->first, 10s);
    if (seen) out.ms.push_back(Ms(*seen - fresh->second));
    else ++out.missed;
    auto slice = capstan.EndpointReadyAt(fresh->first);
    if (slice) out.to_slice_ms.push_back(Ms(*slice - fresh->second));
    if (f.verbose) {
      const auto ready_wall = std::chrono::system_clock::now() - (LbClock::now() - fresh->second);
      std::printf("    sample %d: %s Ready at %s: routed %.1f ms, slice %.1f ms\n", i, fresh->first.c_str(),
                  WallClock(ready_wall).c_str(), seen ? Ms(*seen - fresh->second) : -1.0,
                  slice ? Ms(*slice - fresh->second) : -1.0);
    }
    if (Status s = capstan.Scale(app, 2); !s.ok()) {
      out.error = "scale: " + s.ToString();
      break;
    }
    WaitUntil([&] { auto n = capstan.CountPods(app); return n.ok() && *n == 2; }, 30s);
    for (const auto& p : capstan.ReadyPods(app)) known.insert(p);
  }
  probe.Stop();
  (void)capstan.Delete(app);
  return out;
}

LatencyFigures PeerReadyToRouted(const Flags& f) {
  LatencyFigures out;
  const int port = hp::testing::FreePort();
  auto peer = ReloadPeer::Start(f.dir + "/peer-b", f.haproxy, f.workload, port, f.haproxy_threads);
  if (!peer.ok()) {
    out.error = peer.status().ToString();
    return out;
  }
  const std::vector<std::string> base = {"peer-b0", "peer-b1"};
  for (const auto& n : base) {
    if (auto r = (*peer)->StartReplica(n); !r.ok()) {
      out.error = r.status().ToString();
      return out;
    }
  }
  if (Status s = (*peer)->Serve(base); !s.ok()) {
    out.error = "reload: " + s.ToString();
    return out;
  }
  TrafficLoop probe(ProbeOptions(f, port));
  if (!WaitUntil([&] { return probe.FirstSeen(base[0]) && probe.FirstSeen(base[1]); }, 30s)) {
    out.error = "the peer's first 2 replicas were not routed within 30 s";
    return out;
  }
  for (int i = 0; i < f.samples; ++i) {
    const std::string name = "peer-bn" + std::to_string(i);
    auto ready = (*peer)->StartReplica(name);
    if (!ready.ok()) {
      out.error = ready.status().ToString();
      break;
    }
    std::vector<std::string> names = base;
    names.push_back(name);
    if (Status s = (*peer)->Serve(names); !s.ok()) {
      out.error = "reload: " + s.ToString();
      break;
    }
    auto seen = probe.WaitSeen(name, 10s);
    if (seen) out.ms.push_back(Ms(*seen - *ready));
    else ++out.missed;
    (void)(*peer)->Serve(base);
    (*peer)->StopReplica(name);
  }
  probe.Stop();
  return out;
}

// ---- (c) -----------------------------------------------------------------------------------

struct RolloutFigures {
  TrafficCounts load;
  double rollout_s = 0;
  int new_replicas_served = 0;  // distinct new replicas that answered during the load
  int reloads = 0;              // the peer's
  std::string error;
};

TrafficOptions LoadOptions(const Flags& f, int port) {
  TrafficOptions o;
  o.port = port;
  o.threads = f.load_threads;
  o.pause = std::chrono::microseconds(f.load_pause_us);
  o.keep_alive = f.load_keep_alive;
  o.limit = std::chrono::seconds(300);
  return o;
}

// Load from 1 s before the change until 1 s after the rollout is over.
template <typename Rollout>
RolloutFigures UnderLoad(const Flags& f, int port, const std::set<std::string>& old_names, Rollout&& rollout) {
  RolloutFigures out;
  TrafficLoop load(LoadOptions(f, port));
  std::this_thread::sleep_for(1s);
  const auto t0 = LbClock::now();
  out.error = rollout();
  out.rollout_s = Secs(LbClock::now() - t0);
  std::this_thread::sleep_for(1s);
  out.load = load.Stop();
  for (const auto& n : load.Seen()) {
    if (!old_names.count(n)) ++out.new_replicas_served;
  }
  return out;
}

RolloutFigures CapstanRollout(const Flags& f, CapstanLb& capstan) {
  const std::string app = "lb-roll";
  capstan.set_pre_stop_sleep(f.pre_stop_sleep);
  const int port = hp::testing::FreePort();
  if (Status s = capstan.Create(app, port, f.replicas); !s.ok()) return {.error = "create: " + s.ToString()};
  std::set<std::string> old_names;
  {
    TrafficLoop probe(ProbeOptions(f, port));
    const bool routed = WaitUntil([&] {
      old_names = capstan.ReadyPods(app);
      if (static_cast<int>(old_names.size()) < f.replicas) return false;
      for (const auto& p : old_names) {
        if (!probe.FirstSeen(p)) return false;
      }
      return true;
    }, 120s);
    if (!routed) return {.error = "the replicas were not all routed within 120 s"};
  }
  RolloutFigures out = UnderLoad(f, port, old_names, [&]() -> std::string {
    if (Status s = capstan.Restart(app, "2"); !s.ok()) return "patch: " + s.ToString();
    const bool done = WaitUntil([&] { auto r = capstan.RolledOut(app, f.replicas); return r.ok() && *r; }, 180s);
    return done ? "" : "the rollout did not finish within 180 s";
  });
  (void)capstan.Delete(app);
  return out;
}

RolloutFigures PeerRollout(const Flags& f) {
  const int port = hp::testing::FreePort();
  auto peer = ReloadPeer::Start(f.dir + "/peer-c", f.haproxy, f.workload, port, f.haproxy_threads);
  if (!peer.ok()) return {.error = peer.status().ToString()};
  std::vector<std::string> names;
  for (int i = 0; i < f.replicas; ++i) {
    names.push_back("peer-r" + std::to_string(i));
    if (auto r = (*peer)->StartReplica(names.back()); !r.ok()) return {.error = r.status().ToString()};
  }
  if (Status s = (*peer)->Serve(names); !s.ok()) return {.error = "reload: " + s.ToString()};
  const std::set<std::string> old_names(names.begin(), names.end());
  {
    TrafficLoop probe(ProbeOptions(f, port));
    if (!WaitUntil([&] { return probe.Seen().size() >= old_names.size(); }, 30s)) {
      return {.error = "the peer's replicas were not all routed within 30 s"};
    }
  }
  const int reloads_before = (*peer)->reloads();
  RolloutFigures out = UnderLoad(f, port, old_names, [&]() -> std::string {
    for (int i = 0; i < f.replicas; ++i) {
      const std::string old = names[i];
      names[i] = old + "-v2";
      if (auto r = (*peer)->StartReplica(names[i]); !r.ok()) return r.status().ToString();
      if (Status s = (*peer)->Serve(names); !s.ok()) return "reload: " + s.ToString();
      (*peer)->StopReplica(old);
    }
    return "";
  });
  out.reloads = (*peer)->reloads() - reloads_before;
  return out;
}

// ---- report --------------------------------------------------------------------------------

std::string Fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Ratio(double peer, double capstan) { return capstan > 0 ? Fmt(peer / capstan, 1) + "x" : "-"; }

std::string Failed(const RolloutFigures& r) {
  return std::to_string(r.load.failed) + " / " + std::to_string(r.load.requests);
}

void Usage() {
  std::fprintf(stderr,
               "usage: haproxy_bench --workload BIN --dir DIR [--kubeconfig K] [--haproxy BIN] [--phases abc] [--marker M]\n"
               "  [--services N] [--endpoints N] [--samples N] [--replicas N] [--probe-threads N]\n"
               "  [--load-threads N] [--load-pause-us N] [--load-keep-alive true|false] [--check-interval 20ms] [--pre-stop-sleep N]\n"
               "  [--haproxy-threads N] [--verbose true]\n");
}

bool Parse(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (a == "--kubeconfig") f->kubeconfig = v;
    else if (a == "--workload") f->workload = v;
    else if (a == "--haproxy") f->haproxy = v;
    else if (a == "--dir") f->dir = v;
    else if (a == "--phases") f->phases = v;
    else if (a == "--marker") f->marker = v;
    else if (a == "--check-interval") f->check_interval = v;
    else if (a == "--pre-stop-sleep") f->pre_stop_sleep = std::atoi(v.c_str());
    else if (a == "--services") f->services = std::atoi(v.c_str());
    else if (a == "--endpoints") f->endpoints = std::atoi(v.c_str());
    else if (a == "--samples") f->samples = std::atoi(v.c_str());
    else if (a == "--verbose") f->verbose = v == "true";
    else if (a == "--haproxy-threads") f->haproxy_threads = std::atoi(v.c_str());
    else if (a == "--replicas") f->replicas = std::atoi(v.c_str());
    else if (a == "--probe-threads") f->probe_threads = std::atoi(v.c_str());
    else if (a == "--load-threads") f->load_threads = std::atoi(v.c_str());
    else if (a == "--load-pause-us") f->load_pause_us = std::atoi(v.c_str());
    else if (a == "--load-keep-alive") f->load_keep_alive = v != "false" && v != "0";
    else return false;
  }
  return !f->workload.empty() && !f->dir.empty() && f->services > 0 && f->endpoints > 0 && f->samples > 0 &&
         f->replicas > 0 && f->probe_threads > 0 && f->load_threads > 0 && f->haproxy_threads > 0 &&
         f->haproxy_threads <= hp::kMaxHaproxyThreads;
}

int Main(int argc, char** argv) {
  log::SetLevel(log::Level::kWarn);  // the supervisor's line per started replica
  Flags f;
  if (!Parse(argc, argv, &f)) {
    Usage();
    return 2;
  }
  auto has = [&](char p) { return f.phases.find(p) != std::string::npos; };
  std::unique_ptr<CapstanLb> capstan;
  if (!f.kubeconfig.empty() && (has('b') || has('c'))) {
    auto c = CapstanLb::Connect(f.kubeconfig, f.workload, f.marker);
    if (!c.ok()) {
      std::fprintf(stderr, "haproxy_bench: %s\n", c.status().ToString().c_str());
      return 1;
    }
    capstan = std::move(c).value();
    capstan->WatchPods();
  }
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::printf("HAProxy benchmark (issue 7), %s; HAProxy threads (nbthread) %d on both sides\n", date,
              f.haproxy_threads);

  RenderFigures a;
  if (has('a')) {
    a = RenderPhase(f);
    std::printf("(a) %d Services x %d endpoints: model %.0f ms, render %.0f ms, write %.0f ms, haproxy -c %.0f ms; "
                "total %.0f ms; %zu KiB; valid %s; deterministic %s%s%s\n",
                f.services, f.endpoints, a.model_ms, a.render_ms, a.write_ms, a.check_ms, a.total_ms(),
                a.bytes / 1024, a.valid ? "yes" : "NO", a.deterministic ? "yes" : "NO", a.error.empty() ? "" : "; ",
                a.error.c_str());
    std::fflush(stdout);
  }
  LatencyFigures bc, bp;
  if (has('b')) {
    if (capstan) bc = CapstanReadyToRouted(f, *capstan);
    bp = PeerReadyToRouted(f);
    auto line = [](const char* who, const LatencyFigures& l) {
      std::printf("(b) %-18s %zu samples, missed %d: p50 %.1f ms, p99 %.1f ms, max %.1f ms%s%s\n", who, l.ms.size(),
                  l.missed, Percentile(l.ms, 50), Percentile(l.ms, 99), Percentile(l.ms, 100),
                  l.error.empty() ? "" : "; error: ", l.error.c_str());
    };
    if (capstan) line(f.check_interval.empty() ? "capstan" : ("capstan, check " + f.check_interval).c_str(), bc);
    if (capstan && !bc.to_slice_ms.empty()) {
      std::printf("    capstan, Ready -> EndpointSlice ready: p50 %.1f ms, p99 %.1f ms (HAProxy takes the Pod "
                  "event itself, ahead of the slice: pending_endpoints.h)\n",
                  Percentile(bc.to_slice_ms, 50), Percentile(bc.to_slice_ms, 99));
    }
    line("reload per change", bp);
    std::fflush(stdout);
  }
  RolloutFigures cc, cp;
  if (has('c')) {
    if (capstan) cc = CapstanRollout(f, *capstan);
    cp = PeerRollout(f);
    auto line = [&](const char* who, const RolloutFigures& r) {
      std::printf("(c) %-18s rolling update of %d in %.2f s: failed %ld of %ld requests (other %ld), "
                  "new replicas served %d%s%s%s\n",
                  who, f.replicas, r.rollout_s, r.load.failed, r.load.requests, r.load.other, r.new_replicas_served,
                  r.load.first_failure.empty() ? "" : "; first failure: ", r.load.first_failure.c_str(),
                  r.error.empty() ? "" : ("; error: " + r.error).c_str());
    };
    if (capstan) {
      line(f.pre_stop_sleep > 0 ? ("capstan, preStop " + std::to_string(f.pre_stop_sleep) + "s").c_str() : "capstan", cc);
    }
    line("reload per change", cp);
    std::printf("    the peer reloaded %d times during its rollout\n", cp.reloads);
  }

  std::printf("\n| metric | capstan | reload per change | ratio | target |\n|---|---|---|---|---|\n");
  if (has('a')) {
    std::printf("| (a) model + render + `haproxy -c`, %d x %d (ms) | %.0f | | | < 1000 (%s) |\n", f.services,
                f.endpoints, a.total_ms(), a.total_ms() < 1000 && a.valid ? "met" : "not met");
  }
  if (has('b')) {
    const double c50 = Percentile(bc.ms, 50), c99 = Percentile(bc.ms, 99);
    const double p50 = Percentile(bp.ms, 50), p99 = Percentile(bp.ms, 99);
    std::printf("| (b) Ready -> routed p50 (ms), %zu / %zu samples | %s | %s | %s | |\n", bc.ms.size(), bp.ms.size(),
                Fmt(c50).c_str(), Fmt(p50).c_str(), Ratio(p50, c50).c_str());
    std::printf("| (b) Ready -> routed p99 (ms) | %s | %s | %s | < 100 and >= 10x (%s) |\n", Fmt(c99).c_str(),
                Fmt(p99).c_str(), Ratio(p99, c99).c_str(),
                !bc.ms.empty() && c99 < 100 && c99 * 10 <= p99 ? "met" : "not met");
  }
  if (has('c')) {
    std::printf("| (c) failed / requests, rolling update of %d | %s | %s | | 0 for capstan (%s) |\n", f.replicas,
                Failed(cc).c_str(), Failed(cp).c_str(),
                capstan && cc.error.empty() && cc.load.requests > 0 && cc.load.failed == 0 ? "met" : "not met");
    std::printf("| (c) rollout duration (s) | %s | %s | | |\n", Fmt(cc.rollout_s, 2).c_str(), Fmt(cp.rollout_s, 2).c_str());
  }
  const bool errors = !a.error.empty() || !bc.error.empty() || !bp.error.empty() || !cc.error.empty() ||
                      !cp.error.empty();
  return errors ? 1 : 0;
}

}  // namespace
}  // namespace capstan::bench

int main(int argc, char** argv) { return capstan::bench::Main(argc, argv); }
