#include "api/resource_service.h"

#include <algorithm>

#include "api/errors.h"
#include "api/object_meta.h"
#include "api/patch/patch.h"
#include "api/resource_service_internal.h"
#include "api/stored_object_memo.h"

namespace capstan::api {

Status NotFoundError(const KindInfo& kind, const std::string& name) {
  return Status::NotFound(kind.resource_name() + " \"" + name + "\" not found");
}

Result<json> ApplyJsonPatchAsKubernetes(const json& document, const json& patch) {
  // The same bound as Kubernetes (maxJSONPatchOperations), which answers it with 413.
  constexpr size_t kMaxJsonPatchOperations = 10000;
  if (patch.is_array() && patch.size() > kMaxJsonPatchOperations) {
    return Status::TooLarge("The allowed maximum operations in a JSON patch is 10000, got " +
                            std::to_string(patch.size()));
  }
  auto r = ApplyJsonPatch(document, patch);
  // The patch library reports a failed "test" as kConflict; Kubernetes answers every failure to
  // apply a JSON patch (a failed test included) with 422, and clients such as kubectl treat 409
  // as "retry with a fresh object", which would loop on a test that can never pass.
  if (!r.ok() && r.status().IsConflict()) return Status::Invalid(r.status().message());
  return r;
}

bool HasFinalizers(const json& obj) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return false;
  auto f = m->find("finalizers");
  return f != m->end() && f->is_array() && !f->empty();
}

Status ConflictError(const KindInfo& kind, const std::string& name) {
  return Status::Conflict("Operation cannot be fulfilled on " + kind.resource_name() + " \"" + name +
                          "\": the object has been modified; please apply your changes to the latest version "
                          "and try again");
}

bool SameMembersExcept(const json& a, const json& b, std::initializer_list<std::string_view> skip) {
  if (!a.is_object() || !b.is_object()) return a == b;
  auto skipped = [&](const std::string& key) { return std::find(skip.begin(), skip.end(), key) != skip.end(); };
  auto ia = a.begin(), ib = b.begin();
  for (;;) {
    while (ia != a.end() && skipped(ia.key())) ++ia;
    while (ib != b.end() && skipped(ib.key())) ++ib;
    if (ia == a.end() || ib == b.end()) return ia == a.end() && ib == b.end();
    if (ia.key() != ib.key() || *ia != *ib) return false;
    ++ia;
    ++ib;
  }
}

namespace {

constexpr int kMaxConflictRetries = 16;

// What a spec change is, for metadata.generation: everything outside metadata and status.
bool SameSpec(const json& a, const json& b) {
  return SameMembersExcept(a, b, {"metadata", "status", "apiVersion", "kind"});
}

// A uid in the body of an update or patch must be the stored object's (Kubernetes' uid
// precondition). Callers check it before their conflict-retry loops: a different uid stays
// different however often the object is re-read.
Status CheckUidPrecondition(const json& next, const json& old) {
  std::string body_uid = next.is_object() ? MetaString(next, "uid") : "";
  if (!body_uid.empty() && body_uid != MetaString(old, "uid")) {
    return Status::Conflict("Precondition failed: UID in precondition: " + body_uid +
                            ", UID in object meta: " + MetaString(old, "uid"));
  }
  return Status::Ok();
}

// Kubernetes' ValidateObjectMetaUpdate: a deleting object may lose finalizers but gain none.
Status CheckNoNewFinalizers(const KindInfo& kind, const json& next, const json& old) {
  if (MetaString(old, "deletionTimestamp").empty() || !next["metadata"].contains("finalizers")) return Status::Ok();
  const json& now = next["metadata"]["finalizers"];
  const json& before = old["metadata"].contains("finalizers") ? old["metadata"]["finalizers"] : json::array();
  if (!now.is_array()) return Status::Ok();  // the schema check reports it
  for (const auto& f : now) {
    if (std::find(before.begin(), before.end(), f) == before.end()) {
      return InvalidObject(kind.kind, kind.group, MetaString(old, "name"),
                           {FieldError{"FieldValueForbidden", "metadata.finalizers",
                                       "Forbidden: no new finalizers can be added if the object is being deleted, "
                                       "found new finalizers " + json::array({f}).dump()}});
    }
  }
  return Status::Ok();
}

// Whether objects `a` and `b` both lack `name` or have equal values for it (no copy).
bool SameMember(const json& a, const json& b, const char* name) {
  auto ia = a.find(name), ib = b.find(name);
  if (ia == a.end() || ib == b.end()) return (ia == a.end()) == (ib == b.end());
  return *ia == *ib;
}

bool SameIgnoringRevision(const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) return a == b;
  if (!SameMembersExcept(a, b, {"metadata"})) return false;
  auto ma = a.find("metadata"), mb = b.find("metadata");
  if (ma == a.end() || mb == b.end()) return (ma == a.end()) == (mb == b.end());
  return SameMembersExcept(*ma, *mb, {"resourceVersion"});
}

}  // namespace

