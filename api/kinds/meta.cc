#include "api/kinds/meta.h"

#include <cctype>

#include "api/kinds/validation.h"

namespace capstan::api::kinds {

using namespace s;  // NOLINT: schema builders read as a DSL

SchemaPtr Tweak(const SchemaPtr& base, const std::function<void(Schema&)>& edit) {
  auto copy = std::make_shared<Schema>(*base);
  edit(*copy);
  return copy;
}

SchemaPtr OwnerReferenceSchema() {
  static const SchemaPtr kSchema = Object(
      "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
      {R("apiVersion", String("API version of the referent.")),
       R("kind", String("Kind of the referent.")),
       R("name", String("Name of the referent.")),
       R("uid", String("UID of the referent.")),
       F("controller", Bool("If true, this reference points to the managing controller.")),
       F("blockOwnerDeletion", Bool("If true, the owner cannot be deleted from the key-value store until "
                                    "this reference is removed (foreground deletion)."))},
      "OwnerReference contains enough information to let you identify an owning object.");
  return kSchema;
}

SchemaPtr ObjectMetaSchema() {
  static const SchemaPtr kSchema = [] {
    auto finalizers = Tweak(Array(String(), "Must be empty before the object is deleted from the registry.", "",
                                  "merge"),
                            [](Schema& sc) { sc.list_type = "set"; });
    return Object(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        {F("name", String("Name must be unique within a namespace.")),
         F("generateName", String("An optional prefix used by the server to generate a unique name.")),
         F("namespace", String("The namespace of the object; empty for cluster-scoped kinds.")),
         F("selfLink", String("Deprecated; not set by Capstan.")),
         F("uid", String("Unique in time and space; set by the server.")),
         F("resourceVersion", String("The version of this object, for optimistic concurrency.")),
         F("generation", Integer("A sequence number of the desired state; set by the server.")),
         F("creationTimestamp", Time("When the object was created; set by the server.")),
         F("deletionTimestamp", Time("When the object will be deleted; set by the server.")),
         F("deletionGracePeriodSeconds", Integer("Seconds allowed for graceful termination.")),
         F("labels", StringMap("Map of string keys and values used to organize and select objects.")),
         F("annotations", StringMap("Unstructured key value map stored with the object.")),
         F("ownerReferences", Array(OwnerReferenceSchema(), "Objects this object depends on.", "uid")),
         F("finalizers", finalizers),
         F("managedFields", Any("Server-side apply bookkeeping; accepted and stored, not interpreted."))},
        "ObjectMeta is metadata that all persisted resources must have.");
  }();
  return kSchema;
}

SchemaPtr LabelSelectorSchema() {
  static const SchemaPtr kSchema = [] {
    auto requirement = Object("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
                              {R("key", String("The label key that the selector applies to.")),
                               R("operator", String("In, NotIn, Exists or DoesNotExist.")),
                               F("values", AtomicArray(String(), "Values for In and NotIn."))},
                              "A selector that contains values, a key, and an operator.");
    return Object("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
                  {F("matchLabels", StringMap("Labels that must all match.")),
                   F("matchExpressions", AtomicArray(requirement, "Requirements that must all match."))},
                  "A label query over a set of resources; an empty selector matches all objects.");
  }();
  return kSchema;
}

SchemaPtr ConditionSchema(std::string ref_name, std::vector<Field> extra) {
  std::vector<Field> fields = {R("type", String("Type of condition.")),
                               R("status", String("Status of the condition: True, False or Unknown.")),
                               F("lastTransitionTime", Time("Last time the condition changed status.")),
                               F("reason", String("CamelCase reason for the last transition.")),
                               F("message", String("Human-readable details of the last transition."))};
  for (auto& f : extra) fields.push_back(std::move(f));
  return Object(std::move(ref_name), std::move(fields));
}

SchemaPtr ConditionsArray(SchemaPtr condition) {
  return Array(std::move(condition), "The latest available observations of the object's state.", "type");
}

SchemaPtr KindSchema(std::string ref_name, std::vector<Field> fields, std::string description) {
  std::vector<Field> all = {F("apiVersion", String("The versioned schema of this representation.")),
                            F("kind", String("The REST resource this object represents.")),
                            F("metadata", ObjectMetaSchema())};
  for (auto& f : fields) all.push_back(std::move(f));
  return Object(std::move(ref_name), std::move(all), std::move(description));
}

// ---- Validation ---------------------------------------------------------------------------------

void ValidateLabels(const json& labels, const std::string& path, FieldErrors* errors) {
  if (!labels.is_object()) return;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    AddInvalidEach(errors, path, it.key(), CheckQualifiedName(it.key()));
    if (it->is_string()) AddInvalidEach(errors, path, *it, CheckLabelValue(it->get<std::string>()));
  }
}

void ValidateAnnotations(const json& annotations, const std::string& path, FieldErrors* errors) {
  if (!annotations.is_object()) return;
  size_t total = 0;
  for (auto it = annotations.begin(); it != annotations.end(); ++it) {
    // Kubernetes: a qualified name except that case does not matter.
    std::string lower = it.key();
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    AddInvalidEach(errors, path, it.key(), CheckQualifiedName(lower));
    total += it.key().size() + (it->is_string() ? it->get_ref<const std::string&>().size() : 0);
  }
  if (total > kTotalAnnotationSizeLimit) AddTooLong(errors, path, kTotalAnnotationSizeLimit);
}

