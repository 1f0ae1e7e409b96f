// The binding subresource (pods/binding): how a scheduler assigns a Pod to a Node. A Binding
// sets spec.nodeName once, atomically with the Pod's revision, so two schedulers racing for the
// same Pod cannot both win: the loser gets 409 Conflict, as in Kubernetes.
#include "api/errors.h"
#include "api/object_meta.h"
#include "api/resource_service.h"
#include "api/resource_service_internal.h"
#include "api/stored_object_memo.h"

namespace capstan::api {
namespace {

// Sets condition `type` in status.conditions, keeping lastTransitionTime when the status did not
// change (Kubernetes' condition semantics).
void SetCondition(json& obj, const std::string& type, const std::string& status, const std::string& now) {
  json& st = obj["status"];
  if (!st.is_object()) st = json::object();
  json& conditions = st["conditions"];
  if (!conditions.is_array()) conditions = json::array();
  for (auto& c : conditions) {
    if (c.is_object() && c.value("type", "") == type) {
      if (c.value("status", "") != status) c["lastTransitionTime"] = now;
      c["status"] = status;
      c.erase("reason");
      c.erase("message");
      c["lastProbeTime"] = nullptr;
      return;
    }
  }
  conditions.push_back({{"type", type}, {"status", status}, {"lastProbeTime", nullptr}, {"lastTransitionTime", now}});
}

}  // namespace

Status ResourceService::Bind(const KindInfo& kind, const std::string& ns, const std::string& name,
                             const json& binding, const WriteOptions& opts) {
  if (!kind.binding_subresource) return Status::NotFound(kind.resource_name() + "/binding not found");
  if (!binding.is_object()) return Status::BadRequest("the request body must be a Binding object");
  if (binding.contains("kind") && binding["kind"] != "Binding") {
    return Status::BadRequest("the kind in the data does not match the expected kind (Binding)");
  }
  FieldErrors errors;
  const json target = binding.value("target", json::object());
  const std::string node = target.is_object() && target.value("name", json()).is_string()
                               ? target["name"].get<std::string>() : "";
  if (node.empty()) errors.push_back({"FieldValueRequired", "target.name", "Required value"});
  if (target.is_object() && target.contains("kind") && target["kind"] != "Node" && target["kind"] != "") {
    errors.push_back({"FieldValueNotSupported", "target.kind", "Unsupported value: " + target["kind"].dump() +
                                                                 ": supported values: \"Node\""});
  }
  const std::string body_name = binding.contains("metadata") && binding["metadata"].is_object()
                                    ? MetaString(binding, "name") : "";
  if (!body_name.empty() && body_name != name) {
    errors.push_back({"FieldValueInvalid", "metadata.name", "Invalid value: \"" + body_name +
                                                                "\": must match the name of the pod (" + name + ")"});
  }
  if (!errors.empty()) return InvalidObject("Binding", "", name, errors);
  const std::string key = StoreKey(kind, ns, name);
  bool raced = false;  // the write lost to another one: worth another read
  auto bind = [&](const json& pod, int64_t revision) -> Result<ObjectRef> {
    raced = false;
    // The scheduler names the uid it decided for: a Pod deleted and recreated under the same name
    // meanwhile is another Pod, and the decision does not hold for it.
    const std::string body_uid = binding.contains("metadata") && binding["metadata"].is_object()
                                     ? MetaString(binding, "uid") : "";
    if (!body_uid.empty() && body_uid != MetaString(pod, "uid")) {
      return Status::Conflict("Precondition failed: UID in precondition: " + body_uid +
                              ", UID in object meta: " + MetaString(pod, "uid"));
    }
    if (!MetaString(pod, "deletionTimestamp").empty()) {
      return Status::Conflict("pod " + name + " is being deleted, cannot be assigned to a host");
    }
    auto spec = pod.find("spec");
    const std::string bound = spec != pod.end() && spec->is_object() ? spec->value("nodeName", "") : "";
    if (!bound.empty()) return Status::Conflict("pod " + name + " is already assigned to node \"" + bound + "\"");
    if (opts.dry_run) return std::make_shared<const json>(pod);  // unchanged: no new revision
    auto next = std::make_shared<json>(pod);
    (*next)["spec"]["nodeName"] = node;
    SetCondition(*next, "PodScheduled", "True", NowRfc3339());
    // The watches take the bound Pod from the write, without a parse (stored_object_memo.h).
    auto wr = store_->Txn({ObjectOp(store::Op::Kind::kUpdate, key, next, revision)});
    if (!wr.ok()) {
      raced = wr.status().code() == Code::kConflict;
      return wr.status();
    }
    return ObjectRef(std::move(next));
  };
  if (auto out = WriteOnGuess(key, bind)) return Status::Ok();
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto kv = store_->Get(key);
    if (!kv.ok()) return kv.status().IsNotFound() ? NotFoundError(kind, name) : kv.status();
    auto pod = ReadShared(*kv);
    if (!pod.ok()) return pod.status();
    auto out = bind(**pod, kv->mod_revision);
    if (out.ok()) return Status::Ok();
    if (!raced) return out.status();
  }
  return ConflictError(kind, name);
}

}  // namespace capstan::api