Status Invalid(const KindInfo& kind, const std::string& name, const FieldErrors& errors) {
  return InvalidObject(kind.kind, kind.group, name, errors);
}

// The body must name this kind (or leave apiVersion/kind out, which we fill in).
Status CheckTypeMeta(const KindInfo& kind, json& obj) {
  if (!obj.is_object()) return Status::BadRequest("the request body must be a JSON or YAML object");
  auto av = obj.find("apiVersion");
  auto k = obj.find("kind");
  if (av != obj.end() && !av->is_null() && (!av->is_string() || *av != kind.api_version())) {
    return Status::BadRequest("the API version in the data (" + (av->is_string() ? av->get<std::string>() : av->dump()) +
                              ") does not match the expected API version (" + kind.api_version() + ")");
  }
  if (k != obj.end() && !k->is_null() && (!k->is_string() || *k != kind.kind)) {
    return Status::BadRequest("the kind in the data (" + (k->is_string() ? k->get<std::string>() : k->dump()) +
                              ") does not match the expected kind (" + kind.kind + ")");
  }
  obj["apiVersion"] = kind.api_version();
  obj["kind"] = kind.kind;
  if (!obj.contains("metadata") || obj["metadata"].is_null()) obj["metadata"] = json::object();
  if (!obj["metadata"].is_object()) return Status::BadRequest("metadata must be an object");
  return Status::Ok();
}


Status ResourceService::Admit(const KindInfo& kind, json& obj, const json* old, bool status_only) {
  FieldErrors errors;
  status_only = status_only && old != nullptr;
  if (kind.schema && status_only) {
    // Everything but status is the stored object's, checked when it was written.
    const Field* status = kind.schema->FindField("status");
    auto it = obj.find("status");
    if (status != nullptr && status->schema != nullptr && it != obj.end()) {
      CheckStrict(*status->schema, *it, "status", &errors);
    }
  } else if (kind.schema) {
    CheckStrict(*kind.schema, obj, "", &errors);
  }
  if (!errors.empty()) return Invalid(kind, MetaString(obj, "name"), errors);
  if (kind.defaults) kind.defaults(obj);
  // Each kind's validate() checks metadata too (kinds differ in their name rules).
  if (status_only && kind.validate_status) kind.validate_status(obj, *old, &errors);
  else if (kind.validate) kind.validate(obj, old, &errors);
  if (!errors.empty()) return Invalid(kind, MetaString(obj, "name"), errors);
  for (const auto& plugin : admission_) {
    if (!plugin->Handles(kind)) continue;
    StoreObjectReader reader(this);
    plugin->Admit(kind, obj, old, reader, &errors);
    if (!errors.empty()) return Invalid(kind, MetaString(obj, "name"), errors);
  }
  return Status::Ok();
}

Result<json> ResourceService::Get(const KindInfo& kind, const std::string& ns, const std::string& name) {
  auto kv = store_->Get(StoreKey(kind, ns, name));
  if (!kv.ok()) return kv.status().IsNotFound() ? NotFoundError(kind, name) : kv.status();
  return DecodeRead(*kv);
}

