// HaproxyMetrics: the managed HAProxy's metrics (docs/metrics.md lists them):
//   capstan_haproxy_reloads_total{result}            ok | failed (HAProxy kept the old worker) |
//                                                    rejected (haproxy -c refused the candidate)
//   capstan_haproxy_runtime_updates_total            server ops through the runtime API
//   capstan_haproxy_render_duration_seconds          one reconcile pass: model build, render,
//                                                    check and apply (histogram)
//   capstan_haproxy_restarts_total                   HAProxy restarted by the supervisor
//   capstan_haproxy_up                               1 when the master CLI answers `show proc`
//   capstan_haproxy_workers{generation}              current | old (finishing after a reload)
//   capstan_haproxy_servers{state}                   server slots holding an endpoint by `show
//                                                    stat` state (UP, DOWN, DRAIN, MAINT, NOLB;
//                                                    transitional "UP 1/3" counts as its first
//                                                    word); a vacated slot (in MAINT with its
//                                                    last address) is not counted
// The last three are read from HAProxy at scrape time by a collector (a short timeout each), so
// a scrape shows HAProxy as it is, not as last reconciled.
//
// One HAProxy per process: two HaproxyMetrics on one registry add to the same counters and the
// last collector to run sets the gauges.
//
// Thread-safety: Record* from any thread; the collector runs on the scraping thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/metrics.h"
#include "controller/haproxy/applier.h"
#include "controller/haproxy/runtime_client.h"

namespace capstan::controller::haproxy {

// (backend, server name) of the slots that hold an endpoint.
using SlotSet = std::set<std::pair<std::string, std::string>>;

// capstan_haproxy_servers' counts: `stats` rows by state, only those in `slots` (every slot ever
// filled when null). Every state UP, DOWN, DRAIN, MAINT is present.
std::map<std::string, int> CountServersByState(const std::vector<ServerStat>& stats, const SlotSet* slots);

class HaproxyMetrics {
 public:
  // `master_socket`: the master CLI the collector reads; empty: no collector (the gauges stay).
  HaproxyMetrics(metrics::Registry* registry, const std::string& master_socket,
                 std::chrono::milliseconds timeout = std::chrono::seconds(1));
  ~HaproxyMetrics();  // removes the collector (waits for a running scrape)
  HaproxyMetrics(const HaproxyMetrics&) = delete;
  HaproxyMetrics& operator=(const HaproxyMetrics&) = delete;

  // One Apply of the reconcile; `took` since the pass started.
  void RecordApply(const ApplyResult& result, std::chrono::steady_clock::duration took);
  void RecordRestart();
  // The slots that hold an endpoint now: the applied model's servers and those still leaving.
  // Until the first call every slot ever filled counts.
  void SetEndpointSlots(SlotSet slots);

 private:
  void Collect();

  metrics::Registry* const registry_;
  const HaproxyRuntimeClient client_;
  metrics::CounterFamily& reloads_;
  metrics::CounterFamily& runtime_updates_;
  metrics::HistogramFamily& render_;
  metrics::CounterFamily& restarts_;
  metrics::GaugeFamily& up_;
  metrics::GaugeFamily& workers_;
  metrics::GaugeFamily& servers_;
  int collector_ = 0;
  std::mutex mu_;
  std::optional<SlotSet> slots_;  // guarded by mu_
};

}  // namespace capstan::controller::haproxy
