#include "controller/scheduler/scheduler_controller.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "client/json_fields.h"

namespace capstan::controller::scheduler {
namespace {

using client::Field;
using client::MetaString;
using client::ObjectPtr;
using client::StringField;

constexpr char kPodsPath[] = "/api/v1/pods";
constexpr char kNodesPath[] = "/api/v1/nodes";
constexpr char kPodScheduled[] = "PodScheduled";

std::string PodPath(const json& pod) {
  return "/api/v1/namespaces/" + MetaString(pod, "namespace") + "/pods/" + MetaString(pod, "name");
}

bool SameTaints(const std::vector<Taint>& a, const std::vector<Taint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Taint& x, const Taint& y) {
    return x.key == y.key && x.value == y.value && x.effect == y.effect;
  });
}

// Whether a Node update may change which pods fit: readiness and pressure (they are taints in a
// NodeInfo), spec.taints, spec.unschedulable, labels or allocatable changed.
bool SchedulingFieldsDiffer(const NodeInfo& a, const NodeInfo& b) {
  if (a.unschedulable() != b.unschedulable() || !(a.allocatable() == b.allocatable())) return true;
  if (!SameTaints(a.taints(), b.taints())) return true;
  const json* la = a.labels();
  const json* lb = b.labels();
  if ((la == nullptr) != (lb == nullptr)) return true;
  return la != nullptr && *la != *lb;
}

// Whether an update of a Pod that still needs scheduling can change the decision: a resync (same
// resourceVersion: the level-based safety net), or a change of the spec or the owner. Status-only
// writes (the scheduler's own PodScheduled=False among them) do not.
bool SchedulingInputsChanged(const json& old_pod, const json& pod) {
  if (MetaString(old_pod, "resourceVersion") == MetaString(pod, "resourceVersion")) return true;
  if (Field(old_pod, "spec") != Field(pod, "spec")) return true;
  return Field(Field(old_pod, "metadata"), "ownerReferences") != Field(Field(pod, "metadata"), "ownerReferences");
}

// The PodScheduled condition of a cached Pod, or null.
const json* PodScheduledCondition(const json& pod) {
  const json& conditions = Field(Field(pod, "status"), "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const json& c : conditions) {
    if (StringField(c, "type") == kPodScheduled) return &c;
  }
  return nullptr;
}

}  // namespace

SchedulerController::SchedulerController(SchedulerControllerOptions options) : options_(std::move(options)) {}

SchedulerController::~SchedulerController() { Stop(); }

Status SchedulerController::Setup(const ControllerContext& ctx) {
  if (ctx.api == nullptr || ctx.informers == nullptr) return Status::Invalid("scheduler: api and informers are required");
  if (queue_ != nullptr) return Status::Internal("scheduler: Setup called twice");
  api_ = ctx.api;
  pods_ = ctx.informers->ForResource(kPodsPath);
  nodes_informer_ = ctx.informers->ForResource(kNodesPath);

  WorkQueueOptions qo;
  qo.name = name_;
  qo.clock = ctx.clock;
  queue_ = std::make_unique<WorkQueue>(std::move(qo));
  WorkerPoolOptions po;
  po.workers = std::max(1, options_.workers);
  pool_ = std::make_unique<WorkerPool>(queue_.get(), [this](const std::string& key) { return Reconcile(key); }, po);

  client::ResourceEventHandler nodes;
  nodes.on_add = [this](const ObjectPtr& n) { OnNodeAdd(n); };
  nodes.on_update = [this](const ObjectPtr& old_n, const ObjectPtr& n) { OnNodeUpdate(old_n, n); };
  nodes.on_delete = [this](const ObjectPtr& n) { OnNodeDelete(n); };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(nodes_informer_, std::move(nodes)));

  client::ResourceEventHandler pods;
  pods.on_add = [this](const ObjectPtr& p) { OnPod(nullptr, p, false); };
  pods.on_update = [this](const ObjectPtr& old_p, const ObjectPtr& p) { OnPod(old_p, p, false); };
  pods.on_delete = [this](const ObjectPtr& p) { OnPod(nullptr, p, true); };
  return ctx.AddEventHandler(pods_, std::move(pods));
}

Status SchedulerController::Start() {
  if (pool_ == nullptr) return Status::Internal("scheduler: Start before Setup");
  recorder_ = std::make_unique<client::EventRecorder>(api_, options_.scheduler_name, options_.events);
  return pool_->Start();
}

void SchedulerController::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (pool_ != nullptr) pool_->Stop();  // drains the queue; no reconcile runs afterwards
  if (recorder_ != nullptr) recorder_->Stop();
}

