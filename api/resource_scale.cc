// The /scale subresource: an autoscaling/v1 Scale view of a kind's replicas (kubectl scale,
// autoscalers). Writes go through the normal update path, so generation, validation and
// conflicts behave as for any spec change.
#include "api/object_meta.h"
#include "api/patch/patch.h"
#include "api/resource_service.h"
#include "api/resource_service_internal.h"

namespace capstan::api {
namespace {

json ScaleOf(const KindInfo& kind, const json& obj) {
  const ScaleSpec& sp = *kind.scale;
  json scale = {{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}};
  json meta = json::object();
  for (const char* f : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    if (obj["metadata"].contains(f)) meta[f] = obj["metadata"][f];
  }
  scale["metadata"] = meta;
  json::json_pointer spec_p(sp.spec_replicas), status_p(sp.status_replicas), sel_p(sp.label_selector);
  scale["spec"] = {{"replicas", obj.contains(spec_p) ? obj[spec_p] : json(0)}};
  scale["status"] = {{"replicas", obj.contains(status_p) ? obj[status_p] : json(0)}};
  if (obj.contains(sel_p)) {
    auto sel = LabelSelector::FromObject(obj[sel_p]);
    if (sel.ok()) scale["status"]["selector"] = sel->ToString();
  }
  return scale;
}

}  // namespace

Result<json> ResourceService::GetScale(const KindInfo& kind, const std::string& ns, const std::string& name) {
  if (!kind.scale) return Status::NotFound(kind.resource_name() + "/scale not found");
  auto obj = Get(kind, ns, name);
  if (!obj.ok()) return obj.status();
  return ScaleOf(kind, *obj);
}

Result<json> ResourceService::UpdateScale(const KindInfo& kind, const std::string& ns, const std::string& name,
                                          std::optional<PatchType> patch_type, const json& body,
                                          const WriteOptions& opts) {
  if (!kind.scale) return Status::NotFound(kind.resource_name() + "/scale not found");
  const std::string key = StoreKey(kind, ns, name);
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto current = Get(kind, ns, name);
    if (!current.ok()) return current.status();
    json scale = ScaleOf(kind, *current);
    json desired;
    if (!patch_type) {
      desired = body;
    } else if (*patch_type == PatchType::kJson) {
      auto r = ApplyJsonPatchAsKubernetes(scale, body);
      if (!r.ok()) return r.status();
      desired = std::move(*r);
    } else {
      desired = ApplyMergePatch(scale, body);  // Scale has no merge-keyed lists
    }
    auto replicas = desired.contains("spec") ? desired["spec"].value("replicas", json()) : json();
    if (!replicas.is_number_integer()) {
      return Status::Invalid("Scale.autoscaling \"" + name + "\" is invalid: spec.replicas: Required value");
    }
    if (replicas.get<int64_t>() < 0) {
      return Status::Invalid("Scale.autoscaling \"" + name + "\" is invalid: spec.replicas: Invalid value: " +
                             replicas.dump() + ": must be greater than or equal to 0");
    }
    std::string rv = MetaString(desired, "resourceVersion");
    if (!rv.empty() && rv != MetaString(*current, "resourceVersion")) return ConflictError(kind, name);
    json next = *current;
    next[json::json_pointer(kind.scale->spec_replicas)] = replicas;
    auto out = Update(kind, ns, name, "", next, opts);
    if (!out.ok()) {
      if (out.status().IsConflict() && rv.empty()) continue;
      return out.status();
    }
    return ScaleOf(kind, *out);
  }
  return ConflictError(kind, name);
}

}  // namespace capstan::api
