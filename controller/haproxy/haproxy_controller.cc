#include "controller/haproxy/haproxy_controller.h"

#include <signal.h>

#include <filesystem>
#include <map>

#include "base/log.h"
#include "base/metrics.h"
#include "client/json_fields.h"
#include "controller/endpoints/endpointslice_sync.h"
#include "controller/haproxy/drain_tracker.h"
#include "controller/haproxy/ingress_status.h"
#include "controller/haproxy/probe_checks.h"
#include "controller/haproxy/settings.h"

namespace capstan::controller::haproxy {
namespace {

using client::MetaString;
using client::ObjectPtr;
using nlohmann::json;

constexpr char kKey[] = "haproxy";
constexpr char kComponent[] = "capstan-haproxy";
constexpr char kReasonInvalid[] = "HAProxyInvalid";
constexpr char kReasonRejected[] = "HAProxyConfigRejected";

std::string NowRfc3339() { return client::FormatRfc3339(std::chrono::system_clock::now()); }

}  // namespace

HaproxyController::HaproxyController(HaproxyControllerOptions options)
    : QueuedController("haproxy", 1), options_(std::move(options)), drains_(options_.drain_timeout) {}

HaproxyController::~HaproxyController() { Stop(); }

Status HaproxyController::Setup(const ControllerContext& ctx) {
  if (ctx.api == nullptr || ctx.informers == nullptr) return Status::Invalid("haproxy: api and informers are required");
  if (options_.data_dir.empty()) return Status::Invalid("haproxy: data_dir is required");
  InitQueue(ctx);
  api_ = ctx.api;
  dir_ = options_.data_dir + "/haproxy";
  recorder_ = std::make_unique<client::EventRecorder>(api_, kComponent, options_.events);
  services_ = ctx.informers->ForResource("/api/v1/services");
  slices_ = ctx.informers->ForResource("/apis/discovery.k8s.io/v1/endpointslices");
  ingresses_ = ctx.informers->ForResource("/apis/networking.k8s.io/v1/ingresses");
  classes_ = ctx.informers->ForResource("/apis/networking.k8s.io/v1/ingressclasses");
  secrets_ = ctx.informers->ForResource("/api/v1/secrets");
  config_maps_ = ctx.informers->ForResource(std::string("/api/v1/namespaces/") + kDefaultsNamespace + "/configmaps");
  pods_ = ctx.informers->ForResource("/api/v1/pods");
  nodes_ = ctx.informers->ForResource("/api/v1/nodes");
  client::ResourceEventHandler any;
  any.on_add = [this](const ObjectPtr&) { queue().Add(kKey); };
  any.on_update = [this](const ObjectPtr&, const ObjectPtr&) { queue().Add(kKey); };
  any.on_delete = [this](const ObjectPtr&) { queue().Add(kKey); };
  for (client::Informer* inf : {services_, slices_, ingresses_, classes_, secrets_, config_maps_}) {
    CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(inf, any));
  }
  // Pods matter for their readinessProbe (the HTTP check): new, gone, or relabelled; and for the
  // termination order once they are terminating (a Pod no server routes to is drained at once).
  // Only Pods that concern HAProxy at all (PodConcernsHaproxy). And a change that moves a Pod's
  // endpoint in a Service with a selector is taken ahead of its EndpointSlice (pending_).
  client::ResourceEventHandler pods;
  pods.on_add = [this](const ObjectPtr& pod) {
    if (PodConcernsHaproxy(*pod)) queue().Add(kKey);
  };
  pods.on_delete = [this](const ObjectPtr& pod) {
    bool wake = PodConcernsHaproxy(*pod);
    if (auto services = SelectingServices(*pod, *pod); !services.empty()) {
      pending_.Note(pod, true, std::move(services), std::chrono::steady_clock::now());
      wake = true;
    }
    if (wake) queue().Add(kKey);
  };
  pods.on_update = [this](const ObjectPtr& old_pod, const ObjectPtr& pod) {
    bool wake = false;
    if (PodConcernsHaproxy(*old_pod) || PodConcernsHaproxy(*pod)) {
      wake = client::Field(client::Field(*old_pod, "metadata"), "labels") != client::Field(client::Field(*pod, "metadata"), "labels") ||
             MetaString(*old_pod, "deletionTimestamp") != MetaString(*pod, "deletionTimestamp");
    }
    if (PendingEndpoints::MayMoveEndpoint(*old_pod, *pod)) {
      if (auto services = SelectingServices(*old_pod, *pod); !services.empty()) {
        pending_.Note(pod, false, std::move(services), std::chrono::steady_clock::now());
        wake = true;
      }
    }
    if (wake) queue().Add(kKey);
  };
  return ctx.AddEventHandler(pods_, std::move(pods));
}