void ValidateLabelSelector(const json& selector, const std::string& path, FieldErrors* errors) {
  if (!selector.is_object()) return;
  if (const json* ml = Get(selector, "matchLabels")) ValidateLabels(*ml, Child(path, "matchLabels"), errors);
  const json& exprs = GetArray(selector, "matchExpressions");
  for (size_t i = 0; i < exprs.size(); ++i) {
    const json& e = exprs[i];
    std::string p = Index(Child(path, "matchExpressions"), i);
    std::string op = GetString(e, "operator");
    const json& values = GetArray(e, "values");
    if (op == "In" || op == "NotIn") {
      if (values.empty()) {
        AddRequired(errors, Child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
      }
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!values.empty()) {
        AddForbidden(errors, Child(p, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      }
    } else {
      AddInvalid(errors, Child(p, "operator"), op, "not a valid selector operator");
    }
    std::string key = GetString(e, "key");
    AddInvalidEach(errors, Child(p, "key"), key, CheckQualifiedName(key));
    for (size_t j = 0; j < values.size(); ++j) {
      if (values[j].is_string()) {
        AddInvalidEach(errors, Index(Child(p, "values"), j), values[j], CheckLabelValue(values[j].get<std::string>()));
      }
    }
  }
}

namespace {

void ValidateOwnerReferences(const json& refs, const std::string& path, FieldErrors* errors) {
  if (!refs.is_array()) return;
  int controllers = 0;
  for (size_t i = 0; i < refs.size(); ++i) {
    const json& r = refs[i];
    std::string p = Index(path, i);
    // apimachinery's validateOwnerReference words these as below.
    if (GetString(r, "apiVersion").empty()) AddInvalid(errors, Child(p, "apiVersion"), "", "version must not be empty");
    if (GetString(r, "kind").empty()) AddInvalid(errors, Child(p, "kind"), "", "kind must not be empty");
    if (GetString(r, "name").empty()) AddInvalid(errors, Child(p, "name"), "", "name must not be empty");
    if (GetString(r, "uid").empty()) AddInvalid(errors, Child(p, "uid"), "", "uid must not be empty");
    if (GetBool(r, "controller")) ++controllers;
  }
  if (controllers > 1) {
    AddInvalid(errors, path, refs, "Only one reference can have Controller set to true.");
  }
}

void ValidateFinalizers(const json& finalizers, const std::string& path, FieldErrors* errors) {
  if (!finalizers.is_array()) return;
  bool orphan = false, foreground = false;
  for (const json& f : finalizers) {
    if (!f.is_string()) continue;
    const std::string& name = f.get_ref<const std::string&>();
    AddInvalidEach(errors, path, name, CheckQualifiedName(name));
    orphan = orphan || name == "orphan";
    foreground = foreground || name == "foregroundDeletion";
  }
  if (orphan && foreground) {
    AddInvalid(errors, path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set");
  }
}

}  // namespace

void ValidateObjectMeta(const json& meta, bool namespaced, const std::string& path, FieldErrors* errors,
                        NameRule rule) {
  static const json kEmpty = json::object();
  const json& m = meta.is_object() ? meta : kEmpty;
  auto check_name = [rule](const std::string& v, bool prefix) {
    return rule == NameRule::kLabel ? CheckNameAsLabel(v, prefix) : CheckNameAsSubdomain(v, prefix);
  };
  std::string name = GetString(m, "name");
  std::string generate_name = GetString(m, "generateName");
  if (!generate_name.empty()) {
    AddInvalidEach(errors, Child(path, "generateName"), generate_name, check_name(generate_name, true));
  }
  if (name.empty()) {
    if (generate_name.empty()) AddRequired(errors, Child(path, "name"), "name or generateName is required");
  } else {
    AddInvalidEach(errors, Child(path, "name"), name, check_name(name, false));
  }
  std::string ns = GetString(m, "namespace");
  if (namespaced) {
    if (ns.empty()) {
      AddRequired(errors, Child(path, "namespace"));
    } else {
      AddInvalidEach(errors, Child(path, "namespace"), ns, CheckDns1123Label(ns));
    }
  } else if (!ns.empty()) {
    AddForbidden(errors, Child(path, "namespace"), "not allowed on this type");
  }
  if (GetInt(m, "generation") < 0) {
    AddInvalid(errors, Child(path, "generation"), GetInt(m, "generation"), "must be greater than or equal to 0");
  }
  if (const json* v = Get(m, "labels")) ValidateLabels(*v, Child(path, "labels"), errors);
  if (const json* v = Get(m, "annotations")) ValidateAnnotations(*v, Child(path, "annotations"), errors);
  if (const json* v = Get(m, "ownerReferences")) ValidateOwnerReferences(*v, Child(path, "ownerReferences"), errors);
  if (const json* v = Get(m, "finalizers")) ValidateFinalizers(*v, Child(path, "finalizers"), errors);
}

void ValidateMetadataOf(const json& obj, bool namespaced, FieldErrors* errors, NameRule rule) {
  static const json kNull;
  const json* meta = Get(obj, "metadata");
  ValidateObjectMeta(meta != nullptr ? *meta : kNull, namespaced, "metadata", errors, rule);
}

}  // namespace capstan::api::kinds
