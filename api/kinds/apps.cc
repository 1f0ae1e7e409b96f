// apps/v1 Deployment and ReplicaSet: a selector (required, non-empty, immutable), a pod template
// whose labels it must match, replicas (with /scale), and kubectl's tables.
//
// Defaults as Kubernetes' SetDefaults_Deployment / SetDefaults_ReplicaSet plus the pod template
// defaults; status is cleared on create; metadata.generation counts spec changes.
#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/pod_spec.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"
#include "api/selector/selector.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr char kApps[] = "io.k8s.api.apps.v1.";
std::string Ref(const char* name) { return std::string(kApps) + name; }

SchemaPtr DeploymentSchema() {
  auto rolling = Object(Ref("RollingUpdateDeployment"),
                        {F("maxUnavailable", IntOrString("Pods that can be unavailable during the update. Defaults to 25%.")),
                         F("maxSurge", IntOrString("Pods that can be created above the desired count. Defaults to 25%."))});
  // The strategy is patched with retainKeys, so switching to Recreate drops rollingUpdate.
  auto strategy = Tweak(Object(Ref("DeploymentStrategy"),
                               {F("type", String("Recreate or RollingUpdate. Defaults to RollingUpdate.")),
                                F("rollingUpdate", rolling)}),
                        [](Schema& sc) { sc.patch_strategy = "retainKeys"; });
  auto spec = Object(Ref("DeploymentSpec"),
                     {F("replicas", Int32("Number of desired pods. Defaults to 1.")),
                      R("selector", LabelSelectorSchema()),
                      R("template", PodTemplateSpecSchema()),
                      F("strategy", strategy),
                      F("minReadySeconds", Int32()),
                      F("revisionHistoryLimit", Int32("Old ReplicaSets to retain. Defaults to 10.")),
                      F("paused", Bool()),
                      F("progressDeadlineSeconds", Int32("Defaults to 600."))});
  auto condition = ConditionSchema(Ref("DeploymentCondition"), {F("lastUpdateTime", Time())});
  auto status = Object(Ref("DeploymentStatus"),
                       {F("observedGeneration", Integer()), F("replicas", Int32()), F("updatedReplicas", Int32()),
                        F("readyReplicas", Int32()), F("availableReplicas", Int32()),
                        F("unavailableReplicas", Int32()), F("terminatingReplicas", Int32()),
                        F("conditions", ConditionsArray(condition)), F("collisionCount", Int32())});
  return KindSchema(Ref("Deployment"), {F("spec", spec), F("status", status)},
                    "Deployment enables declarative updates for Pods and ReplicaSets.");
}

SchemaPtr ReplicaSetSchema() {
  auto spec = Object(Ref("ReplicaSetSpec"),
                     {F("replicas", Int32("Number of desired pods. Defaults to 1.")),
                      F("minReadySeconds", Int32()),
                      R("selector", LabelSelectorSchema()),
                      F("template", PodTemplateSpecSchema())});
  auto condition = ConditionSchema(Ref("ReplicaSetCondition"));
  auto status = Object(Ref("ReplicaSetStatus"),
                       {F("replicas", Int32()), F("fullyLabeledReplicas", Int32()), F("readyReplicas", Int32()),
                        F("availableReplicas", Int32()), F("terminatingReplicas", Int32()),
                        F("observedGeneration", Integer()), F("conditions", ConditionsArray(condition))});
  return KindSchema(Ref("ReplicaSet"), {F("spec", spec), F("status", status)},
                    "ReplicaSet ensures that a specified number of pod replicas are running at any given time.");
}

void SetIfUnset(json& obj, const char* key, json value) {
  if (obj.find(key) == obj.end() || obj[key].is_null()) obj[key] = std::move(value);
}

void DefaultDeployment(json& obj) {
  json& spec = Ensure(obj, "spec");
  SetIfUnset(spec, "replicas", 1);
  json& strategy = Ensure(spec, "strategy");
  if (GetString(strategy, "type").empty()) strategy["type"] = "RollingUpdate";
  if (GetString(strategy, "type") == "RollingUpdate") {
    json& ru = Ensure(strategy, "rollingUpdate");
    SetIfUnset(ru, "maxUnavailable", "25%");
    SetIfUnset(ru, "maxSurge", "25%");
  }
  SetIfUnset(spec, "revisionHistoryLimit", 10);
  SetIfUnset(spec, "progressDeadlineSeconds", 600);
  DefaultPodTemplateSpec(spec["template"]);
}

