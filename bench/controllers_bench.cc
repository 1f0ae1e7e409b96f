// controllers_bench: the control loops at scale (issue "Control loops", bench/controllers.sh).
//
// Against a running `capstan server --driver fake` (zero start latency): creates D Deployments of
// R replicas in one namespace as fast as T client threads can POST them (what one `capstan
// apply` of a D-document file amounts to), waits until every Deployment reports all replicas
// available, then scales every Deployment to 0 and waits until no Pod is left. Prints pods/s both
// ways, the server's CPU time and peak RSS, and the ratio against kube-controller-manager's
// default client rate limit (20 QPS, burst 30: every Pod create and delete is one request, so
// no more than 20 Pods/s either way) — a computed reference: there is no Kubernetes here to run.
// Measures; asserts nothing. Every wait is bounded (--timeout).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/proc_stats.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"

namespace capstan::bench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Config {
  std::string kubeconfig;
  int pid = 0;
  int deployments = 1000;
  int replicas = 10;
  int threads = 16;
  int timeout_s = 600;
  bool timeline = false;  // print progress every 500 ms of the up phase (where the time goes)
  std::string ns = "bench";
};


json Deployment(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"labels", {{"bench", "controllers"}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}, {"bench", "controllers"}}}}},
              {"spec", {{"containers", {{{"name", "app"}, {"image", "busybox:bench"}}}}}}}}}}};
}

// Runs fn(i) for i in [0, n) on `threads` threads; returns the number of failures.
int Parallel(int n, int threads, const std::function<bool(int)>& fn) {
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < n;) {
        if (!fn(i)) failed.fetch_add(1);
      }
    });
  }
  for (auto& t : pool) t.join();
  return failed.load();
}

// Pods in the benchmark's own namespace: one item and metadata.remainingItemCount (exact without a
// selector), so that polling does not cost the server a full list of 10,000 Pods four times a
// second (that was 13% of its CPU while scaling down, charged to the control loops).
long CountPods(client::RestClient& c, const std::string& ns) {
  auto list = c.Get("/api/v1/namespaces/" + ns + "/pods", {{"limit", "1"}});
  if (!list.ok()) return -1;
  const json& meta = (*list).value("metadata", json::object());
  const long items = static_cast<long>((*list)["items"].size());
  if (items == 0) return 0;
  if (meta.value("continue", "").empty()) return items;
  const json& remaining = meta.value("remainingItemCount", json());
  return remaining.is_number_integer() ? items + remaining.get<long>() : -1;
}