std::vector<std::string> HaproxyController::SelectingServices(const json& old_pod, const json& pod) const {
  std::vector<std::string> out;
  for (const ObjectPtr& s : services_->ListNamespace(MetaString(pod, "namespace"))) {
    if (endpoints::SelectsPod(*s, pod) || endpoints::SelectsPod(*s, old_pod)) out.push_back(client::ObjectKey(*s));
  }
  return out;
}

ModelInputs HaproxyController::Inputs() {
  ModelInputs in;
  in.services = services_->List();
  in.endpoint_slices = slices_->List();
  if (pending_.size() > 0) {
    PendingEndpoints::NodeMap nodes;
    for (const std::string& name : pending_.NodeNames()) nodes[name] = nodes_->Get(name);
    in.endpoint_slices = pending_.Overlay(in.services, in.endpoint_slices, nodes, std::chrono::steady_clock::now());
  }
  in.ingresses = ingresses_->List();
  in.ingress_classes = classes_->List();
  for (const ObjectPtr& s : secrets_->List()) {
    if (client::StringField(*s, "type") == "kubernetes.io/tls") in.secrets.push_back(s);
  }
  in.defaults = config_maps_->Get(std::string(kDefaultsNamespace) + "/" + kDefaultsName);
  in.service_address = options_.service_address;
  in.public_address = options_.public_address;
  in.threads = options_.threads;
  // The HTTP check of each Service from its Pods' readinessProbe, and the Pods that just passed it.
  ProbeChecks probes = ProbeChecksFor(in.services, in.endpoint_slices, [this](const std::string& key) { return pods_->Get(key); });
  in.probe_checks = std::move(probes.checks);
  in.probe_checked_pods = std::move(probes.passed);
  return in;
}

Status HaproxyController::Start() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::Internal("haproxy: cannot create " + dir_ + ": " + ec.message());
  client_ = std::make_unique<HaproxyRuntimeClient>(dir_ + "/master.sock", std::chrono::seconds(5), dir_ + "/stats.sock");
  ApplierOptions ao;
  ao.haproxy_bin = options_.haproxy_bin;
  ao.dir = dir_;
  ao.render.ingress_address = options_.public_address;
  ao.render.ingress_http_port = options_.http_port;
  ao.render.ingress_https_port = options_.https_port;
  ao.drain_timeout = options_.drain_timeout;
  ao.reload_debounce = options_.reload_debounce;
  ao.log_path = dir_ + "/haproxy.log";
  applier_ = std::make_unique<HaproxyApplier>(ao, client_.get());
  metrics_ = std::make_unique<HaproxyMetrics>(&metrics::DefaultRegistry(), client_->socket_path());
  // The first config: from the caches when it passes the check, else an empty one (the first
  // reconcile then sorts out who is at fault).
  ModelResult first = BuildHaproxyModel(Inputs());
  if (Status st = applier_->WriteInitial(first.model); !st.ok()) {
    log::Warn("haproxy: the initial config was refused; starting empty", {{"error", st.ToString()}});
    CAPSTAN_RETURN_IF_ERROR(applier_->WriteInitial(HaproxyModel{}));
  }
  supervisor::ChildSpec spec;
  spec.name = "haproxy";
  spec.argv = {options_.haproxy_bin, "-W", "-S", applier_->master_socket() + ",mode,600", "-f", applier_->config_path()};
  spec.log_path = dir_ + "/haproxy.log";
  spec.stop_signal = SIGUSR1;  // soft stop: workers finish their sessions (hard-stop-after bounds it)
  spec.stop_timeout = std::chrono::seconds(5);
  spec.on_exit = [this](pid_t, int) {
    CaptureExitOutput();
    exited_ = true;
    queue().Add(kKey);
  };
  {
    std::error_code size_ec;
    const auto size = std::filesystem::file_size(spec.log_path, size_ec);
    std::lock_guard<std::mutex> lock(exit_mu_);
    log_offset_ = size_ec ? 0 : size;
  }
  spec.on_start = [this](pid_t pid, int restarts) {
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      stats_.master_pid = pid;
      stats_.haproxy_restarts = restarts;
    }
    if (restarts > 0) {
      metrics_->RecordRestart();
      restarted_ = true;
      queue().Add(kKey);
    }
  };
  ::unlink(applier_->master_socket().c_str());  // a stale socket of a killed predecessor
  auto started = supervisor::ChildSupervisor::Start(spec);
  if (!started.ok()) return started.status();
  haproxy_ = std::move(started).value();
  queue().Add(kKey);
  return QueuedController::Start();
}

