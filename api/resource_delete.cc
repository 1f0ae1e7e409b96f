// ResourceService::Delete and namespace teardown.
//
// Deletion follows Kubernetes: an object without finalizers goes at once. One with finalizers
// gets metadata.deletionTimestamp and stays until its finalizers are removed (the update that
// removes the last one deletes it; see CommitUpdate). propagationPolicy is recorded the way the
// garbage collector expects it: Orphan adds the "orphan" finalizer, Foreground adds
// "foregroundDeletion"; Background (the default) deletes the owner now and leaves dependents to
// the collector.
//
// Kinds with a graceful deletion (Pods: KindInfo::deletion_grace) are marked, not removed, while
// their grace lasts: deletionTimestamp is when the grace ends, deletionGracePeriodSeconds its
// length; a later DELETE may shorten it, never lengthen it; one with grace 0 removes the object
// (unless finalizers remain). The node agent stops the Pod's containers, then deletes it with 0.
#include <algorithm>

#include "api/object_meta.h"
#include "api/resource_service.h"
#include "api/resource_service_internal.h"
#include "api/stored_object_memo.h"
#include "base/log.h"

namespace capstan::api {
namespace {

void AddFinalizer(json& obj, const std::string& name) {
  json& fins = obj["metadata"]["finalizers"];
  if (!fins.is_array()) fins = json::array();
  for (const auto& f : fins) {
    if (f == name) return;
  }
  fins.push_back(name);
}

}  // namespace

Result<json> ResourceService::Delete(const KindInfo& kind, const std::string& ns, const std::string& name,
                                     const DeleteOptions& opts) {
  auto out = DeleteShared(kind, ns, name, opts);
  if (!out.ok()) return out.status();
  return json(**out);
}

Result<ObjectRef> ResourceService::DeleteShared(const KindInfo& kind, const std::string& ns, const std::string& name,
                                                const DeleteOptions& opts) {
  auto shared = [](json obj) { return std::make_shared<const json>(std::move(obj)); };
  const std::string& policy = opts.propagation_policy;
  if (!policy.empty() && policy != "Background" && policy != "Foreground" && policy != "Orphan") {
    return Status::BadRequest("propagationPolicy: Unsupported value: \"" + policy +
                              "\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
  }
  const std::string key = StoreKey(kind, ns, name);
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto kv = store_->Get(key);
    if (!kv.ok()) return kv.status().IsNotFound() ? NotFoundError(kind, name) : kv.status();
    auto cur = DecodeRead(*kv);
    if (!cur.ok()) return cur.status();
    json obj = std::move(*cur);
    if (opts.precondition_uid && *opts.precondition_uid != MetaString(obj, "uid")) {
      return Status::Conflict("Precondition failed: UID in precondition: " + *opts.precondition_uid +
                              ", UID in object meta: " + MetaString(obj, "uid"));
    }
    if (opts.precondition_rv && *opts.precondition_rv != std::to_string(kv->mod_revision)) {
      return Status::Conflict("Precondition failed: ResourceVersion in precondition: " + *opts.precondition_rv +
                              ", ResourceVersion in object meta: " + std::to_string(kv->mod_revision));
    }

    const int64_t grace = kind.deletion_grace ? std::max<int64_t>(0, kind.deletion_grace(obj, opts.grace_period_seconds)) : 0;
    // Orphan and Foreground add a finalizer (below), so they are graceful too.
    const bool graceful = HasFinalizers(obj) || policy == "Orphan" || policy == "Foreground" || grace > 0;
    const bool is_namespace = kind.kind == "Namespace" && kind.group.empty();
    if (!graceful && !is_namespace) {  // the common case: removed at once, no copy of the object
      if (opts.dry_run) return shared(std::move(obj));
      // The deleted object goes with the delete to its event, which shares it with the answer.
      auto deleted = std::make_shared<json>(std::move(obj));
      auto wr = store_->Txn({ObjectOp(store::Op::Kind::kDelete, key, deleted, kv->mod_revision)});
      if (wr.ok()) return ObjectRef(std::move(deleted));  // stamped with the deleting revision
      if (wr.status().IsConflict()) continue;  // changed under us: look again
      return wr.status().IsNotFound() ? NotFoundError(kind, name) : wr.status();
    }
    json next = obj;
    if (policy == "Orphan") AddFinalizer(next, "orphan");
    if (policy == "Foreground") AddFinalizer(next, "foregroundDeletion");
    if (is_namespace) {
      // A namespace is marked Terminating before it is emptied, so that no create slips in
      // between the emptying and the removal (creates check the mark); then it goes, or stays
      // Terminating while metadata finalizers remain, as in Kubernetes.
      if (MetaString(next, "deletionTimestamp").empty()) {
        next["metadata"]["deletionTimestamp"] = NowRfc3339();
        next["metadata"]["deletionGracePeriodSeconds"] = 0;
      }
      next["status"]["phase"] = "Terminating";
      if (opts.dry_run) return shared(graceful ? std::move(next) : std::move(obj));
      int64_t revision = kv->mod_revision;
      if (next != obj) {
        next["metadata"].erase("resourceVersion");
        auto marked = store_->Update(key, EncodeForStore(next), store::Precondition{kv->mod_revision});
        if (!marked.ok()) {
          if (marked.status().IsConflict()) continue;
          return marked.status().IsNotFound() ? NotFoundError(kind, name) : marked.status();
        }
        revision = marked->revision;
      }
      next["metadata"]["resourceVersion"] = std::to_string(revision);
      CAPSTAN_RETURN_IF_ERROR(DeleteNamespaceContents(name));
      if (graceful) return shared(std::move(next));
      auto wr = store_->Delete(key, store::Precondition{revision});
      if (wr.ok()) {
        next["metadata"]["resourceVersion"] = std::to_string(wr->revision);
        return shared(std::move(next));
      }
      if (wr.status().IsConflict()) continue;  // e.g. its finalizers changed meanwhile
      return wr.status().IsNotFound() ? NotFoundError(kind, name) : wr.status();
    }
    // Graceful: mark, and let the finalizers' owners (or whoever runs the object) finish it.
    const json& marked_grace = next["metadata"].value("deletionGracePeriodSeconds", json());
    if (MetaString(next, "deletionTimestamp").empty() ||
        (marked_grace.is_number_integer() && grace < marked_grace.get<int64_t>())) {
      next["metadata"]["deletionTimestamp"] = NowRfc3339(std::chrono::seconds(grace));
      next["metadata"]["deletionGracePeriodSeconds"] = grace;
    }
    if (next == obj) return shared(std::move(obj));  // already being deleted, nothing to add
    if (opts.dry_run) return shared(std::move(next));
    auto marked = std::make_shared<json>(std::move(next));
    auto wr = store_->Txn({ObjectOp(store::Op::Kind::kUpdate, key, marked, kv->mod_revision)});
    if (wr.ok()) return ObjectRef(std::move(marked));  // stamped with its revision
    if (wr.status().IsConflict()) continue;
    return wr.status().IsNotFound() ? NotFoundError(kind, name) : wr.status();
  }
  return ConflictError(kind, name);
}

// Until the namespace controller exists (control-loop issue), a Namespace is emptied
// synchronously: every namespaced object in it is deleted (finalizers of the contents are not
// waited for), then the Namespace itself.
Status ResourceService::DeleteNamespaceContents(const std::string& ns) {
  for (const KindInfo* k : AllKinds()) {
    if (!k->namespaced) continue;
    const std::string prefix = StorePrefix(*k, ns);
    for (;;) {
      store::ListOptions lo;
      lo.limit = 500;
      auto lr = store_->List(prefix, lo);
      if (!lr.ok()) return lr.status();
      if (lr->items.empty()) break;
      for (const auto& kv : lr->items) {
        auto wr = store_->Delete(kv.key, store::Precondition{});
        if (!wr.ok() && !wr.status().IsNotFound()) return wr.status();
      }
    }
  }
  log::Info("namespace emptied", {{"namespace", ns}});
  return Status::Ok();
}

}  // namespace capstan::api
