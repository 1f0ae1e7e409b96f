#include "node/node_agent.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <unordered_map>
#include <utility>

#include "base/log.h"
#include "client/json_fields.h"
#include "node/termination_gate.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::MetaString;
using client::StringField;
using controller::Clock;
using controller::ReconcileResult;

std::string DefaultNodeName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name(buf);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

namespace {

controller::WorkQueueOptions QueueOptions(const NodeAgentOptions& o) {
  controller::WorkQueueOptions q;
  q.name = "node-agent";
  q.clock = o.clock;
  return q;
}

// Go's time.Duration text for the back-off message: "20ms", "10s", "5m0s".
std::string DurationText(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  const int64_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
}

std::string PodObjectPath(const json& pod) {
  return "/api/v1/namespaces/" + MetaString(pod, "namespace") + "/pods/" + MetaString(pod, "name");
}
std::string PodPath(const json& pod) { return PodObjectPath(pod) + "/status"; }

}  // namespace

NodeAgent::NodeAgent(client::ApiClient* api, NodeAgentOptions options)
    : api_(api),
      options_(std::move(options)),
      node_name_(options_.node_name.empty() ? DefaultNodeName() : options_.node_name),
      driver_(options_.driver),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      owned_informers_(options_.informers == nullptr ? std::make_unique<client::SharedInformerFactory>(api)
                                                     : nullptr),
      informers_(options_.informers != nullptr ? options_.informers : owned_informers_.get()),
      queue_(QueueOptions(options_)),
      ports_(options_.port_range, options_.port_free ? options_.port_free : HostPortFree),
      puller_(driver_, ImagePullerOptions{options_.image_pull_backoff_initial, options_.image_pull_backoff_max,
                                          std::chrono::milliseconds(2000), clock_}),
      hb_wake_(clock_, &hb_mu_) {
  controller::WorkerPoolOptions pool;
  pool.workers = std::max(1, options_.workers);
  pool.resync_period = options_.pod_resync_interval;
  pool.list_keys = [this] { return ListKeys(); };
  pool_ = std::make_unique<controller::WorkerPool>(
      &queue_, [this](const std::string& key) { return Reconcile(key); }, std::move(pool));
}

NodeAgent::~NodeAgent() { Stop(); }

