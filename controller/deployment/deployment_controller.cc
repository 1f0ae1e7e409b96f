#include "controller/deployment/deployment_controller.h"

#include "controller/deployment/deployment_sync.h"
#include "controller/replicaset/object_util.h"

namespace capstan::controller::deployment {
namespace {

using replicaset::ControllerRef;
using replicaset::Meta;

std::string DeploymentPath(const std::string& ns, const std::string& name) {
  return "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name;
}
std::string ReplicaSetsPath(const std::string& ns) { return "/apis/apps/v1/namespaces/" + ns + "/replicasets"; }

Status AddIndex(client::Informer* informer, const char* name, client::IndexFunc fn) {
  Status st = informer->AddIndexer(name, std::move(fn));
  return st.code() == Code::kAlreadyExists ? Status::Ok() : st;
}

}  // namespace

DeploymentController::DeploymentController(DeploymentControllerOptions options)
    : QueuedController("deployment", options.workers) {}

DeploymentController::~DeploymentController() { Stop(); }

void DeploymentController::Stop() {
  QueuedController::Stop();
  if (events_) events_->Stop();
}

std::string DeploymentController::OwnerDeployment(const json& rs) const {
  const json* ref = ControllerRef(rs);
  if (ref == nullptr || ref->value("kind", "") != "Deployment" || ref->value("apiVersion", "") != "apps/v1") return "";
  return Meta(rs, "namespace") + "/" + ref->value("name", "");
}

Status DeploymentController::Setup(const ControllerContext& ctx) {
  ctx_ = ctx;
  InitQueue(ctx);
  events_ = std::make_unique<client::EventRecorder>(ctx.api, "deployment-controller");
  deployments_ = ctx.informers->ForResource("/apis/apps/v1/deployments");
  replicasets_ = ctx.informers->ForResource("/apis/apps/v1/replicasets");
  pods_ = ctx.informers->ForResource("/api/v1/pods");
  CAPSTAN_RETURN_IF_ERROR(AddIndex(replicasets_, client::kOwnerUidIndex, client::IndexByOwnerUid));
  CAPSTAN_RETURN_IF_ERROR(AddIndex(pods_, client::kOwnerUidIndex, client::IndexByOwnerUid));

  auto add = [this](const client::ObjectPtr& d) { queue().Add(client::ObjectKey(*d)); };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(deployments_,
      {add,
       [this, add](const client::ObjectPtr& old_d, const client::ObjectPtr& d) {
         // Mostly the echo of our own status write, which needs no sync of its own: batched
         // with the ReplicaSets' status changes.
         if (!replicaset::StatusOnlyChange(*old_d, *d)) return add(d);
         queue().AddAfter(client::ObjectKey(*d), replicaset::kStatusBatchWindow);
       },
       add}));
  auto owner = [this](const client::ObjectPtr& rs) {
    std::string key = OwnerDeployment(*rs);
    if (!key.empty()) queue().Add(key);
  };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(replicasets_,
      {owner,
       [this, owner](const client::ObjectPtr& old_rs, const client::ObjectPtr& rs) {
         if (replicaset::StatusOnlyChange(*old_rs, *rs)) {
           std::string key = OwnerDeployment(*rs);
           if (!key.empty()) queue().AddAfter(key, replicaset::kStatusBatchWindow);
           return;
         }
         owner(rs);
         if (OwnerDeployment(*old_rs) != OwnerDeployment(*rs)) owner(old_rs);
       },
       owner}));
  // Recreate waits for the old Pods to be gone: a Pod's deletion wakes its Deployment.
  client::ResourceEventHandler pod_events;
  pod_events.on_delete = [this](const client::ObjectPtr& pod) {
    const json* ref = ControllerRef(*pod);
    if (ref == nullptr || ref->value("kind", "") != "ReplicaSet") return;
    client::ObjectPtr rs = replicasets_->Get(Meta(*pod, "namespace") + "/" + ref->value("name", ""));
    if (rs != nullptr) {
      std::string key = OwnerDeployment(*rs);
      // A rolling update never reads Pods: their deletions (a scale-down's) would only wake it
      // for nothing. A switch to Recreate is itself an update, synced with the Pods of then.
      client::ObjectPtr d = key.empty() ? nullptr : deployments_->Get(key);
      if (d != nullptr && ReadsPods(*d)) queue().Add(key);
    }
  };
  return ctx.AddEventHandler(pods_, std::move(pod_events));
}