ObjectRef ResourceService::HeldObject(const store::KeyValue& kv) {
  // The event of mod_revision for this key wrote exactly this value (both check the key: with
  // etcd one transaction writes several keys at one revision).
  if (ObjectRef obj = decoded_events_.Latest(kv.key, kv.mod_revision)) return obj;
  if (auto ev = decoded_events_.Peek(kv.mod_revision, kv.key); ev != nullptr && ev->ok()) return ev->cur();
  return nullptr;
}

Result<json> ResourceService::DecodeRead(const store::KeyValue& kv) {
  if (ObjectRef held = HeldObject(kv)) return json(*held);
  return DecodeStored(kv.value, kv.mod_revision);
}

Result<ObjectRef> ResourceService::ReadShared(const store::KeyValue& kv) {
  if (ObjectRef held = HeldObject(kv)) return held;
  auto decoded = DecodeStored(kv.value, kv.mod_revision);
  if (!decoded.ok()) return decoded.status();
  return ObjectRef(std::make_shared<const json>(std::move(*decoded)));
}

Status ResourceService::CheckNamespaceActive(const std::string& ns) {
  const KindInfo* nk = FindKind("", "v1", "namespaces");
  if (nk == nullptr) return Status::Ok();
  auto kv = store_->Get(StoreKey(*nk, "", ns));
  if (!kv.ok()) {
    if (kv.status().IsNotFound()) return Status::NotFound("namespaces \"" + ns + "\" not found");
    return kv.status();
  }
  // Every namespaced create asks: parse only a Namespace that may be terminating. In stored JSON
  // the quoted word appears only as a key (inside a string value its quotes are escaped).
  if (kv->value.find("\"deletionTimestamp\"") == std::string::npos) return Status::Ok();
  auto got = DecodeStored(kv->value, kv->mod_revision);
  if (!got.ok()) return got.status();
  if (!MetaString(*got, "deletionTimestamp").empty()) {
    return Status::Forbidden("unable to create new content in namespace " + ns + " because it is being terminated");
  }
  return Status::Ok();
}

Result<ListPage> ResourceService::List(const KindInfo& kind, const std::string& ns, const ListQuery& q) {
  std::vector<std::string> supported = {"metadata.name", "metadata.namespace"};
  supported.insert(supported.end(), kind.field_selectors.begin(), kind.field_selectors.end());
  CAPSTAN_RETURN_IF_ERROR(q.fields.CheckSupported(supported));

  const std::string prefix = StorePrefix(kind, ns);
  store::ListOptions lo;
  if (!q.continue_token.empty()) {
    // The token is "<revision>/<start key suffix>", base64-free: opaque to clients either way.
    auto slash = q.continue_token.find('/');
    int64_t rev = slash == std::string::npos ? -1 : ParseResourceVersion(q.continue_token.substr(0, slash));
    if (rev <= 0) return Status::BadRequest("continue key is not valid");
    lo.revision = rev;
    lo.start_key = prefix + q.continue_token.substr(slash + 1);
  }
  ListPage page;
  // Filtering happens after reading, so keep reading pages until the caller's limit is filled
  // or the prefix is exhausted (as Kubernetes' etcd3 storage does).
  for (;;) {
    lo.limit = q.limit > 0 ? std::max<int64_t>(q.limit - static_cast<int64_t>(page.size()), 1) : 0;
    auto lr = store_->List(prefix, lo);
    if (!lr.ok()) {
      if (lr.status().IsExpired()) {
        return Status::Expired("The provided continue parameter is too old to display a consistent list result. "
                               "You can start a new list without the continue parameter.");
      }
      return lr.status();
    }
    page.revision = lr->revision;
    lo.revision = lr->revision;
    const bool encoded = q.encoded_ok && q.labels.Empty() && q.fields.Empty();
    for (const auto& kv : lr->items) {
      if (encoded) {
        std::string text = EncodedWithResourceVersion(kv.value, kv.mod_revision);
        if (text.empty()) {  // not our usual shape: take the slow, certain way
          auto obj = DecodeStored(kv.value, kv.mod_revision);
          if (!obj.ok()) return obj.status();
          text = obj->dump(-1, ' ', false, json::error_handler_t::replace);
        }
        page.encoded.push_back(std::move(text));
        continue;
      }
      auto obj = DecodeStored(kv.value, kv.mod_revision);
      if (!obj.ok()) return obj.status();
      const json& o = *obj;
      auto labels = o["metadata"].find("labels");
      if (!q.labels.Matches(labels == o["metadata"].end() ? json(nullptr) : *labels)) continue;
      if (!q.fields.Empty() &&
          !q.fields.Matches([&](const std::string& f) { return FieldValue(o, f); })) {
        continue;
      }
      page.items.push_back(std::move(*obj));
    }
    if (lr->next_key.empty()) {
      page.remaining = 0;
      break;
    }
    if (q.limit > 0 && static_cast<int64_t>(page.size()) >= q.limit) {
      page.continue_token = std::to_string(lr->revision) + "/" + lr->next_key.substr(prefix.size());
      // With a selector the store's count includes objects that would be filtered out, and
      // Kubernetes leaves remainingItemCount unset then.
      page.remaining = q.labels.Empty() && q.fields.Empty() ? lr->remaining : -1;
      break;
    }
    lo.start_key = lr->next_key;
  }
  return page;
}