Status NodeAgent::Start() {
  {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    if (started_ || stopped_) return Status::Invalid("node agent: Start() called twice or after Stop()");
    started_ = true;
  }
  if (driver_ == nullptr) return Status::Invalid("node agent: no driver");

  NodeIdentity id{node_name_, options_.address, options_.labels, driver_->Name(), options_.driver_endpoint,
                  options_.driver_config};
  registration_ = std::make_unique<NodeRegistration>(api_, std::move(id), options_.lease_duration);
  const DriverFingerprint fp = driver_->Fingerprint();
  CAPSTAN_RETURN_IF_ERROR(registration_->Register(fp));
  posted_healthy_ = fp.healthy;
  posted_message_ = fp.message;
  posted_capacity_ = fp.capacity;
  posted_at_ = clock_->Now();
  swept_at_ = posted_at_;  // Recover() below is the first sweep

  if (options_.record_events) events_ = std::make_unique<client::EventRecorder>(api_, "kubelet");
  ProbeManagerOptions probe_options;
  probe_options.threads = options_.probe_threads;
  probe_options.host = options_.address;
  probe_options.on_change = [this](const std::string& key) { queue_.Add(key); };
  probe_options.on_failure = [this](const std::string& key, const std::string& message) {
    if (client::ObjectPtr pod = PodOnThisNode(key)) RecordEvent(*pod, true, "Unhealthy", message);
  };
  probes_ = std::make_unique<ProbeManager>(std::move(probe_options));

  informer_ = informers_->ForResource("/api/v1/pods");
  if (Status st = informer_->AddIndexer(client::kNodeNameIndex, client::IndexByNodeName);
      !st.ok() && !st.IsAlreadyExists()) {
    return st;
  }
  // Pods bound elsewhere (or not yet) are none of ours: a binding to this node arrives as their
  // update. spec.nodeName never changes once set; a Pod re-created elsewhere under the same name
  // still wakes the key when the old one was ours, so its run is torn down.
  client::ResourceEventHandler handler;
  handler.on_add = [this](const client::ObjectPtr& p) {
    if (OnThisNode(*p)) queue_.Add(client::ObjectKey(*p));
  };
  handler.on_update = [this](const client::ObjectPtr& old_pod, const client::ObjectPtr& p) {
    if (!OnThisNode(*p) && !OnThisNode(*old_pod)) return;
    const std::string key = client::ObjectKey(*p);
    if (own_writes_.IsOwnWrite(key, MetaString(*old_pod, "resourceVersion"), MetaString(*p, "resourceVersion"))) return;
    queue_.Add(key);
  };
  handler.on_delete = [this](const client::ObjectPtr& p) {
    const std::string key = client::ObjectKey(*p);
    {
      std::lock_guard<std::mutex> lock(records_mu_);
      deletions_sent_.erase(MetaString(*p, "uid"));
      if (!OnThisNode(*p) && records_.count(key) == 0) return;
    }
    own_writes_.Forget(key);
    queue_.Add(key);
  };
  handler.owner = this;  // taken out by Stop(): a shared factory outlives the agent
  CAPSTAN_RETURN_IF_ERROR(informer_->AddEventHandler(std::move(handler)));
  services_ = informers_->ForResource("/api/v1/services");
  // A container that exits is looked at now, not at the next resync (the kubelet's PLEG role).
  driver_->OnPodExit([this](const std::string& uid) {
    std::string key;
    {
      std::lock_guard<std::mutex> lock(records_mu_);
      auto it = key_by_uid_.find(uid);
      if (it != key_by_uid_.end()) key = it->second;
    }
    if (!key.empty()) queue_.Add(key);
  });
  informers_->StartAll();
  if (!informer_->WaitForSync(options_.sync_timeout)) {
    return Status::Unavailable("node agent: the pod cache of node " + node_name_ + " did not sync");
  }
  if (!services_->WaitForSync(options_.sync_timeout)) {
    return Status::Unavailable("node agent: the service cache of node " + node_name_ + " did not sync");
  }
  CAPSTAN_RETURN_IF_ERROR(Recover());
  CAPSTAN_RETURN_IF_ERROR(pool_->Start());
  if (options_.image_gc.enabled()) {
    image_gc_ = std::make_unique<ImageGcManager>(ImageGcOptionsFor(options_.image_gc));
    CAPSTAN_RETURN_IF_ERROR(image_gc_->Start());
  }
  try {
    heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("node agent: cannot start the heartbeat thread: ") + e.what());
  }
  log::Info("node agent started", {{"node", node_name_}, {"driver", driver_->Name()}});
  return Status::Ok();
}

