// HaproxyController ("haproxy"): runs Capstan's HAProxy (a supervised master-worker child) and
// keeps it serving what Services, EndpointSlices, Ingresses, IngressClasses, TLS Secrets and the
// defaults ConfigMap (kube-system/capstan-haproxy-defaults) say. See docs/haproxy.md.
//
// A Pod's endpoint change (Ready, terminating, gone) reaches HAProxy from the Pod event itself,
// ahead of the EndpointSlice that says the same (pending_endpoints.h): one fsynced write and two
// hand-offs less between a Pod turning Ready and HAProxy routing to it.
//
// It runs on every server, leader or not (like the node agent): each host's HAProxy must serve
// the cluster's Services. Informers on those collections (and Pods, for readinessProbe HTTP
// checks) only add the one key "haproxy": the whole config is one reconcile, so a burst of
// changes is one pass, and the applier adds the reload debounce on top.
//
// Reconcile:
//   1. BuildHaproxyModel over the caches, with the applied model as `previous` (slots stay).
//   2. HaproxyApplier::Apply: runtime API for endpoint changes, a checked, atomic, debounced
//      reload for the rest; RequeueAfter while debouncing or draining.
//   3. Objects at fault (the builder's problems; the objects `haproxy -c` blames when it refuses
//      a config) get a Warning Event (reason HAProxyInvalid / HAProxyConfigRejected) naming the
//      problem, and a Service gets the status condition capstan.io/HAProxyConfigured (False with
//      the reason and message; True once it is served). Ingress has no status conditions in
//      Kubernetes: Events only, as ingress controllers do.
//   A refused config is retried without the blamed objects, so one bad object never blocks the
//   others (at most kMaxExclusions rounds per reconcile).
//   4. The termination order (drain_tracker.h): the built model's terminating servers are held,
//      drained or put in maint (show stat when needed), and after the apply the Pods get the
//      condition haproxy.capstan.io/Drained (False once routed, True once drained) that their
//      node agent waits for before SIGTERM.
//   HAProxy that exits and cannot start again (a listener port another process holds) has the
//   objects its output blames left out of the file it restarts from (haproxy_controller_start.cc).
//
// Thread-safety: Controller's. The applier and the last model are touched only by the reconcile
// (one worker); the supervisor's restart callback only sets an atomic flag and adds the key.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <map>
#include <set>
#include <string>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "controller/haproxy/applier.h"
#include "controller/haproxy/drain_tracker.h"
#include "controller/haproxy/haproxy_metrics.h"
#include "controller/haproxy/model_builder.h"
#include "controller/haproxy/pending_endpoints.h"
#include "controller/runtime/queued_controller.h"
#include "controller/supervisor/child_supervisor.h"

namespace capstan::controller::haproxy {

inline constexpr char kConditionType[] = "capstan.io/HAProxyConfigured";

struct HaproxyControllerOptions {
  std::string data_dir;                 // files under <data_dir>/haproxy
  std::string haproxy_bin = "/usr/sbin/haproxy";
  std::string service_address = "127.0.0.1";
  std::string public_address = "0.0.0.0";
  // What served Ingresses report in status.loadBalancer.ingress (base/host_address.h); empty: the
  // public address.
  std::string advertise_address;
  int http_port = 80;                   // the Ingress HTTP listener; 0: none
  int https_port = 443;                 // the Ingress HTTPS listener; 0: none
  std::chrono::milliseconds drain_timeout{30000};
  std::chrono::milliseconds reload_debounce{200};
  // HAProxy's threads (nbthread) unless the defaults ConfigMap sets `threads`; 0: HAProxy's
  // default, one per CPU. `capstan server` passes --lb-threads or DefaultHaproxyThreads.
  int threads = 0;
  client::EventRecorderOptions events;
};

// Counters since start (also on /metrics: haproxy_metrics.h).
struct HaproxyStats {
  uint64_t reloads_ok = 0, reloads_failed = 0;
  uint64_t configs_rejected = 0;     // haproxy -c refused a candidate
  uint64_t runtime_updates = 0;      // server ops through the runtime API
  uint64_t renders = 0;
  uint64_t last_render_micros = 0;   // model build + render + check of the last apply
  int haproxy_restarts = 0;
  pid_t master_pid = -1;
};

class HaproxyController final : public QueuedController {
 public:
  explicit HaproxyController(HaproxyControllerOptions options);
  ~HaproxyController() override;