SchedulerStats SchedulerController::Stats() const {
  SchedulerStats s;
  s.attempts = attempts_.load(std::memory_order_relaxed);
  s.bound = bound_.load(std::memory_order_relaxed);
  s.conflicts = conflicts_.load(std::memory_order_relaxed);
  s.bind_errors = bind_errors_.load(std::memory_order_relaxed);
  s.unschedulable = unschedulable_.load(std::memory_order_relaxed);
  s.status_writes = status_writes_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  s.nodes = candidates_.size();
  s.unscheduled = unscheduled_.size();
  return s;
}

// ---- The cache ------------------------------------------------------------------------------------

void SchedulerController::OnNodeAdd(const ObjectPtr& node) {
  const std::string name = MetaString(*node, "name");
  std::vector<std::string> requeue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    NodeEntry& e = nodes_[name];
    e.info.SetNode(node);
    if (!e.present) {
      e.present = true;
      RebuildCandidatesLocked();
    }
    requeue = UnscheduledKeysLocked();
  }
  AddAll(requeue);
}

void SchedulerController::OnNodeUpdate(const ObjectPtr& /*old_node*/, const ObjectPtr& node) {
  const std::string name = MetaString(*node, "name");
  const NodeInfo fresh(node);  // parsed outside the lock, compared with what the cache holds
  std::vector<std::string> requeue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    NodeEntry& e = nodes_[name];
    const bool changed = !e.present || SchedulingFieldsDiffer(e.info, fresh);
    e.info.SetNode(node);
    if (!e.present) {
      e.present = true;
      RebuildCandidatesLocked();
    }
    if (changed) requeue = UnscheduledKeysLocked();
  }
  AddAll(requeue);
}

void SchedulerController::OnNodeDelete(const ObjectPtr& node) {
  const std::string name = MetaString(*node, "name");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  it->second.present = false;
  if (it->second.info.pods().empty()) nodes_.erase(it);
  RebuildCandidatesLocked();
}

void SchedulerController::OnPod(const ObjectPtr& old_pod, const ObjectPtr& pod, bool deleted) {
  const json& p = *pod;
  const std::string key = client::ObjectKey(p);
  const std::string node = StringField(Field(p, "spec"), "nodeName");
  const bool terminal = IsTerminal(p);
  const bool counts = !deleted && !node.empty() && !terminal;
  const bool needs = !deleted && NeedsScheduling(p, options_.scheduler_name);
  const bool trigger = needs && (old_pod == nullptr || !NeedsScheduling(*old_pod, options_.scheduler_name) ||
                                 SchedulingInputsChanged(*old_pod, p));
  // What a NodeInfo needs of a bound Pod, computed before taking the lock.
  PodInfo info;
  info.key = PodKey(p);
  if (counts) {
    info.owner_uid = ControllerUid(p);
    info.requests = PodRequests(p, &info.non_zero);
  }
  std::vector<std::string> requeue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = placements_.find(info.key);
    if (counts) {
      if (it != placements_.end() && it->second.node != node) RemoveFromNodeLocked(it->second.node, info.key);
      nodes_[node].info.AddPod(pod, info);  // replaces an assumed entry: counted once
      placements_[info.key] = Placement{node, false};
    } else if (it != placements_.end() && (deleted || terminal)) {
      // An unbound, live Pod keeps its assumption: its binding is in flight, or the watch has
      // not shown it yet.
      const std::string held = it->second.node;
      placements_.erase(it);
      RemoveFromNodeLocked(held, info.key);
      requeue = UnscheduledKeysLocked();  // capacity freed: pending pods may fit now
    }
    if (needs) {
      unscheduled_.insert(key);
    } else {
      unscheduled_.erase(key);
      failures_.erase(key);
    }
  }
  if (trigger) queue_->Add(key);
  AddAll(requeue);
}

void SchedulerController::RemoveFromNodeLocked(const std::string& node, const std::string& pod_key) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  it->second.info.RemovePod(pod_key);
  if (!it->second.present && it->second.info.pods().empty()) nodes_.erase(it);  // never a candidate
}

void SchedulerController::RebuildCandidatesLocked() {
  candidates_.clear();
  for (const auto& [name, entry] : nodes_) {
    if (entry.present) candidates_.push_back(&entry.info);
  }
}

std::vector<std::string> SchedulerController::UnscheduledKeysLocked() const {
  return std::vector<std::string>(unscheduled_.begin(), unscheduled_.end());
}

void SchedulerController::AddAll(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) queue_->Add(k);
}

void SchedulerController::ForgetAssumed(const std::string& pod_key, const std::string& node) {
  std::vector<std::string> requeue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = placements_.find(pod_key);
    // Once the watch confirmed the Pod somewhere, that placement stands.
    if (it == placements_.end() || !it->second.assumed || it->second.node != node) return;
    placements_.erase(it);
    RemoveFromNodeLocked(node, pod_key);
    requeue = UnscheduledKeysLocked();  // the capacity it held may be what another pod missed
  }
  AddAll(requeue);
}

