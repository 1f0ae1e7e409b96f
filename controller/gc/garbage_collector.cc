#include "controller/gc/garbage_collector.h"

#include <algorithm>

#include "base/log.h"

namespace capstan::controller::gc {
namespace {

using json = nlohmann::json;

constexpr char kOrphanFinalizer[] = "orphan";
constexpr char kForegroundFinalizer[] = "foregroundDeletion";

std::string MetaString(const json& obj, const char* field) {
  // No conditional expression with a json::object() arm: it would copy the metadata each call.
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return "";
  auto it = meta->find(field);
  return it != meta->end() && it->is_string() ? it->get<std::string>() : "";
}

const json& OwnerRefs(const json& obj) {
  static const json kNone = json::array();
  if (!obj.contains("metadata") || !obj["metadata"].contains("ownerReferences")) return kNone;
  const json& refs = obj["metadata"]["ownerReferences"];
  return refs.is_array() ? refs : kNone;
}

bool HasFinalizer(const json& obj, const char* finalizer) {
  if (!obj.contains("metadata") || !obj["metadata"].contains("finalizers")) return false;
  const json& f = obj["metadata"]["finalizers"];
  return f.is_array() && std::find(f.begin(), f.end(), finalizer) != f.end();
}

json WithoutFinalizer(json obj, const char* finalizer) {
  json& f = obj["metadata"]["finalizers"];
  f.erase(std::remove(f.begin(), f.end(), finalizer), f.end());
  return obj;
}

json WithoutOwners(json obj, const std::vector<std::string>& uids) {
  json& refs = obj["metadata"]["ownerReferences"];
  json kept = json::array();
  for (auto& r : refs) {
    if (std::find(uids.begin(), uids.end(), r.value("uid", "")) == uids.end()) kept.push_back(r);
  }
  if (kept.empty()) obj["metadata"].erase("ownerReferences");
  else refs = kept;
  return obj;
}

bool Has(const json& verbs, const char* verb) {
  return verbs.is_array() && std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

// The metadata field `name` of `obj`, null when absent.
const json& MetaField(const json& obj, const char* name) {
  static const json kNull;
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return kNull;
  auto it = meta->find(name);
  return it == meta->end() ? kNull : *it;
}

}  // namespace

bool UpdateConcernsCollector(const json& old_obj, const json& obj) {
  if (MetaField(old_obj, "resourceVersion") == MetaField(obj, "resourceVersion")) return true;
  for (const char* field : {"ownerReferences", "deletionTimestamp", "finalizers"}) {
    if (MetaField(old_obj, field) != MetaField(obj, field)) return true;
  }
  return false;
}

GarbageCollector::GarbageCollector(GarbageCollectorOptions options)
    : QueuedController("garbage-collector", options.workers) {}

GarbageCollector::~GarbageCollector() { Stop(); }

Status GarbageCollector::Discover() {
  auto add_list = [this](const std::string& gv, const json& list) {
    if (!list.contains("resources")) return;
    for (const auto& r : list["resources"]) {
      const std::string plural = r.value("name", "");
      if (plural.empty() || plural.find('/') != std::string::npos || plural == "events") continue;
      const json& verbs = r.value("verbs", json::array());
      if (!Has(verbs, "list") || !Has(verbs, "watch") || !Has(verbs, "delete")) continue;
      resources_.push_back(Resource{gv, r.value("kind", ""), plural, r.value("namespaced", true), nullptr});
    }
  };
  auto core = ctx_.api->Get("/api/v1");
  if (!core.ok()) return core.status();
  add_list("v1", *core);
  auto groups = ctx_.api->Get("/apis");
  if (!groups.ok()) return groups.status();
  for (const auto& g : groups->value("groups", json::array())) {
    const std::string gv = g.value("preferredVersion", json::object()).value("groupVersion", "");
    if (gv.empty()) continue;
    auto list = ctx_.api->Get("/apis/" + gv);
    if (!list.ok()) return list.status();
    add_list(gv, *list);
  }
  return Status::Ok();
}

std::string GarbageCollector::ObjectPath(const Resource& r, const std::string& ns, const std::string& name) const {
  std::string base = r.api_version.find('/') == std::string::npos ? "/api/" + r.api_version : "/apis/" + r.api_version;
  if (r.namespaced) base += "/namespaces/" + ns;
  return base + "/" + r.plural + "/" + name;
}

const GarbageCollector::Resource* GarbageCollector::FindResource(const std::string& api_version,
                                                                 const std::string& kind) const {
  for (const auto& r : resources_) {
    if (r.api_version == api_version && r.kind == kind) return &r;
  }
  return nullptr;
}

Status GarbageCollector::Setup(const ControllerContext& ctx) {
  ctx_ = ctx;
  CAPSTAN_RETURN_IF_ERROR(Discover());
  InitQueue(ctx);
  for (size_t i = 0; i < resources_.size(); ++i) {
    Resource& r = resources_[i];
    const std::string gv = r.api_version;
    r.informer = ctx.informers->ForResource(gv.find('/') == std::string::npos ? "/api/" + gv + "/" + r.plural
                                                                             : "/apis/" + gv + "/" + r.plural);
    Status st = r.informer->AddIndexer(client::kOwnerUidIndex, client::IndexByOwnerUid);
    if (!st.ok() && st.code() != Code::kAlreadyExists) return st;
    client::ResourceEventHandler events;
    events.on_add = [this, i](const client::ObjectPtr& obj) { Enqueue(i, *obj); };
    events.on_update = [this, i](const client::ObjectPtr& old_obj, const client::ObjectPtr& obj) {
      if (UpdateConcernsCollector(*old_obj, *obj)) Enqueue(i, *obj);
    };
    events.on_delete = [this](const client::ObjectPtr& obj) {
      // Its dependents may now dangle; an owner waiting in foreground may now be free.
      for (const auto& [r, dep] : Dependents(MetaString(*obj, "uid"))) Enqueue(r - resources_.data(), *dep);
      for (const auto& ref : OwnerRefs(*obj)) {
        const Resource* owner = FindResource(ref.value("apiVersion", ""), ref.value("kind", ""));
        if (owner == nullptr) continue;
        std::string key = owner->namespaced ? MetaString(*obj, "namespace") + "/" + ref.value("name", "")
                                            : ref.value("name", "");
        if (auto cached = owner->informer->Get(key)) Enqueue(owner - resources_.data(), *cached);
      }
    };
    CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(r.informer, std::move(events)));
  }
  return Status::Ok();
}

void GarbageCollector::Enqueue(size_t resource, const json& obj) {
  const bool deleting = !MetaString(obj, "deletionTimestamp").empty() &&
                        (HasFinalizer(obj, kOrphanFinalizer) || HasFinalizer(obj, kForegroundFinalizer));
  if (!deleting && OwnerRefs(obj).empty()) return;
  queue().Add(std::to_string(resource) + "|" + client::ObjectKey(obj));
}

std::vector<std::pair<const GarbageCollector::Resource*, client::ObjectPtr>> GarbageCollector::Dependents(
    const std::string& uid) const {
  std::vector<std::pair<const Resource*, client::ObjectPtr>> out;
  if (uid.empty()) return out;
  for (const auto& r : resources_) {
    auto deps = r.informer->ByIndex(client::kOwnerUidIndex, uid);
    if (!deps.ok()) continue;
    for (auto& d : *deps) out.emplace_back(&r, d);
  }
  return out;
}

Result<bool> GarbageCollector::OwnerExists(const json& ref, const std::string& ns) {
  const Resource* owner = FindResource(ref.value("apiVersion", ""), ref.value("kind", ""));
  if (owner == nullptr) return true;  // a kind this server does not serve: never collect on a guess
  const std::string name = ref.value("name", "");
  const std::string uid = ref.value("uid", "");
  if (auto cached = owner->informer->Get(owner->namespaced ? ns + "/" + name : name)) {
    if (MetaString(*cached, "uid") == uid) return true;
  }
  // The cache may lag (an owner created a moment ago): ask the API before deleting anything.
  auto live = ctx_.api->Get(ObjectPath(*owner, ns, name));
  if (!live.ok()) {
    if (live.status().IsNotFound()) return false;
    return live.status();
  }
  return MetaString(*live, "uid") == uid;
}

ReconcileResult GarbageCollector::Reconcile(const std::string& key) {
  const auto bar = key.find('|');
  if (bar == std::string::npos) return ReconcileResult::Done();
  const size_t index = std::stoul(key.substr(0, bar));
  if (index >= resources_.size()) return ReconcileResult::Done();
  const Resource& r = resources_[index];
  client::ObjectPtr obj = r.informer->Get(key.substr(bar + 1));
  if (obj == nullptr) return ReconcileResult::Done();
  if (!MetaString(*obj, "deletionTimestamp").empty() &&
      (HasFinalizer(*obj, kOrphanFinalizer) || HasFinalizer(*obj, kForegroundFinalizer))) {
    return ProcessDeleting(r, *obj);
  }
  if (!OwnerRefs(*obj).empty()) return ProcessOwners(r, *obj);
  return ReconcileResult::Done();
}

ReconcileResult GarbageCollector::ProcessDeleting(const Resource& r, const json& obj) {
  const std::string uid = MetaString(obj, "uid");
  const std::string path = ObjectPath(r, MetaString(obj, "namespace"), MetaString(obj, "name"));
  auto deps = Dependents(uid);
  if (HasFinalizer(obj, kOrphanFinalizer)) {
    for (const auto& [dr, dep] : deps) {
      auto put = ctx_.api->Update(ObjectPath(*dr, MetaString(*dep, "namespace"), MetaString(*dep, "name")),
                                  WithoutOwners(*dep, {uid}));
      if (!put.ok() && !put.status().IsNotFound()) return ReconcileResult::Retry(put.status());
    }
    auto put = ctx_.api->Update(path, WithoutFinalizer(obj, kOrphanFinalizer));
    if (!put.ok() && !put.status().IsNotFound()) return ReconcileResult::Retry(put.status());
    return ReconcileResult::Done();
  }
  bool blocked = false;
  for (const auto& [dr, dep] : deps) {
    for (const auto& ref : OwnerRefs(*dep)) {
      if (ref.value("uid", "") == uid && ref.value("blockOwnerDeletion", false)) blocked = true;
    }
    if (!MetaString(*dep, "deletionTimestamp").empty()) continue;
    auto del = ctx_.api->Delete(ObjectPath(*dr, MetaString(*dep, "namespace"), MetaString(*dep, "name")),
                                json{{"propagationPolicy", "Foreground"},
                                     {"preconditions", {{"uid", MetaString(*dep, "uid")}}}});
    if (!del.ok() && !del.status().IsNotFound() && del.status().code() != Code::kConflict) {
      return ReconcileResult::Retry(del.status());
    }
  }
  // Dependents' deletions wake this owner again (see the delete handler); the delay is a net.
  if (blocked) return ReconcileResult::RequeueAfter(std::chrono::seconds(2));
  auto put = ctx_.api->Update(path, WithoutFinalizer(obj, kForegroundFinalizer));
  if (!put.ok() && !put.status().IsNotFound()) return ReconcileResult::Retry(put.status());
  return ReconcileResult::Done();
}

ReconcileResult GarbageCollector::ProcessOwners(const Resource& r, const json& obj) {
  const std::string ns = MetaString(obj, "namespace");
  std::vector<std::string> gone;
  size_t owners = 0;
  for (const auto& ref : OwnerRefs(obj)) {
    ++owners;
    auto exists = OwnerExists(ref, ns);
    if (!exists.ok()) return ReconcileResult::Retry(exists.status());
    if (!*exists) gone.push_back(ref.value("uid", ""));
  }
  if (gone.empty()) return ReconcileResult::Done();
  const std::string path = ObjectPath(r, ns, MetaString(obj, "name"));
  if (gone.size() == owners) {
    if (!MetaString(obj, "deletionTimestamp").empty()) return ReconcileResult::Done();
    log::Debug("garbage collector: deleting a dependent whose owners are gone", {{"path", path}});
    auto del = ctx_.api->Delete(path, json{{"propagationPolicy", "Background"},
                                           {"preconditions", {{"uid", MetaString(obj, "uid")}}}});
    if (!del.ok() && !del.status().IsNotFound() && del.status().code() != Code::kConflict) {
      return ReconcileResult::Retry(del.status());
    }
    return ReconcileResult::Done();
  }
  auto put = ctx_.api->Update(path, WithoutOwners(obj, gone));
  if (!put.ok() && !put.status().IsNotFound()) return ReconcileResult::Retry(put.status());
  return ReconcileResult::Done();
}

}  // namespace capstan::controller::gc
