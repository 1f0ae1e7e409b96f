// ResourceService::ClaimOps and the store-backed ObjectReader of admission plugins (see
// api/admission.h for the claim protocol).
#include <set>

#include "api/object_meta.h"
#include "api/resource_service.h"
#include "api/resource_service_internal.h"

namespace capstan::api {

std::string ClaimValue(const std::string& holder_key, const std::string& holder_uid) {
  return json{{"holder", holder_key}, {"uid", holder_uid}}.dump();
}

Result<json> StoreObjectReader::Get(const KindInfo& kind, const std::string& ns, const std::string& name) {
  return service_->Get(kind, ns, name);
}

Result<std::vector<json>> StoreObjectReader::List(const KindInfo& kind, const std::string& ns) {
  ListQuery q;
  auto page = service_->List(kind, ns, q);
  if (!page.ok()) return page.status();
  return std::move(page->items);
}

namespace {

// Whether the object stored at `holder_key` still exists as `uid` and claims `claim`.
Result<bool> StillHeld(store::Store* store, const std::vector<std::shared_ptr<AdmissionPlugin>>& plugins,
                       const std::string& holder_key, const std::string& uid, const std::string& claim,
                       json* holder) {
  auto kv = store->Get(holder_key);
  if (!kv.ok()) return kv.status().IsNotFound() ? Result<bool>(false) : Result<bool>(kv.status());
  auto obj = DecodeStored(kv->value, kv->mod_revision);
  if (!obj.ok() || MetaString(*obj, "uid") != uid) return false;
  const KindInfo* kind = FindKindByKind(obj->value("apiVersion", ""), obj->value("kind", ""));
  if (kind == nullptr) return false;
  for (const auto& plugin : plugins) {
    if (!plugin->Handles(*kind)) continue;
    for (const Claim& c : plugin->Claims(*kind, *obj)) {
      if (c.key == claim) {
        *holder = std::move(*obj);
        return true;
      }
    }
  }
  return false;
}

}  // namespace

Result<std::vector<store::Op>> ResourceService::ClaimOps(const KindInfo& kind, const json& obj,
                                                         const std::string& key) {
  std::vector<store::Op> ops;
  FieldErrors errors;
  std::set<std::string> seen;
  const std::string uid = MetaString(obj, "uid");
  for (const auto& plugin : admission_) {
    if (!plugin->Handles(kind)) continue;
    for (const Claim& c : plugin->Claims(kind, obj)) {
      if (!seen.insert(c.key).second) continue;
      store::Op op;
      op.key = kClaimPrefix + c.key;
      op.value = ClaimValue(key, uid);
      auto kv = store_->Get(op.key);
      if (!kv.ok()) {
        if (!kv.status().IsNotFound()) return kv.status();
        op.kind = store::Op::Kind::kCreate;
        ops.push_back(std::move(op));
        continue;
      }
      json current = json::parse(kv->value, nullptr, /*allow_exceptions=*/false);
      const std::string holder_key = current.is_object() ? current.value("holder", "") : "";
      const std::string holder_uid = current.is_object() ? current.value("uid", "") : "";
      if (holder_key != key || holder_uid != uid) {
        json holder;
        auto held = StillHeld(store_, admission_, holder_key, holder_uid, c.key, &holder);
        if (!held.ok()) return held.status();
        if (*held) {
          std::string who = MetaString(holder, "namespace");
          who += (who.empty() ? "" : "/") + MetaString(holder, "name");
          errors.push_back(FieldError{"FieldValueInvalid", c.field,
                                      "Invalid value: " + c.value.dump() + ": " + c.detail + " " +
                                          holder.value("kind", "") + " " + who});
          continue;
        }
      }
      // Ours already, or left behind by a holder that is gone or changed: (re)written under a
      // precondition, so a concurrent claimant cannot take it in between.
      op.kind = store::Op::Kind::kUpdate;
      op.pre = store::Precondition{kv->mod_revision};
      ops.push_back(std::move(op));
    }
  }
  if (!errors.empty()) return Invalid(kind, MetaString(obj, "name"), errors);
  return ops;
}

}  // namespace capstan::api
