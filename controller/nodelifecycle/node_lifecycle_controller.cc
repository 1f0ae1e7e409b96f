#include "controller/nodelifecycle/node_lifecycle_controller.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/log.h"
#include "client/json_fields.h"

namespace capstan::controller::nodelifecycle {
namespace {

using client::Field;
using client::MetaString;
using client::ObjectPtr;
using client::StringField;

constexpr char kNodesPath[] = "/api/v1/nodes";
constexpr char kPodsPath[] = "/api/v1/pods";
constexpr char kComponent[] = "node-controller";

// Kubernetes' event reasons.
constexpr char kEventNodeNotReady[] = "NodeNotReady";
constexpr char kEventNodeReady[] = "NodeReady";
constexpr char kEventTaintManagerEviction[] = "TaintManagerEviction";

std::string NodePath(const std::string& name) { return std::string(kNodesPath) + "/" + name; }

std::string PodPath(const json& pod) {
  return "/api/v1/namespaces/" + MetaString(pod, "namespace") + "/pods/" + MetaString(pod, "name");
}

std::string PodName(const json& pod) { return MetaString(pod, "namespace") + "/" + MetaString(pod, "name"); }

std::string Millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

NodeLifecycleController::NodeLifecycleController(NodeLifecycleControllerOptions options)
    : QueuedController("nodelifecycle", std::max(1, options.workers)), options_(std::move(options)) {}

NodeLifecycleController::~NodeLifecycleController() { Stop(); }

void NodeLifecycleController::Stop() {
  QueuedController::Stop();  // drains: no reconcile runs afterwards
  if (recorder_ != nullptr) recorder_->Stop();
}

Status NodeLifecycleController::Setup(const ControllerContext& ctx) {
  if (ctx.api == nullptr || ctx.informers == nullptr) {
    return Status::Invalid("nodelifecycle: api and informers are required");
  }
  if (recorder_ != nullptr) return Status::Internal("nodelifecycle: Setup called twice");
  if (options_.node_monitor_grace_period.count() <= 0 || options_.node_startup_grace_period.count() <= 0) {
    return Status::Invalid("nodelifecycle: the node monitor and startup grace periods must be positive");
  }
  if (options_.pod_eviction_timeout.count() < 0) {
    return Status::Invalid("nodelifecycle: pod_eviction_timeout must be >= 0");
  }
  if (!(options_.eviction_rate > 0)) return Status::Invalid("nodelifecycle: eviction_rate must be positive");

  api_ = ctx.api;
  clock_ = options_.clock != nullptr ? options_.clock : (ctx.clock != nullptr ? ctx.clock : Clock::Real());
  wall_base_ = std::chrono::system_clock::now();
  clock_base_ = clock_->Now();
  ControllerContext own = ctx;
  own.clock = clock_;
  InitQueue(own);
  limiter_ = std::make_unique<EvictionLimiter>(options_.eviction_rate);
  recorder_ = std::make_unique<client::EventRecorder>(api_, kComponent, options_.events);

  nodes_ = ctx.informers->ForResource(kNodesPath);
  leases_ = ctx.informers->ForResource(std::string("/apis/coordination.k8s.io/v1/namespaces/") + kNodeLeaseNamespace +
                                       "/leases");
  pods_ = ctx.informers->ForResource(kPodsPath);
  Status st = pods_->AddIndexer(client::kNodeNameIndex, client::IndexByNodeName);
  if (!st.ok() && st.code() != Code::kAlreadyExists) return st;  // another controller's is the same

  client::ResourceEventHandler nodes;
  nodes.on_add = [this](const ObjectPtr& n) { OnNode(n, false); };
  nodes.on_update = [this](const ObjectPtr&, const ObjectPtr& n) { OnNode(n, false); };
  nodes.on_delete = [this](const ObjectPtr& n) { OnNode(n, true); };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(nodes_, std::move(nodes)));