void NodeAgent::Stop() {
  {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (driver_ != nullptr) driver_->OnPodExit(nullptr);  // no exit handler runs past here
  if (image_gc_) image_gc_->Stop();  // it reads the pod cache and records events
  if (probes_) probes_->Stop();  // before the workers: no probe result enqueues past here
  if (pool_) pool_->Stop();
  if (events_) events_->Stop();
  {
    std::lock_guard<std::mutex> lock(hb_mu_);
    hb_stopping_ = true;
  }
  hb_wake_.NotifyAll();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (informer_ != nullptr) informer_->RemoveEventHandlers(this);
  if (owned_informers_) owned_informers_->StopAll();
}

size_t NodeAgent::TrackedPods() const {
  std::lock_guard<std::mutex> lock(records_mu_);
  return records_.size();
}

NodeAgent::RecordPtr NodeAgent::FindRecord(const std::string& key) const {
  std::lock_guard<std::mutex> lock(records_mu_);
  auto it = records_.find(key);
  return it == records_.end() ? nullptr : it->second;
}

void NodeAgent::PutRecord(const std::string& key, RecordPtr rec) {
  std::lock_guard<std::mutex> lock(records_mu_);
  auto& slot = records_[key];
  if (slot != nullptr && slot->uid != rec->uid) key_by_uid_.erase(slot->uid);
  key_by_uid_[rec->uid] = key;
  slot = std::move(rec);
}

void NodeAgent::EraseRecord(const std::string& key) {
  std::lock_guard<std::mutex> lock(records_mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return;
  auto by_uid = key_by_uid_.find(it->second->uid);
  if (by_uid != key_by_uid_.end() && by_uid->second == key) key_by_uid_.erase(by_uid);
  records_.erase(it);
}

bool NodeAgent::OnThisNode(const json& pod) const {
  const json& spec = client::Field(pod, "spec");
  return client::StringField(spec, "nodeName") == node_name_;
}

client::ObjectPtr NodeAgent::PodOnThisNode(const std::string& key) const {
  client::ObjectPtr pod = informer_->Get(key);
  return pod != nullptr && OnThisNode(*pod) ? pod : nullptr;
}

std::vector<client::ObjectPtr> NodeAgent::PodsOnThisNode() const {
  auto pods = informer_->ByIndex(client::kNodeNameIndex, node_name_);
  return pods.ok() ? std::move(pods).value() : std::vector<client::ObjectPtr>{};
}

std::vector<std::string> NodeAgent::ListKeys() const {
  std::vector<std::string> keys;
  if (informer_ != nullptr) {
    for (const auto& p : PodsOnThisNode()) keys.push_back(client::ObjectKey(*p));
  }
  std::lock_guard<std::mutex> lock(records_mu_);
  for (const auto& [key, rec] : records_) keys.push_back(key);
  return keys;
}

// ---- Pods -----------------------------------------------------------------------------------------

Status NodeAgent::Teardown(PodRecord& rec) {
  if (!rec.handle) return Status::Ok();
  Status s = driver_->StopPod(*rec.handle, RunPreStop(rec, rec.grace));
  if (!s.ok() && !s.IsNotFound()) return s.Annotate("stopping pod run " + rec.handle->id);
  s = driver_->RemovePod(*rec.handle);
  if (!s.ok()) return s.Annotate("removing pod run " + rec.handle->id);
  rec.handle.reset();
  return Status::Ok();
}

Status NodeAgent::FinishDeletion(const json& pod) {
  json options = {{"apiVersion", "v1"},
                  {"kind", "DeleteOptions"},
                  {"gracePeriodSeconds", 0},
                  {"preconditions", {{"uid", MetaString(pod, "uid")}}}};
  auto r = api_->DeleteShared(PodObjectPath(pod), std::move(options));
  if (r.ok() || r.status().IsNotFound() || r.status().IsConflict()) return Status::Ok();  // gone, or replaced
  return r.status().Annotate("deleting pod " + client::ObjectKey(pod));
}

Status NodeAgent::WriteStatus(const json& pod, const PodRunInfo& info) {
  PodStatusContext ctx{options_.address, driver_->Name(), std::chrono::system_clock::now()};
  json desired = ComputePodStatus(pod, info, ctx);
  if (StatusUpToDate(Field(pod, "status"), desired)) return Status::Ok();
  auto r = api_->PatchShared(PodPath(pod), client::PatchType::kStrategic, StatusPatch(MetaString(pod, "uid"), desired));
  if (!r.ok()) {
    if (r.status().IsNotFound()) return Status::Ok();  // deleted: its delete event follows
    return r.status().Annotate("writing the status of pod " + client::ObjectKey(pod));
  }
  status_writes_.fetch_add(1, std::memory_order_relaxed);
  own_writes_.Record(client::ObjectKey(pod), MetaString(pod, "resourceVersion"), MetaString(**r, "resourceVersion"));
  return Status::Ok();
}

std::optional<ReconcileResult> NodeAgent::MaybeRestart(const json& pod, PodRecord& rec, const PodState& state) {
  const std::string policy = StringField(Field(pod, "spec"), "restartPolicy");
  bool restart = false, all_terminated = !state.containers.empty();
  for (const ContainerState& c : state.containers) {
    if (c.phase != ContainerPhase::kTerminated) {
      all_terminated = false;
      continue;
    }
    if (policy.empty() || policy == "Always" || (policy == "OnFailure" && c.exit_code != 0)) restart = true;
  }
  if (!restart) {
    if (all_terminated) rec.terminal = true;
    return std::nullopt;
  }
  // Restart the whole run after a back-off; what each container ended with becomes its lastState.
  Status s = driver_->StopPod(*rec.handle, std::chrono::milliseconds(0));
  if (!s.ok() && !s.IsNotFound()) return ReconcileResult::Retry(s);
  auto stopped = driver_->InspectPod(*rec.handle);
  const PodState& final_state = stopped.ok() ? *stopped : state;
  for (const ContainerState& c : final_state.containers) {
    if (c.phase == ContainerPhase::kTerminated) rec.last_terminated[c.name] = TerminatedJson(c, driver_->Name());
  }
  s = driver_->RemovePod(*rec.handle);
  if (!s.ok()) return ReconcileResult::Retry(s);
  rec.handle.reset();
  const Clock::TimePoint now = clock_->Now();
  if (rec.crashes > 0 && now - rec.last_crash >= 2 * options_.crash_backoff_max) rec.crashes = 0;
  auto backoff = options_.crash_backoff_initial;
  for (int i = 0; i < rec.crashes && backoff < options_.crash_backoff_max; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.crash_backoff_max);
  ++rec.crashes;
  rec.last_crash = now;
  rec.backing_off = true;
  rec.backoff = backoff;
  rec.restart_at = now + backoff;
  return std::nullopt;  // the caller reports the back-off
}

ReconcileResult NodeAgent::Reconcile(const std::string& key) {
  client::ObjectPtr pod = PodOnThisNode(key);
  RecordPtr rec = FindRecord(key);
  if (rec != nullptr && (pod == nullptr || MetaString(*pod, "uid") != rec->uid ||
                         !MetaString(*pod, "deletionTimestamp").empty())) {
    if (pod != nullptr && MetaString(*pod, "uid") == rec->uid) {
      rec->grace = PodGracePeriod(*pod);
      if (!MetaString(*pod, "deletionTimestamp").empty()) {
        // The load balancer drains the Pod before its containers hear of it (termination_gate.h).
        const Clock::TimePoint now = clock_->Now();
        if (!rec->terminating_since) rec->terminating_since = now;
        const TerminationGate gate = GateTermination(
            *pod, rec->grace, std::chrono::duration_cast<std::chrono::milliseconds>(now - *rec->terminating_since),
            options_.lb_drain_wait_max);
        if (gate.wait > std::chrono::milliseconds(0)) return ReconcileResult::RequeueAfter(gate.wait);
        rec->grace = gate.grace_left;
      }
    }
    Status s = Teardown(*rec);
    if (!s.ok()) return ReconcileResult::Retry(s);
    ReleasePod(key, rec->uid);
    EraseRecord(key);
    rec = nullptr;
  }
  if (pod == nullptr) return ReconcileResult::Done();
  if (!MetaString(*pod, "deletionTimestamp").empty()) {
    // Its containers are gone: end the graceful deletion the API server began (as the kubelet
    // does), for this very Pod only (a new one of the same name has another uid). Once: the
    // run's exit notice wakes the key again before the cache shows the Pod gone.
    const std::string uid = MetaString(*pod, "uid");
    {
      std::lock_guard<std::mutex> lock(records_mu_);
      if (!deletions_sent_.insert(uid).second) return ReconcileResult::Done();
    }
    Status s = FinishDeletion(*pod);
    if (s.ok()) return ReconcileResult::Done();
    std::lock_guard<std::mutex> lock(records_mu_);
    deletions_sent_.erase(uid);
    return ReconcileResult::Retry(s);
  }
  const json& status = Field(*pod, "status");

  if (rec == nullptr) {
    if (IsTerminalPhase(StringField(status, "phase"))) return ReconcileResult::Done();
    rec = std::make_shared<PodRecord>();
    rec->uid = MetaString(*pod, "uid");
    rec->grace = PodGracePeriod(*pod);
    PutRecord(key, rec);
  }
  // Someone else ended the pod (phase Succeeded/Failed): stop its containers, keep them.
  if (!rec->terminal && IsTerminalPhase(StringField(status, "phase"))) {
    rec->terminal = true;
    if (rec->handle) {
      Status s = driver_->StopPod(*rec->handle, rec->grace);
      if (!s.ok() && !s.IsNotFound()) return ReconcileResult::Retry(s);
    }
  }

  PodRunInfo info;
  info.ports = &rec->ports;
  auto backoff_info = [&] {
    std::string failed;  // the first container that failed, else the first that ended
    for (const auto& [name, terminated] : info.last_terminated) {
      if (failed.empty() || (client::IntField(terminated, "exitCode") != 0 &&
                             client::IntField(info.last_terminated.at(failed), "exitCode") == 0)) {
        failed = name;
      }
    }
    info.waiting_reason = "CrashLoopBackOff";
    info.waiting_message = "back-off " + DurationText(rec->backoff) + " restarting failed container=" + failed +
                           " pod=" + MetaString(*pod, "name") + "_" + MetaString(*pod, "namespace") + "(" +
                           rec->uid + ")";
  };
  if (!rec->handle && !rec->terminal) {
    const Clock::TimePoint now = clock_->Now();
    if (rec->backing_off && now < rec->restart_at) {
      info.restart_count = rec->restart_count;
      info.last_terminated = rec->last_terminated;
      backoff_info();
      Status s = WriteStatus(*pod, info);
      if (!s.ok()) return ReconcileResult::Retry(s);
      return ReconcileResult::RequeueAfter(
          std::chrono::ceil<std::chrono::milliseconds>(rec->restart_at - now));
    }
    auto prepared = PrepareStart(key, *pod, *rec);
    if (auto* done = std::get_if<ReconcileResult>(&prepared)) return *done;
    auto started = driver_->StartPod(std::get<json>(prepared));
    if (!started.ok()) {
      // The start may have failed on an image the puller believed present (removed behind the
      // agent's back: docker rmi, crictl rmi): it asks the runtime again at the next attempt.
      puller_.ImagesRemoved();
      info.restart_count = rec->restart_count;
      info.last_terminated = rec->last_terminated;
      info.waiting_reason = "CreateContainerError";
      info.waiting_message = started.status().message();
      Status s = WriteStatus(*pod, info);
      if (!s.ok()) log::Warn("cannot report a failed start", {{"pod", key}, {"error", s.ToString()}});
      return ReconcileResult::Retry(started.status().Annotate("starting pod " + key));
    }
    if (rec->backing_off) ++rec->restart_count;
    rec->backing_off = false;
    rec->handle = std::move(*started);
  }

  PodState state;
  if (rec->handle) {
    auto inspected = driver_->InspectPod(*rec->handle);
    if (!inspected.ok()) {
      if (!inspected.status().IsNotFound()) return ReconcileResult::Retry(inspected.status());
      // The driver lost the run: start it again at once (a restart), unless the pod is over.
      log::Warn("pod run lost by the driver", {{"pod", key}, {"run", rec->handle->id}});
      rec->handle.reset();
      if (rec->terminal) return ReconcileResult::Done();
      rec->backing_off = true;
      rec->restart_at = clock_->Now();
      return ReconcileResult::RequeueAfter(std::chrono::milliseconds(0));
    }
    state = std::move(*inspected);
    if (!rec->terminal && ApplyProbes(key, *pod, *rec, state)) {
      // A liveness or startup probe gave up: stop the run (preStop first); what follows is
      // restartPolicy's, as for a crash.
      Status s = driver_->StopPod(*rec->handle, RunPreStop(*rec, rec->grace));
      if (!s.ok() && !s.IsNotFound()) return ReconcileResult::Retry(s);
      probes_->Remove(key);
      auto stopped = driver_->InspectPod(*rec->handle);
      if (!stopped.ok()) return ReconcileResult::Retry(stopped.status());
      state = std::move(*stopped);
    }
    if (!rec->terminal) {
      if (auto done = MaybeRestart(*pod, *rec, state)) return *done;
      if (!rec->handle) probes_->Remove(key);  // restarting: the next run starts unprobed
    }
  }
  info.restart_count = rec->restart_count;
  info.last_terminated = rec->last_terminated;
  if (rec->handle) {
    info.state = &state;
  } else if (rec->backing_off) {
    backoff_info();
  }
  Status s = WriteStatus(*pod, info);
  if (!s.ok()) return ReconcileResult::Retry(s);
  if (rec->backing_off) {
    return ReconcileResult::RequeueAfter(
        std::chrono::ceil<std::chrono::milliseconds>(std::max(rec->restart_at - clock_->Now(), Clock::Duration(0))));
  }
  if (rec->handle && state.recheck_after > std::chrono::milliseconds(0)) {
    return ReconcileResult::RequeueAfter(state.recheck_after);
  }
  return ReconcileResult::Done();
}

// ---- Heartbeat ------------------------------------------------------------------------------------

void NodeAgent::HeartbeatLoop() noexcept {
  try {
    std::unique_lock<std::mutex> lock(hb_mu_);
    Clock::TimePoint next = clock_->Now();  // the first renewal at once
    while (!hb_wake_.WaitUntil(lock, next, [this] { return hb_stopping_; })) {
      lock.unlock();
      Heartbeat();
      lock.lock();
      next = clock_->Now() + options_.heartbeat_interval;
    }
  } catch (const std::exception& e) {
    log::Error("node heartbeat stopped by an exception", {{"node", node_name_}, {"error", e.what()}});
  } catch (...) {
    log::Error("node heartbeat stopped by an exception", {{"node", node_name_}, {"error", "unknown"}});
  }
}

void NodeAgent::Heartbeat() {
  if (options_.orphan_sweep_interval > std::chrono::milliseconds(0) &&
      clock_->Now() - swept_at_ >= options_.orphan_sweep_interval) {
    swept_at_ = clock_->Now();
    SweepOrphans();
  }
  const DriverFingerprint fp = driver_->Fingerprint();
  Status s = registration_->RenewLease();
  if (!s.ok()) log::Warn("cannot renew the node lease", {{"node", node_name_}, {"error", s.ToString()}});
  const Clock::TimePoint now = clock_->Now();
  const bool changed = fp.healthy != posted_healthy_ || fp.message != posted_message_ ||
                       fp.capacity != posted_capacity_ || !registration_->ReadyAsPosted(fp.healthy);
  if (!changed && now - posted_at_ < options_.status_update_interval) return;
  s = registration_->PostStatus(fp);
  if (!s.ok()) {
    log::Warn("cannot post the node status", {{"node", node_name_}, {"error", s.ToString()}});
    return;
  }
  if (fp.healthy != posted_healthy_) {
    log::Info(fp.healthy ? "node is ready" : "node is not ready", {{"node", node_name_}, {"message", fp.message}});
  }
  posted_healthy_ = fp.healthy;
  posted_message_ = fp.message;
  posted_capacity_ = fp.capacity;
  posted_at_ = now;
}

}  // namespace capstan::node
