#include "controller/replicaset/replicaset_controller.h"

#include "api/selector/selector.h"
#include "base/log.h"
#include "controller/replicaset/object_util.h"
#include "controller/replicaset/replicaset_sync.h"

namespace capstan::controller::replicaset {
namespace {

// Pods without a controller, by namespace: the adoption candidates.
constexpr char kOrphanIndex[] = "orphanNamespace";

std::vector<std::string> IndexOrphans(const json& pod) {
  if (ControllerRef(pod) != nullptr) return {};
  return {Meta(pod, "namespace")};
}

std::string RsPath(const std::string& ns, const std::string& name) {
  return "/apis/apps/v1/namespaces/" + ns + "/replicasets/" + name;
}

std::string PodsPath(const std::string& ns) { return "/api/v1/namespaces/" + ns + "/pods"; }

// The owner key of a Pod controlled by a ReplicaSet, or "".
std::string OwnerKey(const json& pod) {
  const json* ref = ControllerRef(pod);
  if (ref == nullptr || ref->value("kind", "") != "ReplicaSet" || ref->value("apiVersion", "") != "apps/v1") return "";
  return Meta(pod, "namespace") + "/" + ref->value("name", "");
}

}  // namespace

ReplicaSetController::ReplicaSetController(ReplicaSetControllerOptions options)
    : QueuedController("replicaset", options.workers) {}

ReplicaSetController::~ReplicaSetController() { Stop(); }

void ReplicaSetController::Stop() {
  QueuedController::Stop();
  if (events_) events_->Stop();
}

Status ReplicaSetController::Setup(const ControllerContext& ctx) {
  ctx_ = ctx;
  Clock* clock = ctx.clock;
  expectations_ = std::make_unique<ControllerExpectations>([clock] { return clock->Now(); });
  InitQueue(ctx);
  events_ = std::make_unique<client::EventRecorder>(ctx.api, "replicaset-controller");
  replicasets_ = ctx.informers->ForResource("/apis/apps/v1/replicasets");
  pods_ = ctx.informers->ForResource("/api/v1/pods");
  // Another controller may have added the same index to the shared informer: that is fine.
  for (auto [index, fn] : {std::pair<const char*, client::IndexFunc>{client::kOwnerUidIndex, client::IndexByOwnerUid},
                           std::pair<const char*, client::IndexFunc>{kOrphanIndex, IndexOrphans}}) {
    Status st = pods_->AddIndexer(index, fn);
    if (!st.ok() && st.code() != Code::kAlreadyExists) return st;
  }
  client::ResourceEventHandler rs_events;
  rs_events.on_add = [this](const client::ObjectPtr& rs) { queue().Add(client::ObjectKey(*rs)); };
  rs_events.on_update = [this](const client::ObjectPtr& old_rs, const client::ObjectPtr& rs) {
    // Mostly the echo of our own status write: batched like the Pods' status changes, or each
    // echo would sync at once and write the counts that moved meanwhile, defeating the window.
    if (StatusOnlyChange(*old_rs, *rs)) queue().AddAfter(client::ObjectKey(*rs), kStatusBatchWindow);
    else queue().Add(client::ObjectKey(*rs));
  };
  rs_events.on_delete = [this](const client::ObjectPtr& rs) {
    expectations_->Delete(client::ObjectKey(*rs));
    queue().Add(client::ObjectKey(*rs));
  };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(replicasets_, std::move(rs_events)));
  client::ResourceEventHandler pod_events;
  pod_events.on_add = [this](const client::ObjectPtr& pod) { OnPod(nullptr, pod.get(), false); };
  pod_events.on_update = [this](const client::ObjectPtr& old_pod, const client::ObjectPtr& pod) {
    OnPod(old_pod.get(), pod.get(), false);
  };
  pod_events.on_delete = [this](const client::ObjectPtr& pod) { OnPod(nullptr, pod.get(), true); };
  return ctx.AddEventHandler(pods_, std::move(pod_events));
}

void ReplicaSetController::OnPod(const json* old_pod, const json* pod, bool deleted) {
  const std::string key = OwnerKey(*pod);
  if (deleted) {
    if (!key.empty()) {
      expectations_->DeletionObserved(key, Meta(*pod, "uid"));
      queue().Add(key);
    }
    return;
  }
  if (old_pod == nullptr) {
    if (!key.empty()) {
      // A Pod that is already being deleted when first seen (a restart) counts as a deletion.
      if (IsDeleting(*pod)) {
        expectations_->DeletionObserved(key, Meta(*pod, "uid"));
      } else {
        expectations_->CreationObserved(key);
        // One of a burst of our own creates: only the status counts would change until the last
        // one shows up (and it wakes the owner at once), so the others batch as status changes
        // do, instead of a status write each.
        if (!expectations_->Satisfied(key)) {
          queue().AddAfter(key, kStatusBatchWindow);
          return;
        }
      }
      queue().Add(key);
    } else {
      EnqueueMatching(*pod);
    }
    return;
  }
  if (IsDeleting(*pod) && !IsDeleting(*old_pod) && !key.empty()) expectations_->DeletionObserved(key, Meta(*pod, "uid"));
  const std::string old_key = OwnerKey(*old_pod);
  if (!old_key.empty() && old_key != key) queue().Add(old_key);
  if (!key.empty()) {
    if (old_key == key && BindingOrStatusOnlyChange(*old_pod, *pod)) queue().AddAfter(key, kStatusBatchWindow);
    else queue().Add(key);
  } else if (old_key.empty() ? (*old_pod)["metadata"].value("labels", json()) != (*pod)["metadata"].value("labels", json())
                             : true) {
    EnqueueMatching(*pod);  // a new orphan, or an orphan whose labels changed
  }
}