Result<ObjectRef> ResourceService::CommitUpdate(const KindInfo& kind, const std::string& key, const json& old,
                                                int64_t old_revision, json next, bool status_only,
                                                const WriteOptions& opts) {
  CAPSTAN_RETURN_IF_ERROR(CheckTypeMeta(kind, next));
  const json& old_meta = old["metadata"];
  json& meta = next["metadata"];
  const std::string name = MetaString(old, "name");
  if (MetaString(next, "name") != name) {
    return Status::BadRequest("the name of the object (" + MetaString(next, "name") +
                              ") does not match the name on the URL (" + name + ")");
  }
  CAPSTAN_RETURN_IF_ERROR(CheckUidPrecondition(next, old));
  // Set when `next` is known to equal `old` outside status (the no-op check below then compares
  // status alone).
  bool same_but_status = false;
  if (status_only) {
    // A /status write changes status and nothing else. The body is usually the stored object
    // with another status (a status patch; a PUT of the cached object): kept as it is then,
    // which saves a copy of the stored object per status write; comparing costs no allocation.
    same_but_status = SameMembersExcept(next, old, {"status", "metadata"}) && next.contains("metadata") &&
                      SameMembersExcept(next["metadata"], old_meta, {"resourceVersion"});
    if (!same_but_status) {
      json merged = old;
      if (next.contains("status")) merged["status"] = next["status"];
      else merged.erase("status");
      next = std::move(merged);
      same_but_status = true;
    }
  } else {
    if (kind.status_subresource) {
      if (old.contains("status")) next["status"] = old["status"];
      else next.erase("status");
    }
    // Server-owned metadata survives any client write.
    for (const char* f : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"}) {
      if (old_meta.contains(f)) meta[f] = old_meta[f];
      else meta.erase(f);
    }
    meta.erase("managedFields");
    if (kind.has_generation) meta["generation"] = old_meta.value("generation", int64_t{1});
    else meta.erase("generation");
  }
  next["metadata"].erase("resourceVersion");
  CAPSTAN_RETURN_IF_ERROR(CheckNoNewFinalizers(kind, next, old));

  CAPSTAN_RETURN_IF_ERROR(Admit(kind, next, &old, status_only));
  if (!status_only && kind.has_generation && !SameSpec(next, old)) {
    next["metadata"]["generation"] = old_meta.value("generation", int64_t{1}) + 1;
  }
  // A no-op write does not create a revision (Kubernetes returns the unchanged object).
  const bool no_op = same_but_status ? SameMember(next, old, "status") : SameIgnoringRevision(next, old);
  if (no_op) return std::make_shared<const json>(old);
  if (opts.dry_run) {
    next["metadata"]["resourceVersion"] = std::to_string(old_revision);
    return std::make_shared<const json>(std::move(next));
  }
  // The object was waiting for its finalizers, and the last one was just removed; or its grace
  // period is already 0 (Kubernetes' shouldDeleteDuringUpdate). A Pod in graceful deletion
  // (grace > 0, no finalizers) stays: its node agent deletes it once its containers stopped, and
  // status writes meanwhile (the load balancer's drain condition, docs/haproxy.md) must not end
  // it early.
  const bool grace_over = !old_meta.contains("deletionGracePeriodSeconds") ||
                          !old_meta["deletionGracePeriodSeconds"].is_number_integer() ||
                          old_meta["deletionGracePeriodSeconds"].get<int64_t>() == 0;
  if (!MetaString(next, "deletionTimestamp").empty() && !HasFinalizers(next) && (HasFinalizers(old) || grace_over)) {
    auto wr = store_->Delete(key, store::Precondition{old_revision});
    if (!wr.ok()) return wr.status();
    next["metadata"]["resourceVersion"] = std::to_string(wr->revision);
    return std::make_shared<const json>(std::move(next));
  }
  auto claims = ClaimOps(kind, next, key);
  if (!claims.ok()) return claims.status();
  // The object and its claims in one transaction; a claim taken meanwhile is a conflict, which
  // the callers' retry loops answer by admitting again (and then naming the winner).
  const bool claimed = !claims->empty();
  // The object goes with the write to its event, which shares it with the answer.
  auto written = std::make_shared<json>(std::move(next));
  std::vector<store::Op> ops{ObjectOp(store::Op::Kind::kUpdate, key, written, old_revision)};
  for (auto& op : *claims) ops.push_back(std::move(op));
  auto tr = store_->Txn(ops);
  if (!tr.ok()) {
    if (claimed && tr.status().IsAlreadyExists()) return ConflictError(kind, name);
    return tr.status();
  }
  return ObjectRef(std::move(written));  // stamped with its revision by the store
}

