// v1 Namespace: cluster-scoped, DNS-1123 label names, status.phase Active/Terminating.
//
// Defaults and create-time behaviour as Kubernetes: the kubernetes.io/metadata.name label always
// equals the name; status starts as {phase: Active}; spec.finalizers gains "kubernetes" on create
// (the namespace lifecycle controller removes it once the namespace is empty).
#include <algorithm>

#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

SchemaPtr NamespaceSchema() {
  auto spec = Object("io.k8s.api.core.v1.NamespaceSpec",
                     {F("finalizers", AtomicArray(String(), "Must be empty before the namespace is removed."))});
  auto condition = ConditionSchema("io.k8s.api.core.v1.NamespaceCondition");
  auto status = Object("io.k8s.api.core.v1.NamespaceStatus",
                       {F("phase", String("Active or Terminating.")), F("conditions", ConditionsArray(condition))});
  return KindSchema("io.k8s.api.core.v1.Namespace", {F("spec", spec), F("status", status)},
                    "Namespace provides a scope for Names.");
}

void Defaults(json& obj) {
  json& meta = Ensure(obj, "metadata");
  std::string name = GetString(meta, "name");
  // Nameless (generateName) namespaces get the label once named, on the next write.
  if (!name.empty()) Ensure(meta, "labels")["kubernetes.io/metadata.name"] = name;
  json& status = Ensure(obj, "status");
  if (GetString(status, "phase").empty()) status["phase"] = "Active";
}

void PrepareCreate(json& obj) {
  obj["status"] = json{{"phase", "Active"}};
  json& spec = Ensure(obj, "spec");
  if (!spec.contains("finalizers") || !spec["finalizers"].is_array()) spec["finalizers"] = json::array();
  json& fin = spec["finalizers"];
  if (std::find(fin.begin(), fin.end(), json("kubernetes")) == fin.end()) fin.push_back("kubernetes");
}

void Validate(const json& obj, const json* /*old*/, FieldErrors* errors) {
  ValidateMetadataOf(obj, /*namespaced=*/false, errors, NameRule::kLabel);
  const json* spec = Get(obj, "spec");
  const json& fin = spec != nullptr ? GetArray(*spec, "finalizers") : GetArray(json(), "");
  for (const json& f : fin) {
    if (!f.is_string()) continue;
    const std::string& name = f.get_ref<const std::string&>();
    AddInvalidEach(errors, "spec.finalizers", name, CheckQualifiedName(name));
    if (name.find('/') == std::string::npos && name != "kubernetes" && name != "orphan" &&
        name != "foregroundDeletion") {
      AddInvalid(errors, "spec.finalizers", name, "name is neither a standard finalizer name nor is it fully qualified");
    }
  }
  const json* status = Get(obj, "status");
  std::string phase = status != nullptr ? GetString(*status, "phase") : "";
  if (!phase.empty() && phase != "Active" && phase != "Terminating") {
    AddNotSupported(errors, "status.phase", phase, {"Active", "Terminating"});
  }
}

}  // namespace

void RegisterNamespace() {
  KindInfo k;
  k.version = "v1";
  k.kind = "Namespace";
  k.plural = "namespaces";
  k.singular = "namespace";
  k.short_names = {"ns"};
  k.namespaced = false;
  k.status_subresource = true;
  k.schema = NamespaceSchema();
  k.defaults = Defaults;
  k.prepare_create = PrepareCreate;
  k.validate = Validate;
  k.field_selectors = {"status.phase"};
  k.columns = {PrinterColumn{"Status", "string", "", 0, "The status of the namespace",
                             [](const json& o) -> json {
                               const json* st = Get(o, "status");
                               return st != nullptr ? GetString(*st, "phase") : "";
                             }}};
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