ReconcileResult DeploymentController::Reconcile(const std::string& key) {
  client::ObjectPtr d = deployments_->Get(key);
  if (d == nullptr) return ReconcileResult::Done();  // its ReplicaSets go with it (garbage collector)
  const std::string ns = Meta(*d, "namespace");
  const std::string name = Meta(*d, "name");
  ObjectList rss;
  if (auto owned = replicasets_->ByIndex(client::kOwnerUidIndex, Meta(*d, "uid")); owned.ok()) {
    for (auto& rs : *owned) {
      if (OwnerDeployment(*rs) == key) rss.push_back(rs);
    }
  }
  ObjectList pods;
  if (ReadsPods(*d)) {
    for (const auto& rs : rss) {
      if (auto owned = pods_->ByIndex(client::kOwnerUidIndex, Meta(*rs, "uid")); owned.ok()) {
        pods.insert(pods.end(), owned->begin(), owned->end());
      }
    }
  }
  const TimePoint now = std::chrono::system_clock::now();
  auto plan = PlanDeployment(*d, rss, pods, now);
  if (!plan.ok()) return ReconcileResult::Terminal(plan.status());

  auto write_status = [&](const json& status) -> Status {
    json next = *d;
    next["status"] = status;
    auto r = ctx_.api->UpdateShared(DeploymentPath(ns, name) + "/status", std::move(next));
    return r.ok() || r.status().IsNotFound() ? Status::Ok() : r.status();
  };
  if (plan->update_replicaset) {
    const json& rs = *plan->update_replicaset;
    auto r = ctx_.api->UpdateShared(ReplicaSetsPath(ns) + "/" + Meta(rs, "name"), rs);
    if (!r.ok()) return ReconcileResult::Retry(r.status());
  } else if (plan->create_replicaset) {
    const json& rs = *plan->create_replicaset;
    auto r = ctx_.api->CreateShared(ReplicaSetsPath(ns), rs);
    if (r.ok()) {
      events_->Event(*d, client::kEventTypeNormal, "ScalingReplicaSet",
                     "Scaled up replica set " + Meta(rs, "name") + " from 0 to " +
                         std::to_string(rs["spec"].value("replicas", 0)));
    } else {
      if (r.status().IsAlreadyExists()) {
        auto existing = ctx_.api->Get(ReplicaSetsPath(ns) + "/" + Meta(rs, "name"));
        if (existing.ok() && IsNewReplicaSetOf(*d, *existing)) return ReconcileResult::Retry(r.status());
        Status st = write_status(StatusAfterHashCollision(*d));
        return ReconcileResult::Retry(st.ok() ? r.status() : st);
      }
      if ((*d)["spec"].contains("progressDeadlineSeconds")) {
        (void)write_status(StatusAfterCreateFailure(*d, Meta(rs, "name"), r.status().message(), now));
      }
      return ReconcileResult::Retry(r.status());
    }
  }
  if (plan->deployment_revision) {
    json patch = {{"metadata", {{"annotations", {{kRevisionAnnotation, *plan->deployment_revision}}}}}};
    auto r = ctx_.api->PatchShared(DeploymentPath(ns, name), client::PatchType::kMerge, std::move(patch));
    if (!r.ok()) return r.status().IsNotFound() ? ReconcileResult::Done() : ReconcileResult::Retry(r.status());
  }
  for (const ScaleAction& s : plan->scales) {
    int64_t before = -1;
    json patch = s.MergePatch();
    for (const auto& rs : rss) {
      if (Meta(*rs, "name") != s.name) continue;
      before = (*rs)["spec"].value("replicas", 1);
      // A precondition: a plan made from a ReplicaSet the cache has not caught up with yet must
      // not be applied twice (409, and the retry re-plans from the newer one).
      patch["metadata"]["resourceVersion"] = Meta(*rs, "resourceVersion");
    }
    auto r = ctx_.api->PatchShared(ReplicaSetsPath(ns) + "/" + s.name, client::PatchType::kMerge, std::move(patch));
    if (!r.ok()) return ReconcileResult::Retry(r.status());
    if (before >= 0 && before != s.replicas) {
      events_->Event(*d, client::kEventTypeNormal, "ScalingReplicaSet",
                     std::string(s.replicas > before ? "Scaled up" : "Scaled down") + " replica set " + s.name +
                         " from " + std::to_string(before) + " to " + std::to_string(s.replicas));
    }
  }
  for (const std::string& rs : plan->delete_replicasets) {
    auto r = ctx_.api->DeleteShared(ReplicaSetsPath(ns) + "/" + rs, json{{"propagationPolicy", "Background"}});
    if (!r.ok() && !r.status().IsNotFound()) return ReconcileResult::Retry(r.status());
  }
  if (plan->status_changed) {
    // The revision patch above changed the Deployment's resourceVersion: the cached one is stale,
    // so the status goes as a merge patch rather than a PUT that would conflict.
    // Fields the new status omits (zero counts) are removed explicitly: a merge patch keeps
    // what it does not mention.
    json status = plan->status;
    const json& old = (*d).value("status", json::object());
    for (auto it = old.begin(); it != old.end(); ++it) {
      if (!status.contains(it.key())) status[it.key()] = nullptr;
    }
    auto r = ctx_.api->PatchShared(DeploymentPath(ns, name) + "/status", client::PatchType::kMerge,
                                   json{{"status", std::move(status)}});
    if (!r.ok() && !r.status().IsNotFound()) return ReconcileResult::Retry(r.status());
  }
  if (plan->requeue_after) return ReconcileResult::RequeueAfter(*plan->requeue_after);
  return ReconcileResult::Done();
}

}  // namespace capstan::controller::deployment