  client::ResourceEventHandler leases;
  leases.on_add = [this](const ObjectPtr& l) { OnLease(l); };
  leases.on_update = [this](const ObjectPtr&, const ObjectPtr& l) { OnLease(l); };
  leases.on_delete = [this](const ObjectPtr& l) { queue().Add(MetaString(*l, "name")); };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(leases_, std::move(leases)));

  client::ResourceEventHandler pods;
  pods.on_add = [this](const ObjectPtr& p) { OnPod(p); };
  pods.on_update = [this](const ObjectPtr&, const ObjectPtr& p) { OnPod(p); };
  // A deleted Pod needs nothing: the node's next pass forgets it.
  return ctx.AddEventHandler(pods_, std::move(pods));
}

NodeLifecycleStats NodeLifecycleController::Stats() const {
  NodeLifecycleStats s;
  s.nodes_marked_unknown = nodes_marked_unknown_.load(std::memory_order_relaxed);
  s.taint_updates = taint_updates_.load(std::memory_order_relaxed);
  s.pods_marked_not_ready = pods_marked_not_ready_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.rate_limited = rate_limited_.load(std::memory_order_relaxed);
  s.full_disruption = FullDisruption();
  return s;
}

bool NodeLifecycleController::FlushEvents(std::chrono::milliseconds timeout) {
  return recorder_ == nullptr || recorder_->Flush(timeout);
}

bool NodeLifecycleController::FullDisruption() const {
  std::lock_guard<std::mutex> lock(mu_);
  return FullDisruptionLocked();
}

bool NodeLifecycleController::FullDisruptionWith(const std::string& name, bool ready) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ready_.find(name);
  const size_t nodes = ready_.size() + (it == ready_.end() ? 1 : 0);
  const size_t ready_nodes = ready_count_ - (it != ready_.end() && it->second ? 1 : 0) + (ready ? 1 : 0);
  return nodes > 0 && ready_nodes == 0;
}

WallTime NodeLifecycleController::WallNow() const {
  if (clock_ == Clock::Real()) return std::chrono::system_clock::now();
  return wall_base_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(clock_->Now() - clock_base_);
}

Clock::TimePoint NodeLifecycleController::Observe(const std::string& name, const ObjectPtr& node,
                                                  const ObjectPtr& lease) {
  const Clock::TimePoint now = clock_->Now();
  if (node == nullptr) return now;
  const Heartbeat hb = ObservedHeartbeat(*node, lease.get());
  std::lock_guard<std::mutex> lock(mu_);
  RecordPtr& r = records_[name];
  if (r == nullptr) r = std::make_shared<NodeRecord>();
  if (!r->seen || hb != r->heartbeat) {
    r->seen = true;
    r->heartbeat = hb;
    r->probe = now;
  }
  return r->probe;
}

NodeLifecycleController::RecordPtr NodeLifecycleController::Record(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  RecordPtr& r = records_[name];
  if (r == nullptr) r = std::make_shared<NodeRecord>();
  return r;
}

// ---- Handlers -------------------------------------------------------------------------------------

void NodeLifecycleController::OnLease(const ObjectPtr& lease) {
  const std::string name = MetaString(*lease, "name");
  if (name.empty()) return;
  Observe(name, nodes_->Get(name), lease);
  queue().Add(name);
}

