#include "controller/haproxy/haproxy_metrics.h"

#include <map>

namespace capstan::controller::haproxy {

HaproxyMetrics::HaproxyMetrics(metrics::Registry* registry, const std::string& master_socket,
                               std::chrono::milliseconds timeout)
    : registry_(registry),
      client_(master_socket, timeout),
      reloads_(registry->Counter("capstan_haproxy_reloads_total",
                                 "HAProxy reloads by result: ok, failed (HAProxy kept the old worker), rejected "
                                 "(haproxy -c refused the candidate config).",
                                 {"result"})),
      runtime_updates_(registry->Counter("capstan_haproxy_runtime_updates_total",
                                         "Server changes applied through HAProxy's runtime API (no reload).")),
      render_(registry->Histogram("capstan_haproxy_render_duration_seconds",
                                  "One pass of the HAProxy reconcile: model build, render, haproxy -c when the "
                                  "change is structural, and the runtime updates or the reload.",
                                  {}, metrics::DurationBuckets())),
      restarts_(registry->Counter("capstan_haproxy_restarts_total",
                                  "Times the supervisor restarted HAProxy after it exited.")),
      up_(registry->Gauge("capstan_haproxy_up", "1 when HAProxy's master CLI answers show proc, else 0.")),
      workers_(registry->Gauge("capstan_haproxy_workers",
                               "HAProxy worker processes: current, and old ones finishing their sessions after a "
                               "reload.",
                               {"generation"})),
      servers_(registry->Gauge("capstan_haproxy_servers",
                               "Filled HAProxy server slots by state (show stat: UP, DOWN, DRAIN, MAINT, NOLB).",
                               {"state"})) {
  for (const char* result : {"ok", "failed", "rejected"}) reloads_.With({result});
  runtime_updates_.With();
  restarts_.With();
  if (!master_socket.empty()) collector_ = registry_->AddCollector([this] { Collect(); });
}

HaproxyMetrics::~HaproxyMetrics() {
  if (collector_ != 0) registry_->RemoveCollector(collector_);
}

void HaproxyMetrics::RecordApply(const ApplyResult& r, std::chrono::steady_clock::duration took) {
  render_.With().Observe(std::chrono::duration<double>(took).count());
  if (r.runtime_updates > 0) runtime_updates_.With().Inc(r.runtime_updates);
  if (r.reloaded) reloads_.With({"ok"}).Inc();
  if (r.reload_failed) reloads_.With({"failed"}).Inc();
  else if (!r.status.ok() && !r.blamed.empty()) reloads_.With({"rejected"}).Inc();
}

void HaproxyMetrics::RecordRestart() { restarts_.With().Inc(); }

std::map<std::string, int> CountServersByState(const std::vector<ServerStat>& stats, const SlotSet* slots) {
  std::map<std::string, int> by_state = {{"UP", 0}, {"DOWN", 0}, {"DRAIN", 0}, {"MAINT", 0}};
  for (const ServerStat& s : stats) {
    if (s.address.empty() || s.address == "0.0.0.0:0") continue;  // a slot never filled
    if (slots != nullptr && !slots->count({s.backend, s.server})) continue;  // vacated
    std::string state = s.status.substr(0, s.status.find(' '));
    if (s.status == "no check") state = "UP";
    ++by_state[state];
  }
  return by_state;
}

void HaproxyMetrics::SetEndpointSlots(SlotSet slots) {
  std::lock_guard<std::mutex> lock(mu_);
  slots_ = std::move(slots);
}

void HaproxyMetrics::Collect() {
  servers_.Clear();
  workers_.Clear();
  // ShowProc retries for up to half a second: a master re-executing itself for a reload accepts
  // connections and answers nothing for a moment, which is not "down".
  auto proc = client_.ShowProc();
  up_.With().Set(proc.ok() ? 1 : 0);
  if (!proc.ok()) return;
  workers_.With({"current"}).Set(static_cast<double>(proc->workers.size()));
  workers_.With({"old"}).Set(static_cast<double>(proc->old_workers.size()));
  auto stats = client_.ShowStat();
  if (!stats.ok()) return;
  std::optional<SlotSet> slots;
  {
    std::lock_guard<std::mutex> lock(mu_);
    slots = slots_;
  }
  const auto by_state = CountServersByState(*stats, slots ? &*slots : nullptr);
  for (const auto& [state, n] : by_state) servers_.With({state}).Set(n);
}

}  // namespace capstan::controller::haproxy