void ReplicaSetController::EnqueueMatching(const json& pod) {
  if (IsDeleting(pod)) return;
  const json labels = pod["metadata"].value("labels", json::object());
  for (const auto& rs : replicasets_->ListNamespace(Meta(pod, "namespace"))) {
    const json& spec = At(*rs, "spec");
    auto selector = api::LabelSelector::FromObject(spec.value("selector", json::object()));
    if (selector.ok() && !selector->Empty() && selector->Matches(labels)) queue().Add(client::ObjectKey(*rs));
  }
}

ReconcileResult ReplicaSetController::Reconcile(const std::string& key) {
  client::ObjectPtr rs = replicasets_->Get(key);
  if (rs == nullptr) {
    expectations_->Delete(key);
    return ReconcileResult::Done();
  }
  const std::string ns = Meta(*rs, "namespace");
  const std::string name = Meta(*rs, "name");
  PodList pods;
  if (auto owned = pods_->ByIndex(client::kOwnerUidIndex, Meta(*rs, "uid")); owned.ok()) pods = std::move(*owned);
  if (auto orphans = pods_->ByIndex(kOrphanIndex, ns); orphans.ok()) {
    pods.insert(pods.end(), orphans->begin(), orphans->end());
  }
  ReplicaSetPlanOptions popts;
  popts.expectations_satisfied = expectations_->Satisfied(key);
  if (!popts.expectations_satisfied) popts.deleting = expectations_->PendingDeletions(key);
  const auto now = std::chrono::system_clock::now();
  auto plan = PlanReplicaSet(*rs, pods, now, popts);
  if (!plan.ok()) return ReconcileResult::Terminal(plan.status());

  Status failed;
  for (const auto* patches : {&plan->adopt, &plan->release}) {
    for (const PodPatch& p : *patches) {
      auto r = ctx_.api->Patch(PodsPath(ns) + "/" + Meta(*p.pod, "name"), client::PatchType::kStrategic, p.patch);
      if (!r.ok() && !r.status().IsNotFound()) failed = r.status();
    }
  }
  if (plan->create > 0) {
    expectations_->ExpectCreations(key, plan->create);
    const json pod = PodFromTemplate(*rs);
    int created = 0;
    for (int batch : SlowStartBatches(plan->create)) {
      int ok = 0;
      for (int i = 0; i < batch; ++i) {
        auto r = ctx_.api->CreateShared(PodsPath(ns), pod);
        if (!r.ok()) {
          failed = r.status();
          events_->Event(*rs, client::kEventTypeWarning, "FailedCreate", "Error creating: " + r.status().message());
          break;
        }
        events_->Event(*rs, client::kEventTypeNormal, "SuccessfulCreate", "Created pod: " + Meta(**r, "name"));
        ++ok;
      }
      created += ok;
      if (ok < batch) break;
    }
    // Pods that will never appear must not be waited for.
    if (created < plan->create) expectations_->CreationObserved(key, plan->create - created);
  }
  if (!plan->to_delete.empty()) {
    std::vector<std::string> uids;
    for (const auto& p : plan->to_delete) uids.push_back(Meta(*p, "uid"));
    expectations_->ExpectDeletions(key, uids);
    for (const auto& p : plan->to_delete) {
      auto r = ctx_.api->DeleteShared(PodsPath(ns) + "/" + Meta(*p, "name"),
                                json{{"preconditions", {{"uid", Meta(*p, "uid")}}}});
      if (!r.ok()) {
        expectations_->DeletionObserved(key, Meta(*p, "uid"));
        if (!r.status().IsNotFound()) {
          failed = r.status();
          events_->Event(*rs, client::kEventTypeWarning, "FailedDelete",
                         "Error deleting: " + r.status().message());
        }
      } else {
        events_->Event(*rs, client::kEventTypeNormal, "SuccessfulDelete", "Deleted pod: " + Meta(*p, "name"));
      }
    }
  }
  if (!failed.ok()) {
    popts.last_error = failed.message();
    popts.expectations_satisfied = false;  // the status only: the writes above stand
    auto again = PlanReplicaSet(*rs, pods, now, popts);
    if (again.ok()) plan = std::move(again);
  }
  // After creates that all went through, the status waits for the sync the last new Pod's event
  // causes (see OnPod): written now, it would count none of them and be rewritten at once.
  const bool status_follows = plan->create > 0 && failed.ok();
  if (plan->status_changed && !status_follows) {
    json next = *rs;
    next["status"] = plan->status;
    auto r = ctx_.api->UpdateShared(RsPath(ns, name) + "/status", std::move(next));
    if (!r.ok() && !r.status().IsNotFound()) {
      // A conflict means a newer ReplicaSet is on its way through the informer: sync again then.
      return ReconcileResult::Retry(r.status());
    }
  }
  if (!failed.ok()) return ReconcileResult::Retry(failed);
  if (plan->requeue_after) return ReconcileResult::RequeueAfter(*plan->requeue_after);
  return ReconcileResult::Done();
}

}  // namespace capstan::controller::replicaset