void NodeLifecycleController::OnNode(const ObjectPtr& node, bool deleted) {
  const std::string name = MetaString(*node, "name");
  if (name.empty()) return;
  if (!deleted) Observe(name, node, leases_->Get(std::string(kNodeLeaseNamespace) + "/" + name));
  const bool ready = !deleted && NodeReadiness(*node) == Readiness::kTrue;
  // During the first LIST the census passes through partial states (the first Node listed may
  // be the only one, and not Ready): not worth a log line, and every node is queued anyway.
  const bool synced = nodes_->HasSynced();
  std::vector<std::string> all;
  bool entered = false, left = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool before = FullDisruptionLocked();
    auto it = ready_.find(name);
    if (it != ready_.end() && it->second) --ready_count_;
    if (deleted) {
      if (it != ready_.end()) ready_.erase(it);
    } else {
      ready_[name] = ready;
      if (ready) ++ready_count_;
    }
    const bool after = FullDisruptionLocked();
    if (synced && before != after) {
      // Every node's NoExecute taint depends on it: all of them are looked at again.
      all.reserve(ready_.size());
      for (const auto& [n, r] : ready_) all.push_back(n);
      entered = after;
      left = !after;
    }
  }
  if (entered) {
    log::Warn("no node is ready: full disruption, evictions stop until a node is ready again",
              {{"nodes", std::to_string(all.size())}});
  } else if (left) {
    log::Info("a node is ready again: full disruption over, evictions resume", {{"node", name}});
  }
  queue().Add(name);
  for (const std::string& n : all) queue().Add(n);
}

void NodeLifecycleController::OnPod(const ObjectPtr& pod) {
  const std::string node_name = StringField(Field(*pod, "spec"), "nodeName");
  if (node_name.empty()) return;
  ObjectPtr node = nodes_->Get(node_name);
  if (node == nullptr) return;
  if (NodeReadiness(*node) == Readiness::kTrue && !HasNoExecuteTaint(*node)) return;  // nothing to do for its Pods
  queue().Add(node_name);
}

// ---- Reconcile ------------------------------------------------------------------------------------

ReconcileResult NodeLifecycleController::Reconcile(const std::string& name) {
  ObjectPtr node = nodes_->Get(name);
  if (node == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    records_.erase(name);
    return ReconcileResult::Done();
  }
  const ObjectPtr lease = leases_->Get(std::string(kNodeLeaseNamespace) + "/" + name);
  const Clock::TimePoint now = clock_->Now();
  const WallTime wall = WallNow();
  const std::string now_text = client::FormatRfc3339(wall);
  const RecordPtr record = Record(name);
  NodeRecord& rec = *record;
  Clock::TimePoint next = Clock::kNever;

  // 1. Monitor: a heartbeat is a change, noted on our clock (never the agent's timestamps).
  const Clock::TimePoint probe = Observe(name, node, lease);
  Readiness readiness = NodeReadiness(*node);
  const std::chrono::milliseconds grace = readiness == Readiness::kMissing ? options_.node_startup_grace_period
                                                                           : options_.node_monitor_grace_period;
  const Clock::TimePoint deadline = probe + grace;
  if (now >= deadline) {
    json patch = UnknownConditionsPatch(*node, now_text);
    if (!patch.is_null()) {
      auto r = api_->Patch(NodePath(name) + "/status", client::PatchType::kStrategic, patch);
      if (!r.ok()) {
        if (r.status().IsNotFound()) return ReconcileResult::Done();  // its delete event follows
        // 409: the node changed since we read it (a heartbeat, maybe): look again.
        return ReconcileResult::Retry(r.status().Annotate("marking node " + name + " Unknown"));
      }
      nodes_marked_unknown_.fetch_add(1, std::memory_order_relaxed);
      log::Warn("node stopped posting its status; its conditions are now Unknown",
                {{"node", name}, {"grace", Millis(grace)}, {"was", ReadinessName(readiness)}});
      node = std::make_shared<const json>(std::move(*r));
      {
        std::lock_guard<std::mutex> lock(mu_);
        rec.heartbeat = ObservedHeartbeat(*node, lease.get());  // our own write is no heartbeat
      }
      readiness = NodeReadiness(*node);
    }
  } else {
    next = deadline;
  }

  // 2. Events on readiness transitions.
  if (rec.readiness_known && rec.readiness == Readiness::kTrue && readiness != Readiness::kTrue) {
    recorder_->Event(*node, client::kEventTypeNormal, kEventNodeNotReady,
                     "Node " + name + " status is now: NodeNotReady");
  } else if (rec.readiness_known && rec.readiness != Readiness::kTrue && readiness == Readiness::kTrue) {
    recorder_->Event(*node, client::kEventTypeNormal, kEventNodeReady, "Node " + name + " status is now: NodeReady");
  }
  rec.readiness_known = true;
  rec.readiness = readiness;
  if (readiness == Readiness::kTrue) rec.marked.clear();  // the not-ready episode is over

  // 3. Taints.
  bool no_execute = false;
  if (IsNotReady(readiness) && !FullDisruptionWith(name, readiness == Readiness::kTrue)) {
    Clock::Duration wait{};
    if (HasControllerNoExecuteTaint(*node)) {
      no_execute = true;  // already in eviction (maybe a not-ready <-> unreachable swap): no token
    } else if (limiter_->TryTake(now, &wait)) {
      no_execute = true;
    } else {
      rate_limited_.fetch_add(1, std::memory_order_relaxed);
      next = std::min(next, now + wait);
    }
  }
  json taints = DesiredTaints(*node, readiness, no_execute, now_text);
  const json& current = Field(Field(*node, "spec"), "taints");
  if (taints != (current.is_array() ? current : json::array())) {
    json patch = {{"metadata", {{"resourceVersion", MetaString(*node, "resourceVersion")}}},
                  {"spec", {{"taints", taints.empty() ? json(nullptr) : taints}}}};
    auto r = api_->Patch(NodePath(name), client::PatchType::kMerge, patch);
    if (!r.ok()) {
      if (r.status().IsNotFound()) return ReconcileResult::Done();
      return ReconcileResult::Retry(r.status().Annotate("tainting node " + name));
    }
    taint_updates_.fetch_add(1, std::memory_order_relaxed);
    log::Info("node taints updated", {{"node", name},
                                      {"ready", ReadinessName(readiness)},
                                      {"noExecute", no_execute ? "true" : "false"}});
    node = std::make_shared<const json>(std::move(*r));
  }

  // 4, 5. Pods: marked not ready, evicted when due; or, on a healthy node, forgotten.
  Status pods = Status::Ok();
  if (IsNotReady(readiness) || HasNoExecuteTaint(*node) || !rec.pending.empty() || !rec.marked.empty() ||
      !rec.evicted.empty()) {
    pods = ProcessPods(name, *node, readiness, rec, now, wall, &next);
  }
  if (!pods.ok()) return ReconcileResult::Retry(pods);
  if (next == Clock::kNever) return ReconcileResult::Done();
  auto delay = std::chrono::ceil<std::chrono::milliseconds>(next - now);
  return ReconcileResult::RequeueAfter(std::max(delay, std::chrono::milliseconds(1)));
}