  Status Setup(const ControllerContext& ctx) override;
  // Writes the first config from the synced caches and starts HAProxy, then the worker.
  Status Start() override;
  void Stop() override;  // the worker, then HAProxy (SIGUSR1 soft stop, then kill)
  ReconcileResult Reconcile(const std::string& key) override;

  HaproxyStats Stats() const;
  const HaproxyRuntimeClient& runtime() const { return *client_; }

 private:
  static constexpr int kMaxExclusions = 8;
  ModelInputs Inputs();
  // The Services ("<ns>/<name>") of the Pod's namespace whose selector selects it (old or new
  // labels).
  std::vector<std::string> SelectingServices(const nlohmann::json& old_pod, const nlohmann::json& pod) const;
  // Events and Service conditions for the objects at fault; `ok` services get True.
  void Report(const std::vector<Problem>& problems, const std::string& reason);
  void SetServiceCondition(const nlohmann::json& svc, bool ok, const std::string& reason, const std::string& message);
  // The termination order (haproxy_controller_drain.cc, drain_tracker.h): adjusts the built
  // model's terminating servers (show stat when needed); after an apply, writes the Pods'
  // Drained conditions. Both return how soon to look again (0: nothing in progress).
  std::chrono::milliseconds AdjustDrains(HaproxyModel* model);
  std::chrono::milliseconds ReportDrains();
  // HAProxy exited (haproxy_controller_start.cc): the supervisor thread keeps what it logged in
  // that run; the reconcile, when that output blames objects (a listener port another process
  // holds: it could not start), rewrites the file without them for the supervisor's next start
  // and reports them. True when it did (the reconcile ends there).
  void CaptureExitOutput();
  bool ExcludeStartFailures(const ModelInputs& in);

  const HaproxyControllerOptions options_;
  std::string dir_;
  client::ApiClient* api_ = nullptr;
  client::Informer *services_ = nullptr, *slices_ = nullptr, *ingresses_ = nullptr, *classes_ = nullptr,
                   *secrets_ = nullptr, *config_maps_ = nullptr, *pods_ = nullptr, *nodes_ = nullptr;
  // Pod changes ahead of their EndpointSlices (pending_endpoints.h): noted by the Pod informer's
  // handler, read by the reconcile.
  PendingEndpoints pending_;
  std::unique_ptr<client::EventRecorder> recorder_;
  std::unique_ptr<HaproxyRuntimeClient> client_;
  std::unique_ptr<HaproxyApplier> applier_;
  std::unique_ptr<supervisor::ChildSupervisor> haproxy_;
  std::unique_ptr<HaproxyMetrics> metrics_;  // /metrics (metrics::DefaultRegistry()); set in Start
  std::atomic<bool> restarted_{false};
  // Objects a refused config blamed: source -> the resourceVersion refused. Only the reconcile
  // thread touches it.
  std::map<std::string, std::string> rejected_;
  DrainTracker drains_;  // reconcile thread only
  std::atomic<bool> exited_{false};
  std::mutex exit_mu_;
  std::string exit_output_;  // guarded by exit_mu_: HAProxy's output of its last run
  uint64_t log_offset_ = 0;  // guarded by exit_mu_: where that run's output began in haproxy.log

  mutable std::mutex stats_mu_;
  HaproxyStats stats_;  // guarded by stats_mu_
};

}  // namespace capstan::controller::haproxy
