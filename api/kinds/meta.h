// Schemas and validation shared by every kind: ObjectMeta, LabelSelector, conditions, TypeMeta.
//
// Mirrors k8s.io/apimachinery/pkg/apis/meta/v1 and its validation package, with Kubernetes'
// OpenAPI definition names and strategic-merge keys, so kubectl's client-side validation and
// patches see the same shapes as against a real cluster.
//
// Thread-safety: the schema getters build their schema once (function-local statics) and return
// shared immutable values; the validators are stateless.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/schema.h"

namespace capstan::api::kinds {

// A copy of `base` changed by `edit`, for properties the s:: builders do not take (list types,
// patch strategies on objects).
SchemaPtr Tweak(const SchemaPtr& base, const std::function<void(Schema&)>& edit);

SchemaPtr ObjectMetaSchema();       // io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta
SchemaPtr LabelSelectorSchema();    // io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector
SchemaPtr OwnerReferenceSchema();   // io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference

// A condition (type and status required; lastTransitionTime, reason, message) plus `extra`
// fields (lastProbeTime, lastUpdateTime, ...), under the given OpenAPI name.
SchemaPtr ConditionSchema(std::string ref_name, std::vector<Field> extra = {});
// status.conditions: merged by "type", as every built-in kind declares it.
SchemaPtr ConditionsArray(SchemaPtr condition);

// apiVersion, kind, metadata followed by `fields`: the schema of a whole object.
SchemaPtr KindSchema(std::string ref_name, std::vector<Field> fields, std::string description);

// Which rule metadata.name follows for a kind.
enum class NameRule {
  kSubdomain,  // DNS-1123 subdomain, ≤253 (most kinds)
  kLabel,      // DNS-1123 label, ≤63 (Namespace, Service, ...)
};

// apimachinery's ValidateObjectMeta: name or generateName (by `rule`), namespace (required and a
// DNS-1123 label when `namespaced`, forbidden otherwise), generation ≥ 0, labels, annotations
// (qualified keys, ≤256 KiB total), ownerReferences (apiVersion/kind/name/uid, one controller),
// finalizers (qualified names). `meta` is the metadata object; errors are rooted at `path`.
void ValidateObjectMeta(const json& meta, bool namespaced, const std::string& path, FieldErrors* errors,
                        NameRule rule = NameRule::kSubdomain);
// ValidateObjectMeta on obj["metadata"] at "metadata".
void ValidateMetadataOf(const json& obj, bool namespaced, FieldErrors* errors,
                        NameRule rule = NameRule::kSubdomain);

void ValidateLabels(const json& labels, const std::string& path, FieldErrors* errors);
void ValidateAnnotations(const json& annotations, const std::string& path, FieldErrors* errors);
// metav1 LabelSelector: matchLabels as labels; matchExpressions' operators, keys, values.
void ValidateLabelSelector(const json& selector, const std::string& path, FieldErrors* errors);

// Total size limit of metadata.annotations (keys plus values), as Kubernetes.
inline constexpr size_t kTotalAnnotationSizeLimit = 256 * 1024;

}  // namespace capstan::api::kinds
