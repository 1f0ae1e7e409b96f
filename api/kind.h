// KindInfo: everything Capstan knows about one API kind, in one declarative registration.
//
// The router, discovery, OpenAPI, Table printing, field selectors, the CLI's name resolution and
// kubectl compatibility all read this; adding a kind is one file in api/kinds/ calling
// RegisterKind(), with no edits elsewhere.
//
// Thread-safety: the registry is filled at static-initialisation / startup and read-only after
// Freeze(); lookups after that are lock-free.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/schema.h"

namespace capstan::api {

// A column of `kubectl get` (a Kubernetes TableColumnDefinition) and how to fill it.
struct PrinterColumn {
  std::string name;              // "READY"
  std::string type = "string";   // "string", "integer", "date", ...
  std::string format;            // "name" for the NAME column
  int priority = 0;              // 0: always; 1: only with -o wide
  std::string description;
  std::function<json(const json& obj)> cell;
};

// The /scale subresource mapping (autoscaling/v1 Scale).
struct ScaleSpec {
  std::string spec_replicas = "/spec/replicas";         // JSON pointers
  std::string status_replicas = "/status/replicas";
  std::string label_selector = "/spec/selector";        // a LabelSelector object
};

struct KindInfo {
  std::string group;             // "" for the core group
  std::string version;           // "v1"
  std::string kind;              // "Deployment"
  std::string list_kind;         // defaults to kind + "List"
  std::string plural;            // "deployments"
  std::string singular;          // "deployment"
  std::vector<std::string> short_names;  // {"deploy"}
  std::vector<std::string> categories;   // {"all"}
  bool namespaced = true;
  bool status_subresource = false;
  std::optional<ScaleSpec> scale;
  // The binding subresource (pods/binding): POST a v1 Binding to set spec.nodeName once; the
  // scheduler's write, as in Kubernetes.
  bool binding_subresource = false;
  // pods/log and pods/exec, answered by the node agent (pod_streams.h).
  bool pod_streams = false;
  // Whether metadata.generation counts spec changes (kinds with a spec).
  bool has_generation = false;
  SchemaPtr schema;              // the whole object: apiVersion, kind, metadata, spec, status...

  // Sets defaults in place, as Kubernetes does for this kind (called on create and update,
  // after decoding, before validation).
  std::function<void(json& obj)> defaults;
  // On create: resets fields a client may not set (e.g. status to its initial value).
  std::function<void(json& obj)> prepare_create;
  // Graceful deletion (Pods): the seconds a DELETE leaves the object's processes to stop, given
  // the request's gracePeriodSeconds (nullopt: not given). Above 0, DELETE only marks the object
  // (deletionTimestamp = now + grace, deletionGracePeriodSeconds = grace) and whoever runs it
  // deletes it again with 0 once stopped (the node agent). Unset or 0: deleted at once.
  std::function<int64_t(const json& obj, std::optional<int64_t> requested)> deletion_grace;
  // Semantic validation beyond the schema. `old` is null on create.
  std::function<void(const json& obj, const json* old, FieldErrors* errors)> validate;
  // Validation of a /status write (Kubernetes' status strategies' ValidateUpdate): `obj` is the
  // stored object with a new status, its metadata and spec unchanged, so only status needs
  // rules; the schema check of such a write covers status alone too. Unset: validate.
  std::function<void(const json& obj, const json& old, FieldErrors* errors)> validate_status;
  // Extra field selectors beyond metadata.name and metadata.namespace ("spec.nodeName", ...).
  std::vector<std::string> field_selectors;
  std::vector<PrinterColumn> columns;  // after NAME (always first); AGE is added last unless present

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps" / "pods"
  std::string resource_name() const { return group.empty() ? plural : plural + "." + group; }
};

// Registers a kind. Registering the same group/version/plural twice is a programming error and
// aborts at startup (as Envoy does for duplicate extension names).
void RegisterKind(KindInfo info);

// Every registered kind, in registration order. Programs call RegisterBuiltinKinds() (and any
// later registrations) at startup, before serving; the registry is read-only afterwards.
const std::vector<const KindInfo*>& AllKinds();
const KindInfo* FindKind(const std::string& group, const std::string& version, const std::string& plural);
const KindInfo* FindKindByKind(const std::string& api_version, const std::string& kind);
// Resolves what a user types: "deploy", "deployments", "deployment.apps", "Deployment", "po".
const KindInfo* ResolveKind(const std::string& name);

// Registers every kind in api/kinds/ (idempotent). Explicit rather than static-initialiser
// magic: a static library drops unreferenced registration objects at link time. Defined in the
// capstan_kinds library.
void RegisterBuiltinKinds();

}  // namespace capstan::api