Status NodeLifecycleController::ProcessPods(const std::string& name, const json& node, Readiness readiness,
                                            NodeRecord& rec, Clock::TimePoint now, WallTime wall,
                                            Clock::TimePoint* next) {
  auto listed = pods_->ByIndex(client::kNodeNameIndex, name);
  if (!listed.ok()) return listed.status();
  const bool not_ready = IsNotReady(readiness);
  const bool unreachable = readiness == Readiness::kUnknown;
  const std::string now_text = client::FormatRfc3339(wall);

  // A NoExecute taint without timeAdded counts from when this controller first saw it.
  std::map<std::string, WallTime> first_seen;
  const std::vector<NoExecuteTaint> taints = NoExecuteTaints(node, [&](const scheduler::Taint& t) {
    const std::string key = t.key + "=" + t.value;
    auto known = rec.first_seen.find(key);
    const WallTime since = known != rec.first_seen.end() ? known->second : wall;
    first_seen[key] = since;
    return since;
  });
  rec.first_seen = std::move(first_seen);

  Status first_error = Status::Ok();
  auto fail = [&](Status s) {
    if (first_error.ok()) first_error = std::move(s);
  };
  std::set<std::string> live, pending;
  std::map<std::string, ObjectPtr> by_uid;
  for (const ObjectPtr& p : *listed) {
    const json& pod = *p;
    const std::string uid = MetaString(pod, "uid");
    live.insert(uid);
    by_uid[uid] = p;
    if (IsTerminalPod(pod)) continue;
    const bool deleting = IsDeletingPod(pod);
    // Deleted by us already (the informer has not caught up), unless it is a graceful deletion
    // that its now unreachable agent can no longer finish.
    if (rec.evicted.count(uid) > 0 && !(unreachable && deleting)) continue;

    if (not_ready && !deleting && rec.marked.count(uid) == 0) {
      json patch = PodNotReadyPatch(pod, now_text);
      if (patch.is_null()) {
        rec.marked.insert(uid);  // not ready already
      } else {
        auto r = api_->Patch(PodPath(pod) + "/status", client::PatchType::kStrategic, patch);
        if (r.ok()) {
          rec.marked.insert(uid);
          pods_marked_not_ready_.fetch_add(1, std::memory_order_relaxed);
          recorder_->Event(pod, client::kEventTypeWarning, kEventNodeNotReady, "Node is not ready");
        } else if (!r.status().IsNotFound()) {
          fail(r.status().Annotate("marking pod " + PodName(pod) + " not ready"));
        }
      }
    }

    if (taints.empty()) continue;
    if (deleting && !unreachable) continue;  // its agent is finishing the deletion
    const std::optional<WallTime> when = EvictionTime(PodTolerations(pod), taints, options_.pod_eviction_timeout);
    if (!when) continue;  // tolerates every taint for ever
    if (*when <= wall) {
      Status s = EvictPod(pod, unreachable);
      if (s.ok()) {
        rec.evicted.insert(uid);
      } else {
        fail(std::move(s));
      }
      continue;
    }
    pending.insert(uid);
    *next = std::min(*next, now + std::chrono::duration_cast<Clock::Duration>(*when - wall));
  }
  // Pods that were waiting for their eviction and no longer are: the node recovered (or the
  // taint went, or the Pod now tolerates it).
  for (const std::string& uid : rec.pending) {
    if (pending.count(uid) > 0 || rec.evicted.count(uid) > 0) continue;
    auto it = by_uid.find(uid);
    if (it == by_uid.end()) continue;
    recorder_->Event(*it->second, client::kEventTypeNormal, kEventTaintManagerEviction,
                     "Cancelling deletion of Pod " + PodName(*it->second));
  }
  rec.pending = std::move(pending);
  // Forget Pods that left the node.
  std::erase_if(rec.marked, [&](const std::string& uid) { return live.count(uid) == 0; });
  std::erase_if(rec.evicted, [&](const std::string& uid) { return live.count(uid) == 0; });
  return first_error;
}