Result<json> ResourceService::Update(const KindInfo& kind, const std::string& ns, const std::string& name,
                                     const std::string& subresource, json obj, const WriteOptions& opts) {
  auto out = UpdateShared(kind, ns, name, subresource, std::move(obj), opts);
  if (!out.ok()) return out.status();
  return json(**out);
}

Result<json> ResourceService::Patch(const KindInfo& kind, const std::string& ns, const std::string& name,
                                    const std::string& subresource, PatchType type, const json& patch,
                                    const WriteOptions& opts) {
  auto out = PatchShared(kind, ns, name, subresource, type, patch, opts);
  if (!out.ok()) return out.status();
  return json(**out);
}

Result<ObjectRef> ResourceService::UpdateShared(const KindInfo& kind, const std::string& ns, const std::string& name,
                                                const std::string& subresource, json obj, const WriteOptions& opts) {
  const bool status_only = subresource == "status";
  if (!subresource.empty() && !status_only) return Status::NotFound("subresource " + subresource + " not found");
  if (status_only && !kind.status_subresource) return Status::NotFound(kind.resource_name() + "/status not found");
  if (!obj.is_object()) return Status::BadRequest("the request body must be an object");
  // Checked before reading the stored object, so a mismatch is 400 even when the URL's name
  // does not exist (Kubernetes' checkName in the update handler).
  if (MetaString(obj, "name") != name) {
    return Status::BadRequest("the name of the object (" + MetaString(obj, "name") +
                              ") does not match the name on the URL (" + name + ")");
  }
  if (kind.namespaced && !MetaString(obj, "namespace").empty() && MetaString(obj, "namespace") != ns) {
    return Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  const int64_t pinned = ParseResourceVersion(MetaString(obj, "resourceVersion"));
  if (pinned < 0) return Status::BadRequest("metadata.resourceVersion: Invalid value: not a resource version");
  const std::string key = StoreKey(kind, ns, name);
  // A pinned update is judged against the stored revision, never a guess.
  if (pinned == 0) {
    if (auto out = WriteOnGuess(key, [&](const json& current, int64_t revision) -> Result<ObjectRef> {
          CAPSTAN_RETURN_IF_ERROR(CheckUidPrecondition(obj, current));
          return CommitUpdate(kind, key, current, revision, obj, status_only, opts);
        })) {
      return std::move(*out);
    }
  }
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto kv = store_->Get(key);
    if (!kv.ok()) return kv.status().IsNotFound() ? NotFoundError(kind, name) : kv.status();
    if (pinned > 0 && pinned != kv->mod_revision) break;
    auto current = ReadShared(*kv);  // only read: shared, not copied
    if (!current.ok()) return current.status();
    CAPSTAN_RETURN_IF_ERROR(CheckUidPrecondition(obj, **current));
    auto out = CommitUpdate(kind, key, **current, kv->mod_revision, obj, status_only, opts);
    // A conflict on a pinned resourceVersion is the caller's to resolve; otherwise someone
    // wrote between our read and our write, and the update is retried on the new state.
    if (out.ok() || !out.status().IsConflict()) return out;
    if (pinned > 0) break;
  }
  return ConflictError(kind, name);
}