void DefaultReplicaSet(json& obj) {
  json& spec = Ensure(obj, "spec");
  SetIfUnset(spec, "replicas", 1);
  DefaultPodTemplateSpec(spec["template"]);
}

void ClearStatus(json& obj) { obj["status"] = json::object(); }

// ValidatePositiveIntOrPercent; returns the value (percent or count) for the both-zero check.
int64_t ValidateIntOrPercent(const json* v, const std::string& path, FieldErrors* errors) {
  if (v == nullptr) return 0;
  if (v->is_string()) {
    auto pct = ParsePercent(v->get<std::string>());
    if (!pct) {
      AddInvalid(errors, path, *v,
                 "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
                 "regex used for validation is '[0-9]+%')");
      return -1;
    }
    return *pct;
  }
  int64_t n = v->is_number() ? v->get<int64_t>() : 0;
  if (n < 0) AddInvalid(errors, path, n, "must be greater than or equal to 0");
  return n;
}

void ValidateStrategy(const json& strategy, const std::string& path, FieldErrors* errors) {
  std::string type = GetString(strategy, "type");
  const json* ru = Get(strategy, "rollingUpdate");
  if (type == "Recreate") {
    if (ru != nullptr) {
      AddForbidden(errors, Child(path, "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'");
    }
  } else if (type == "RollingUpdate") {
    if (ru == nullptr) {
      AddRequired(errors, Child(path, "rollingUpdate"), "this should be defaulted and never be nil");
      return;
    }
    std::string rp = Child(path, "rollingUpdate");
    const json* mu = Get(*ru, "maxUnavailable");
    int64_t unavailable = ValidateIntOrPercent(mu, Child(rp, "maxUnavailable"), errors);
    int64_t surge = ValidateIntOrPercent(Get(*ru, "maxSurge"), Child(rp, "maxSurge"), errors);
    if (unavailable == 0 && surge == 0) {
      AddInvalid(errors, Child(rp, "maxUnavailable"), mu != nullptr ? *mu : json(0), "may not be 0 when `maxSurge` is 0");
    }
    if (mu != nullptr && mu->is_string() && unavailable > 100) {
      AddInvalid(errors, Child(rp, "maxUnavailable"), *mu, "must not be greater than 100%");
    }
  } else {
    AddNotSupported(errors, Child(path, "type"), type, {"Recreate", "RollingUpdate"});
  }
}

// The part shared by Deployment and ReplicaSet specs: replicas, selector, template.
void ValidateWorkloadSpec(const json& spec, const std::string& path, FieldErrors* errors) {
  CheckNonNegative(spec, "replicas", path, errors);
  CheckNonNegative(spec, "minReadySeconds", path, errors);
  std::string sp = Child(path, "selector");
  const json* selector = Get(spec, "selector");
  Result<LabelSelector> parsed = Status::Invalid("no selector");
  if (selector == nullptr) {
    AddRequired(errors, sp);
  } else {
    size_t before = errors->size();
    ValidateLabelSelector(*selector, sp, errors);
    size_t terms = 0;
    if (const json* ml = Get(*selector, "matchLabels"); ml != nullptr && ml->is_object()) terms += ml->size();
    terms += GetArray(*selector, "matchExpressions").size();
    if (terms == 0) AddInvalid(errors, sp, *selector, "empty selector is invalid for deployment");
    if (errors->size() == before) {
      parsed = LabelSelector::FromObject(*selector);
      if (!parsed.ok()) AddInvalid(errors, sp, *selector, "invalid label selector");
    }
  }
  std::string tp = Child(path, "template");
  const json* tmpl = Get(spec, "template");
  if (tmpl == nullptr) {
    AddRequired(errors, tp);
    return;
  }
  static const json kEmpty = json::object();
  const json* meta = Get(*tmpl, "metadata");
  const json* labels = meta != nullptr ? Get(*meta, "labels") : nullptr;
  if (parsed.ok() && !parsed->Empty() && !parsed->Matches(labels != nullptr ? *labels : kEmpty)) {
    AddInvalid(errors, Child(Child(tp, "metadata"), "labels"), labels != nullptr ? *labels : json(),
               "`selector` does not match template `labels`");
  }
  ValidatePodTemplateSpec(*tmpl, tp, errors);
  const json* pod_spec = Get(*tmpl, "spec");
  std::string restart = pod_spec != nullptr ? GetString(*pod_spec, "restartPolicy") : "";
  if (restart != "Always") AddNotSupported(errors, Child(Child(tp, "spec"), "restartPolicy"), restart, {"Always"});
  if (pod_spec != nullptr && Get(*pod_spec, "activeDeadlineSeconds") != nullptr) {
    AddInvalid(errors, Child(Child(tp, "spec"), "activeDeadlineSeconds"), (*pod_spec)["activeDeadlineSeconds"],
               "activeDeadlineSeconds in ReplicaSet is not Supported");
  }
}

void ValidateSelectorUnchanged(const json& obj, const json* old, FieldErrors* errors) {
  if (old == nullptr) return;
  const json* spec = Get(obj, "spec");
  const json* old_spec = Get(*old, "spec");
  const json* sel = spec != nullptr ? Get(*spec, "selector") : nullptr;
  const json* old_sel = old_spec != nullptr ? Get(*old_spec, "selector") : nullptr;
  bool same = (sel == nullptr || old_sel == nullptr) ? sel == old_sel : *sel == *old_sel;
  if (!same) AddInvalid(errors, "spec.selector", sel != nullptr ? *sel : json(), "field is immutable");
}

void ValidateStatusCounts(const json& obj, std::initializer_list<const char*> fields, FieldErrors* errors) {
  const json* status = Get(obj, "status");
  if (status == nullptr) return;
  for (const char* f : fields) CheckNonNegative(*status, f, "status", errors);
}

void ValidateDeploymentCounts(const json& obj, FieldErrors* errors) {
  ValidateStatusCounts(obj,
                       {"observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                        "unavailableReplicas", "collisionCount"},
                       errors);
}

void ValidateReplicaSetCounts(const json& obj, FieldErrors* errors) {
  ValidateStatusCounts(
      obj, {"observedGeneration", "replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"}, errors);
}

// /status writes: the spec and its template are the stored ones; only the counts are new.
void ValidateDeploymentStatus(const json& obj, const json& /*old*/, FieldErrors* errors) {
  ValidateDeploymentCounts(obj, errors);
}

void ValidateReplicaSetStatus(const json& obj, const json& /*old*/, FieldErrors* errors) {
  ValidateReplicaSetCounts(obj, errors);
}

void ValidateDeployment(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  static const json kEmpty = json::object();
  const json* spec_p = Get(obj, "spec");
  const json& spec = spec_p != nullptr ? *spec_p : kEmpty;
  ValidateWorkloadSpec(spec, "spec", errors);
  if (const json* strategy = Get(spec, "strategy")) ValidateStrategy(*strategy, "spec.strategy", errors);
  CheckNonNegative(spec, "revisionHistoryLimit", "spec", errors);
  if (const json* pds = Get(spec, "progressDeadlineSeconds")) {
    CheckNonNegative(spec, "progressDeadlineSeconds", "spec", errors);
    if (GetInt(spec, "progressDeadlineSeconds") <= GetInt(spec, "minReadySeconds")) {
      AddInvalid(errors, "spec.progressDeadlineSeconds", *pds, "must be greater than minReadySeconds");
    }
  }
  ValidateSelectorUnchanged(obj, old, errors);
  ValidateDeploymentCounts(obj, errors);
}

void ValidateReplicaSet(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  static const json kEmpty = json::object();
  const json* spec_p = Get(obj, "spec");
  ValidateWorkloadSpec(spec_p != nullptr ? *spec_p : kEmpty, "spec", errors);
  ValidateSelectorUnchanged(obj, old, errors);
  ValidateReplicaSetCounts(obj, errors);
}

// ---- Printing -------------------------------------------------------------------------------------

const json& Spec(const json& o) {
  static const json kEmpty = json::object();
  const json* s = Get(o, "spec");
  return s != nullptr ? *s : kEmpty;
}

int64_t StatusInt(const json& o, const char* field) {
  const json* st = Get(o, "status");
  return st != nullptr ? GetInt(*st, field) : 0;
}

// layoutContainerCells: names and images of the template's containers, comma-joined.
std::string ContainersCell(const json& o, const char* field) {
  const json* tmpl = Get(Spec(o), "template");
  const json* ps = tmpl != nullptr ? Get(*tmpl, "spec") : nullptr;
  std::string out;
  if (ps == nullptr) return out;
  const json& cs = GetArray(*ps, "containers");
  for (size_t i = 0; i < cs.size(); ++i) out += (i ? "," : "") + GetString(cs[i], field);
  return out;
}

json SelectorCell(const json& o) {
  const json* sel = Get(Spec(o), "selector");
  if (sel == nullptr) return "<none>";
  auto parsed = LabelSelector::FromObject(*sel);
  return parsed.ok() ? parsed->ToString() : "<invalid>";
}

std::vector<PrinterColumn> WideColumns() {
  return {PrinterColumn{"Containers", "string", "", 1, "Names of each container in the template.",
                        [](const json& o) -> json { return ContainersCell(o, "name"); }},
          PrinterColumn{"Images", "string", "", 1, "Images referenced by each container in the template.",
                        [](const json& o) -> json { return ContainersCell(o, "image"); }},
          PrinterColumn{"Selector", "string", "", 1, "Label selector for pods.", SelectorCell}};
}

void RegisterDeployment() {
  KindInfo k;
  k.group = "apps";
  k.version = "v1";
  k.kind = "Deployment";
  k.plural = "deployments";
  k.singular = "deployment";
  k.short_names = {"deploy"};
  k.categories = {"all"};
  k.status_subresource = true;
  k.scale = ScaleSpec{};
  k.has_generation = true;
  k.schema = DeploymentSchema();
  k.defaults = DefaultDeployment;
  k.prepare_create = ClearStatus;
  k.validate = ValidateDeployment;
  k.validate_status = ValidateDeploymentStatus;
  k.columns = {
      PrinterColumn{"Ready", "string", "", 0, "Number of the pod with ready state",
                    [](const json& o) -> json {
                      return std::to_string(StatusInt(o, "readyReplicas")) + "/" +
                             std::to_string(GetInt(Spec(o), "replicas", 1));
                    }},
      PrinterColumn{"Up-to-date", "integer", "", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
                    [](const json& o) -> json { return StatusInt(o, "updatedReplicas"); }},
      PrinterColumn{"Available", "integer", "", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
                    [](const json& o) -> json { return StatusInt(o, "availableReplicas"); }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  for (auto& c : WideColumns()) k.columns.push_back(std::move(c));
  RegisterKind(std::move(k));
}

void RegisterReplicaSet() {
  KindInfo k;
  k.group = "apps";
  k.version = "v1";
  k.kind = "ReplicaSet";
  k.plural = "replicasets";
  k.singular = "replicaset";
  k.short_names = {"rs"};
  k.categories = {"all"};
  k.status_subresource = true;
  k.scale = ScaleSpec{};
  k.has_generation = true;
  k.schema = ReplicaSetSchema();
  k.defaults = DefaultReplicaSet;
  k.prepare_create = ClearStatus;
  k.validate = ValidateReplicaSet;
  k.validate_status = ValidateReplicaSetStatus;
  k.field_selectors = {"status.replicas"};
  k.columns = {
      PrinterColumn{"Desired", "integer", "", 0, "Number of desired pods.",
                    [](const json& o) -> json { return GetInt(Spec(o), "replicas", 1); }},
      PrinterColumn{"Current", "integer", "", 0, "Number of actual pods.",
                    [](const json& o) -> json { return StatusInt(o, "replicas"); }},
      PrinterColumn{"Ready", "integer", "", 0, "Number of ready pods.",
                    [](const json& o) -> json { return StatusInt(o, "readyReplicas"); }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  for (auto& c : WideColumns()) k.columns.push_back(std::move(c));
  RegisterKind(std::move(k));
}

}  // namespace

void RegisterApps() {
  RegisterDeployment();
  RegisterReplicaSet();
}

}  // namespace capstan::api::kinds