void HaproxyController::Stop() {
  QueuedController::Stop();
  if (haproxy_) haproxy_->Stop();
  if (recorder_) recorder_->Stop();
}

ReconcileResult HaproxyController::Reconcile(const std::string&) {
  if (applier_ == nullptr) return ReconcileResult::Done();
  if (restarted_.exchange(false)) applier_->OnRestart();
  const auto t0 = std::chrono::steady_clock::now();
  ModelInputs in = Inputs();
  const HaproxyModel previous = applier_->applied();
  in.previous = &previous;
  // Objects `haproxy -c` refused stay out, without a new check or Event, until they change (another
  // resourceVersion) or go. Those a failed reload blamed (a port another process holds) are not
  // kept: the cause may go away by itself, so they are tried again on the next reconcile.
  std::map<std::string, std::string> still_rejected;
  auto leave_out = [&](ObjectList& list) {
    std::erase_if(list, [&](const ObjectPtr& o) {
      auto it = rejected_.find(SourceName(*o));
      if (it == rejected_.end() || it->second != MetaString(*o, "resourceVersion")) return false;
      still_rejected.insert(*it);
      return true;
    });
  };
  leave_out(in.services);
  leave_out(in.ingresses);
  leave_out(in.secrets);
  for (const char* snippet : {"ConfigMap defaults-snippet", "ConfigMap global-snippet"}) {
    auto it = rejected_.find(snippet);
    if (in.defaults && it != rejected_.end() && it->second == MetaString(*in.defaults, "resourceVersion")) {
      still_rejected.insert(*it);
    }
  }
  for (const char* snippet : {"ConfigMap defaults-snippet", "ConfigMap global-snippet"}) {
    if (still_rejected.count(snippet)) in.defaults = nullptr;
  }
  rejected_ = std::move(still_rejected);
  if (exited_.exchange(false) && ExcludeStartFailures(in)) return ReconcileResult::RequeueAfter(std::chrono::seconds(1));
  ModelResult built = BuildHaproxyModel(in);
  std::chrono::milliseconds drain_retry = AdjustDrains(&built.model);
  Report(built.problems, kReasonInvalid);
  // A refused config is retried without the objects it blames.
  std::set<std::string> excluded;
  for (const auto& [source, version] : rejected_) excluded.insert(source);
  ApplyResult r;
  for (int round = 0; round <= kMaxExclusions; ++round) {
    r = applier_->Apply(built.model, std::chrono::steady_clock::now());
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      ++stats_.renders;
      stats_.last_render_micros = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
      stats_.runtime_updates += static_cast<uint64_t>(r.runtime_updates);
      if (r.reloaded) ++stats_.reloads_ok;
      if (r.reload_failed) ++stats_.reloads_failed;
      else if (!r.status.ok() && !r.blamed.empty()) ++stats_.configs_rejected;
    }
    metrics_->RecordApply(r, std::chrono::steady_clock::now() - t0);
    if (r.status.ok() || r.blamed.empty()) break;
    std::vector<Problem> rejected;
    bool progress = false;
    for (const std::string& source : r.blamed) {
      if (!excluded.insert(source).second) continue;
      progress = true;
      // Find the object by its source name among the inputs.
      for (const ObjectList* list : {&in.services, &in.ingresses, &in.secrets}) {
        for (const ObjectPtr& o : *list) {
          if (SourceName(*o) != source) continue;
          rejected.push_back({o, r.status.message()});
          if (!r.reload_failed) rejected_[source] = MetaString(*o, "resourceVersion");
        }
      }
      if (source.rfind("ConfigMap", 0) == 0 && in.defaults) {
        rejected.push_back({in.defaults, r.status.message()});
        if (!r.reload_failed) rejected_[source] = MetaString(*in.defaults, "resourceVersion");
      }
    }
    Report(rejected, kReasonRejected);
    if (!progress) break;
    // Leave the blamed objects out and build again.
    auto keep = [&](ObjectList& list) {
      std::erase_if(list, [&](const ObjectPtr& o) { return excluded.count(SourceName(*o)) > 0; });
    };
    keep(in.services);
    keep(in.ingresses);
    keep(in.secrets);
    if (excluded.count("ConfigMap defaults-snippet") || excluded.count("ConfigMap global-snippet")) in.defaults = nullptr;
    built = BuildHaproxyModel(in);
    drain_retry = AdjustDrains(&built.model);
  }
  {
    SlotSet slots;
    for (const Backend& b : applier_->applied().backends) {
      for (const ServerSlot& s : b.servers) slots.insert({b.name, ServerName(s.slot)});
    }
    for (const auto& [backend, slot] : applier_->leaving()) slots.insert({backend, ServerName(slot)});
    metrics_->SetEndpointSlots(std::move(slots));
  }
  // Services served now get their condition True.
  std::set<std::string> at_fault = excluded;
  for (const Problem& p : built.problems) at_fault.insert(SourceName(*p.object));
  // Not while a reload waits out its debounce: the Services it adds are not served yet (one
  // that a failed reload left out would flap to True and back).
  if (r.status.ok() && !r.deferred) {
    for (const ObjectPtr& svc : services_->List()) {
      if (!at_fault.count(SourceName(*svc))) SetServiceCondition(*svc, true, "Configured", "served by HAProxy");
    }
    // Ingresses served get the address kubectl's ADDRESS column shows (ingress_status.h).
    if (options_.http_port > 0) {
      const IngressModel& served = applier_->applied().ingress;
      for (const StatusPatch& p : IngressStatusPatches(ingresses_->List(), served, options_.advertise_address.empty() ? options_.public_address : options_.advertise_address)) {
        auto w = api_->Patch(p.path, client::PatchType::kMerge, p.body);
        if (!w.ok()) log::Debug("haproxy: cannot set the Ingress status", {{"path", p.path}, {"error", w.status().ToString()}});
      }
    }
  }
  const std::chrono::milliseconds report_retry = ReportDrains();
  // The soonest of the applier's, the drains' and the condition writes' wishes (0: none).
  auto soonest = [](std::chrono::milliseconds a, std::chrono::milliseconds b) {
    return a.count() == 0 ? b : b.count() == 0 ? a : std::min(a, b);
  };
  const std::chrono::milliseconds drains = soonest(drain_retry, report_retry);
  if (!r.status.ok()) {
    log::Warn("haproxy: config not applied", {{"error", r.status.ToString()}});
    return ReconcileResult::RequeueAfter(soonest(drains, std::chrono::seconds(5)));
  }
  if (const auto after = soonest(r.retry_after, drains); after.count() > 0) return ReconcileResult::RequeueAfter(after);
  return ReconcileResult::Done();
}