// ---- Reconcile ------------------------------------------------------------------------------------

ReconcileResult SchedulerController::Reconcile(const std::string& key) {
  ObjectPtr pod = pods_->Get(key);
  if (pod == nullptr || !NeedsScheduling(*pod, options_.scheduler_name)) {
    std::lock_guard<std::mutex> lock(mu_);
    unscheduled_.erase(key);
    failures_.erase(key);
    return ReconcileResult::Done();
  }
  const PodInfo info = MakePodInfo(*pod);
  Decision decision;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (placements_.count(info.key) > 0) {
      // Bound by this scheduler already; the cache has not caught up with the binding yet.
      unscheduled_.erase(key);
      failures_.erase(key);
      return ReconcileResult::Done();
    }
    attempts_.fetch_add(1, std::memory_order_relaxed);
    decision = Schedule(info, candidates_, options_.weights);
    if (decision.node.empty()) {
      unscheduled_.insert(key);
    } else {
      // Assume: later decisions see the capacity taken before the binding is even sent. The
      // entry holds the cached (still unbound) Pod; NodeInfo reads nothing but the PodInfo.
      nodes_[decision.node].info.AddPod(pod, info);
      placements_[info.key] = Placement{decision.node, true};
      unscheduled_.erase(key);
      failures_.erase(key);
    }
  }
  if (decision.node.empty()) return HandleUnschedulable(key, pod, decision);

  json binding = {
      {"apiVersion", "v1"},
      {"kind", "Binding"},
      {"metadata",
       {{"name", MetaString(*pod, "name")}, {"namespace", MetaString(*pod, "namespace")}, {"uid", MetaString(*pod, "uid")}}},
      {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", decision.node}}}};
  auto r = api_->Create(PodPath(*pod) + "/binding", std::move(binding));
  if (r.ok()) {
    bound_.fetch_add(1, std::memory_order_relaxed);
    recorder_->Event(*pod, client::kEventTypeNormal, kEventScheduled, ScheduledMessage(*pod, decision.node));
    return ReconcileResult::Done();
  }
  ForgetAssumed(info.key, decision.node);
  const Status& st = r.status();
  if (st.IsConflict() || st.IsAlreadyExists() || st.IsNotFound()) {
    // Bound by someone else, being deleted, or gone: the watch brings the Pod's real state.
    conflicts_.fetch_add(1, std::memory_order_relaxed);
    log::Debug("scheduler: binding refused", {{"pod", key}, {"node", decision.node}, {"error", st.ToString()}});
    return ReconcileResult::Done();
  }
  bind_errors_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    unscheduled_.insert(key);
  }
  return ReconcileResult::Retry(st.Annotate("binding " + key + " to " + decision.node));
}

ReconcileResult SchedulerController::HandleUnschedulable(const std::string& key, const ObjectPtr& pod,
                                                         const Decision& decision) {
  unschedulable_.fetch_add(1, std::memory_order_relaxed);
  int failures;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failures = ++failures_[key];
  }
  SetUnschedulableCondition(*pod, decision.message);
  recorder_->Event(*pod, client::kEventTypeWarning, kEventFailedScheduling, decision.message);
  auto delay = options_.initial_backoff * (int64_t{1} << std::min(failures - 1, 30));
  delay = std::min(delay, std::max(options_.max_backoff, options_.initial_backoff));
  return ReconcileResult::RequeueAfter(delay);
}

void SchedulerController::SetUnschedulableCondition(const json& pod, const std::string& message) {
  const json* current = PodScheduledCondition(pod);
  const bool was_false = current != nullptr && StringField(*current, "status") == "False";
  if (was_false && StringField(*current, "reason") == kReasonPodUnschedulable &&
      StringField(*current, "message") == message) {
    return;  // unchanged: no write
  }
  json condition = {{"type", kPodScheduled},
                    {"status", "False"},
                    {"reason", kReasonPodUnschedulable},
                    {"message", message},
                    {"lastProbeTime", nullptr}};
  if (!was_false) {
    auto now = options_.events.now ? options_.events.now() : std::chrono::system_clock::now();
    condition["lastTransitionTime"] = client::FormatRfc3339(now);
  }
  // Strategic merge: conditions merge by type, so the Pod's other conditions stay.
  const json patch = {{"status", {{"conditions", json::array({condition})}}}};
  auto r = api_->Patch(PodPath(pod) + "/status", client::PatchType::kStrategic, patch);
  if (r.ok()) {
    status_writes_.fetch_add(1, std::memory_order_relaxed);
  } else {
    log::Debug("scheduler: PodScheduled condition not written",
               {{"pod", client::ObjectKey(pod)}, {"error", r.status().ToString()}});
  }
}

}  // namespace capstan::controller::scheduler