// The benchmark's Deployments that report every replica available, kept by a watch (as `kubectl
// rollout status` follows one): listing 1,000 Deployments four times a second cost the server
// about 6% of its CPU while scaling up, charged to the control loops.
class AvailableDeployments {
 public:
  AvailableDeployments(client::RestClient& c, std::string ns, int replicas)
      : c_(c), path_("/apis/apps/v1/namespaces/" + ns + "/deployments"), replicas_(replicas) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~AvailableDeployments() {
    stop_ = true;
    thread_.join();
  }
  long Available() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<long>(available_.size());
  }
  // Blocks until `want` are available or `deadline`; the number available.
  long WaitFor(long want, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return static_cast<long>(available_.size()) >= want; });
    return static_cast<long>(available_.size());
  }

 private:
  void Note(const json& d, bool deleted) {
    const json& st = d.value("status", json::object());
    const bool ok = !deleted && st.value("availableReplicas", 0) == replicas_ && st.value("updatedReplicas", 0) == replicas_;
    const std::string name = d["metadata"].value("name", "");
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) available_.insert(name);
    else available_.erase(name);
    cv_.notify_all();
  }
  void Loop() {
    const client::Query selector = {{"labelSelector", "bench=controllers"}};
    std::string rv;
    while (!stop_) {
      if (rv.empty()) {  // at the start, and after 410: the list says where things are
        auto list = c_.Get(path_, selector);
        if (!list.ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          continue;
        }
        for (const json& d : (*list)["items"]) Note(d, false);
        rv = (*list)["metadata"].value("resourceVersion", "");
      }
      client::Query q = selector;
      q.insert(q.end(), {{"watch", "true"}, {"resourceVersion", rv}, {"allowWatchBookmarks", "true"}, {"timeoutSeconds", "2"}});
      Status s = c_.Watch(path_, q, [&](const json& event) {
        rv = event["object"]["metadata"].value("resourceVersion", rv);
        const std::string type = event.value("type", "");
        if (type != "BOOKMARK") Note(event["object"], type == "DELETED");
        return !stop_.load();
      }, "", std::chrono::seconds(10));
      if (s.code() == Code::kExpired) rv.clear();
      else if (!s.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  client::RestClient& c_;
  const std::string path_;
  const int replicas_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> available_;  // guarded by mu_
  std::thread thread_;
};

// What one scrape of the server's /metrics says of the work done so far.
struct ServerCounts {
  // apiserver_request_total summed by verb over codes: what the control loops (in-process
  // clients, counted like remote ones) and this benchmark asked of the API.
  std::map<std::string, double> requests;
  double store_commits = 0;  // capstan_store_commits_total (one fdatasync each)
  double store_writes = 0;   // capstan_store_writes_total
};

ServerCounts ScrapeCounts(const client::RestClient& c) {
  ServerCounts out;
  auto r = c.Do("GET", "/metrics", {}, "", "", "text/plain");
  if (!r.ok() || r->status != 200) return out;
  const auto value = [&](const std::string& name) {
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? 0.0 : std::atof(r->body.c_str() + at + name.size() + 2);
  };
  out.store_commits = value("capstan_store_commits_total");
  out.store_writes = value("capstan_store_writes_total");
  std::istringstream in(r->body);
  std::string line;
  const std::string prefix = "apiserver_request_total{";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t verb = line.find("verb=\"");
    const size_t space = line.rfind(' ');
    if (verb == std::string::npos || space == std::string::npos) continue;
    const size_t end = line.find('"', verb + 6);
    out.requests[line.substr(verb + 6, end - verb - 6)] += std::atof(line.c_str() + space + 1);
  }
  return out;
}

// "POST 2.0, PATCH 1.1, ..." per Pod between two scrapes (GET, LIST and WATCH left out: reads),
// then how many writes the store put behind each fdatasync.
std::string WritesPerPod(const ServerCounts& before, const ServerCounts& after, long pods) {
  std::string out;
  double total = 0;
  for (const auto& [verb, n] : after.requests) {
    if (verb == "GET" || verb == "LIST" || verb == "WATCH") continue;
    auto it = before.requests.find(verb);
    const double per_pod = (n - (it == before.requests.end() ? 0 : it->second)) / static_cast<double>(pods);
    if (per_pod < 0.005) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", verb.c_str(), per_pod);
    out += buf;
    total += per_pod;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, " (%.2f in all)", total);
  if (out.empty()) return "unknown (no /metrics)";
  const double commits = after.store_commits - before.store_commits;
  const double writes = after.store_writes - before.store_writes;
  if (commits > 0) {
    char store[96];
    std::snprintf(store, sizeof store, "; store: %.0f writes in %.0f commits (%.1f a commit)", writes, commits,
                  writes / commits);
    return out + buf + store;
  }
  return out + buf;
}

int Run(const Config& cfg) {
  client::ConnectionOverrides o;
  o.kubeconfig = cfg.kubeconfig;
  auto conn = client::ResolveConnection(o);
  if (!conn.ok()) {
    std::fprintf(stderr, "controllers_bench: %s\n", conn.status().ToString().c_str());
    return 1;
  }
  client::RestClientOptions ropts;
  ropts.request_timeout = std::chrono::milliseconds(120000);
  auto rc = client::RestClient::Create(*conn, ropts);
  if (!rc.ok()) {
    std::fprintf(stderr, "controllers_bench: %s\n", rc.status().ToString().c_str());
    return 1;
  }
  client::RestClient& c = **rc;
  (void)c.Create("/api/v1/namespaces", json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", cfg.ns}}}});
  const long pods = static_cast<long>(cfg.deployments) * cfg.replicas;
  const auto deadline = [&](Clock::time_point start) { return start + std::chrono::seconds(cfg.timeout_s); };

  // Up.
  AvailableDeployments watch(c, cfg.ns, cfg.replicas);
  const auto requests0 = ScrapeCounts(c);
  const double cpu0 = ProcCpuSeconds(cfg.pid);
  const auto t0 = Clock::now();
  const std::string dpath = "/apis/apps/v1/namespaces/" + cfg.ns + "/deployments";
  int failed = Parallel(cfg.deployments, cfg.threads, [&](int i) {
    return c.Create(dpath, Deployment("d" + std::to_string(i), cfg.replicas)).ok();
  });
  const double posted_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (cfg.timeline) {
    std::printf("  timeline (up): s, Deployments available, server CPU s\n");
    while (watch.WaitFor(cfg.deployments - failed, Clock::now() + std::chrono::milliseconds(500)) <
               cfg.deployments - failed &&
           Clock::now() < deadline(t0)) {
      std::printf("    %5.2f %5ld %5.2f\n", std::chrono::duration<double>(Clock::now() - t0).count(),
                  watch.Available(), ProcCpuSeconds(cfg.pid) - cpu0);
    }
  }
  const long available = watch.WaitFor(cfg.deployments - failed, deadline(t0));
  const double up_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu_up = ProcCpuSeconds(cfg.pid) - cpu0;
  const double hwm_up = ReadProcMemory(cfg.pid).hwm_mib;
  const auto requests1 = ScrapeCounts(c);

  // Down.
  const double cpu1 = ProcCpuSeconds(cfg.pid);
  const auto t1 = Clock::now();
  int scale_failed = Parallel(cfg.deployments, cfg.threads, [&](int i) {
    return c.Patch(dpath + "/d" + std::to_string(i) + "/scale", client::PatchType::kMerge,
                   json{{"spec", {{"replicas", 0}}}})
        .ok();
  });
  long left = -1;
  while (Clock::now() < deadline(t1)) {
    left = CountPods(c, cfg.ns);
    if (left == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const double down_s = std::chrono::duration<double>(Clock::now() - t1).count();
  const double cpu_down = ProcCpuSeconds(cfg.pid) - cpu1;
  const ProcMemory mem = ReadProcMemory(cfg.pid);
  const auto requests2 = ScrapeCounts(c);

  const double up_rate = available == cfg.deployments ? pods / up_s : 0;
  const double down_rate = left == 0 ? pods / down_s : 0;
  constexpr double kKcmQps = 20;  // kube-controller-manager's default --kube-api-qps
  std::printf("controllers benchmark: %d Deployments x %d replicas = %ld Pods, fake driver, zero latency\n",
              cfg.deployments, cfg.replicas, pods);
  std::printf("  deployments posted in %.2f s (%d failed)\n", posted_s, failed);
  std::printf("  up:   all available after %.2f s (%ld/%d available)  %.0f pods/s  server CPU %.1f s (%.0f%% of 2 cores)\n",
              up_s, available, cfg.deployments, up_rate, cpu_up, 100 * cpu_up / up_s / 2);
  std::printf("  down: no Pod left after %.2f s (%ld left, %d scale failures)  %.0f pods/s  server CPU %.1f s (%.0f%% of 2 cores)\n",
              down_s, left, scale_failed, down_rate, cpu_down, 100 * cpu_down / down_s / 2);
  std::printf("  API writes per Pod, up: %s\n", WritesPerPod(requests0, requests1, pods).c_str());
  std::printf("  API writes per Pod, down: %s\n", WritesPerPod(requests1, requests2, pods).c_str());
  std::printf("  server peak RSS %.0f MiB (after up: %.0f MiB)\n", mem.hwm_mib, hwm_up);
  std::printf("  vs kube-controller-manager at its default 20 QPS (computed: %.0f s each way): up %.0fx, down %.0fx\n",
              pods / kKcmQps, up_rate / kKcmQps, down_rate / kKcmQps);
  json out = {{"bench", "controllers"},
              {"config", {{"deployments", cfg.deployments}, {"replicas", cfg.replicas}, {"threads", cfg.threads}}},
              {"metrics",
               {{"up_pods_per_s", up_rate},
                {"down_pods_per_s", down_rate},
                {"up_s", up_s},
                {"down_s", down_s},
                {"cpu_up_s", cpu_up},
                {"cpu_down_s", cpu_down},
                {"peak_rss_mib", mem.hwm_mib},
                {"ratio_up_vs_kcm_20qps", up_rate / kKcmQps},
                {"ratio_down_vs_kcm_20qps", down_rate / kKcmQps}}}};
  std::printf("%s\n", out.dump().c_str());
  return available == cfg.deployments && left == 0 ? 0 : 1;
}

}  // namespace
}  // namespace capstan::bench

int main(int argc, char** argv) {
  capstan::bench::Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (a == name && i + 1 < argc) return argv[++i];
      return nullptr;
    };
    if (const char* v = value("--kubeconfig")) cfg.kubeconfig = v;
    else if (const char* v = value("--pid")) cfg.pid = std::atoi(v);
    else if (const char* v = value("--deployments")) cfg.deployments = std::atoi(v);
    else if (const char* v = value("--replicas")) cfg.replicas = std::atoi(v);
    else if (const char* v = value("--threads")) cfg.threads = std::atoi(v);
    else if (const char* v = value("--timeout")) cfg.timeout_s = std::atoi(v);
    else if (a == "--timeline") cfg.timeline = true;
    else {
      std::fprintf(stderr,
                   "usage: controllers_bench --kubeconfig FILE --pid PID [--deployments 1000] [--replicas 10]\n"
                   "                         [--threads 16] [--timeout 600] [--timeline]\n"
                   "                         (normally run by bench/controllers.sh)\n");
      return 2;
    }
  }
  if (cfg.kubeconfig.empty() || cfg.pid <= 0) {
    std::fprintf(stderr, "controllers_bench: --kubeconfig and --pid are required\n");
    return 2;
  }
  return capstan::bench::Run(cfg);
}