void HaproxyController::Report(const std::vector<Problem>& problems, const std::string& reason) {
  std::map<const json*, std::string> by_object;
  std::map<const json*, ObjectPtr> objects;
  for (const Problem& p : problems) {
    if (p.object == nullptr) continue;
    std::string& m = by_object[p.object.get()];
    m += (m.empty() ? "" : "; ") + p.message;
    objects[p.object.get()] = p.object;
  }
  for (const auto& [raw, message] : by_object) {
    const ObjectPtr& o = objects[raw];
    recorder_->Event(*o, client::kEventTypeWarning, reason, message);
    if (client::StringField(*o, "kind") == "Service") SetServiceCondition(*o, false, reason, message);
  }
}

void HaproxyController::SetServiceCondition(const json& svc, bool ok, const std::string& reason,
                                            const std::string& message) {
  const json& conditions = client::Field(client::Field(svc, "status"), "conditions");
  json list = conditions.is_array() ? conditions : json::array();
  const std::string status = ok ? "True" : "False";
  for (const json& c : list) {
    if (c.value("type", "") == kConditionType && c.value("status", "") == status && c.value("reason", "") == reason &&
        c.value("message", "") == message) {
      return;  // unchanged: no write
    }
  }
  json kept = json::array();
  for (const json& c : list) {
    if (c.value("type", "") != kConditionType) kept.push_back(c);
  }
  list = std::move(kept);
  list.push_back({{"type", kConditionType},
                  {"status", status},
                  {"reason", reason},
                  {"message", message},
                  {"lastTransitionTime", NowRfc3339()},
                  {"observedGeneration", client::IntField(client::Field(svc, "metadata"), "generation", 0)}});
  const std::string path =
      "/api/v1/namespaces/" + MetaString(svc, "namespace") + "/services/" + MetaString(svc, "name") + "/status";
  auto r = api_->Patch(path, client::PatchType::kMerge, {{"status", {{"conditions", list}}}});
  if (!r.ok()) log::Debug("haproxy: cannot set the Service condition", {{"service", path}, {"error", r.status().ToString()}});
}

HaproxyStats HaproxyController::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace capstan::controller::haproxy