std::optional<Result<ObjectRef>> ResourceService::WriteOnGuess(
    const std::string& key, const std::function<Result<ObjectRef>(const json&, int64_t)>& write) {
  DecodedEventCache::Newest guess = decoded_events_.NewestOf(key);
  if (!guess.object) return std::nullopt;
  Result<ObjectRef> out = write(*guess.object, guess.revision);
  // Anything but a write that committed (a new revision) may be the guess's fault: a conflict
  // or a missing key (the store is ahead), a failed check or patch test, and a no-op or dry run
  // (the same answer from a stale object would hide a newer state).
  if (!out.ok() || MetaString(**out, "resourceVersion") == std::to_string(guess.revision)) return std::nullopt;
  return out;
}

Result<ObjectRef> ResourceService::PatchShared(const KindInfo& kind, const std::string& ns, const std::string& name,
                                               const std::string& subresource, PatchType type, const json& patch,
                                               const WriteOptions& opts) {
  const bool status_only = subresource == "status";
  if (!subresource.empty() && !status_only) return Status::NotFound("subresource " + subresource + " not found");
  if (status_only && !kind.status_subresource) return Status::NotFound(kind.resource_name() + "/status not found");
  const std::string key = StoreKey(kind, ns, name);
  bool raced = false;  // the write lost to another one: worth another read
  auto apply = [&](const json& current, int64_t revision) -> Result<ObjectRef> {
    raced = false;
    json next;
    switch (type) {
      case PatchType::kJson: {
        auto r = ApplyJsonPatchAsKubernetes(current, patch);
        if (!r.ok()) return r.status();
        next = std::move(*r);
        break;
      }
      case PatchType::kMerge:
        if (!patch.is_object()) return Status::BadRequest("a merge patch must be a JSON object");
        next = ApplyMergePatch(current, patch);
        break;
      case PatchType::kStrategic: {
        if (!patch.is_object()) return Status::BadRequest("a strategic merge patch must be a JSON object");
        auto r = ApplyStrategicMergePatch(current, patch, kind.schema.get());
        if (!r.ok()) return r.status();
        next = std::move(*r);
        break;
      }
    }
    // A resourceVersion inside the patch is a precondition, as in Kubernetes: the caller's to
    // resolve, not retried.
    const std::string rv = next.is_object() ? MetaString(next, "resourceVersion") : "";
    if (!rv.empty() && rv != std::to_string(revision)) return ConflictError(kind, name);
    CAPSTAN_RETURN_IF_ERROR(CheckUidPrecondition(next, current));
    auto out = CommitUpdate(kind, key, current, revision, std::move(next), status_only, opts);
    raced = !out.ok() && out.status().IsConflict();
    return out;
  };
  if (auto out = WriteOnGuess(key, apply)) return std::move(*out);
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    auto kv = store_->Get(key);
    if (!kv.ok()) return kv.status().IsNotFound() ? NotFoundError(kind, name) : kv.status();
    auto current = ReadShared(*kv);  // only read: shared, not copied
    if (!current.ok()) return current.status();
    auto out = apply(**current, kv->mod_revision);
    if (out.ok() || !raced) return out;
  }
  return Status::Conflict("Operation cannot be fulfilled on " + kind.resource_name() + " \"" + name +
                          "\": too many concurrent writers; try again");
}

}  // namespace capstan::api