Status NodeLifecycleController::EvictPod(const json& pod, bool unreachable) {
  json options = {{"apiVersion", "v1"},
                  {"kind", "DeleteOptions"},
                  {"preconditions", {{"uid", MetaString(pod, "uid")}}}};
  // On an unreachable node nobody would finish a graceful deletion: the Pod would stay
  // Terminating for ever (see the header). An agent that comes back stops the containers of
  // Pods that no longer exist.
  if (unreachable) options["gracePeriodSeconds"] = 0;
  recorder_->Event(pod, client::kEventTypeNormal, kEventTaintManagerEviction,
                   "Marking for deletion Pod " + PodName(pod));
  auto r = api_->Delete(PodPath(pod), options);
  evictions_.fetch_add(1, std::memory_order_relaxed);
  if (r.ok() || r.status().IsNotFound() || r.status().IsConflict()) {
    // 404: gone already; 409: the name now belongs to another Pod, which is not ours to delete.
    log::Info("evicting pod from node", {{"pod", PodName(pod)},
                                         {"node", StringField(Field(pod, "spec"), "nodeName")},
                                         {"gracePeriodSeconds", unreachable ? "0" : "default"}});
    return Status::Ok();
  }
  return r.status().Annotate("evicting pod " + PodName(pod));
}

}  // namespace capstan::controller::nodelifecycle
