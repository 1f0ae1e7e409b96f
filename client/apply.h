// Client-side apply, as `kubectl apply` does it: the object as declared is remembered in the
// kubectl.kubernetes.io/last-applied-configuration annotation, and the next apply sends the
// three-way merge patch between that, the new declaration and the live object. So fields the
// user stops declaring are removed, while fields the server defaulted or a controller set are
// left alone. Shared by `capstan apply`, `capstan diff` and GitOps.
//
// Thread-safety: functions; the RestClient is thread-safe, Discovery is not (one per thread).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/api_client.h"
#include "client/discovery.h"
#include "client/rest_client.h"

namespace capstan::client {

inline constexpr const char* kLastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

struct ApplyOptions {
  // From -n: an object declaring another namespace is an error (kubectl's rule). Empty: not given.
  std::string explicit_namespace;
  // For namespaced objects declaring none, when -n is not given (the context's, or "default").
  std::string default_namespace = "default";
  bool server_dry_run = false;  // dryRun=All: the server validates and answers, stores nothing
};

enum class ApplyAction { kCreated, kConfigured, kUnchanged };
const char* ApplyActionName(ApplyAction action);  // "created", "configured", "unchanged"

struct ApplyResult {
  ApplyAction action = ApplyAction::kUnchanged;
  ResourceInfo resource;
  std::string namespace_name;  // empty for cluster-scoped objects
  std::string name;
  nlohmann::json object;       // the live object after apply (as the server answered)

  // "deployment.apps/web": what kubectl prints.
  std::string DisplayName() const { return resource.DisplayKind() + "/" + name; }
};

// The declared object made ready to send: namespace set (namespaced kinds) or removed
// (cluster-scoped ones), the last-applied annotation removed. kBadRequest on a namespace clash.
Result<nlohmann::json> PrepareDeclared(const nlohmann::json& declared, const ResourceInfo& resource,
                                       const ApplyOptions& options);

// The last-applied annotation's value for a prepared object: compact JSON.
std::string LastAppliedValue(const nlohmann::json& prepared);

// Applies one declared object (apiVersion, kind and metadata.name present). Errors carry the
// server's message unchanged.
Result<ApplyResult> ApplyObject(const RestClient& client, Discovery& discovery, const nlohmann::json& declared,
                                const ApplyOptions& options);
// The same through an ApiClient (controllers: GitOps).
Result<ApplyResult> ApplyObject(ApiClient& client, Discovery& discovery, const nlohmann::json& declared,
                                const ApplyOptions& options);

// The three-way merge patch apply would send for `prepared` (PrepareDeclared's output) against
// `live`, annotation excluded; empty (an empty object) when apply would change nothing but the
// annotation. What drift detection compares: fields set by controllers, defaults and /status are
// not in it, since the last declaration did not set them.
nlohmann::json ApplyPatch(const nlohmann::json& prepared, const nlohmann::json& live);

// Whether ApplyObject would write `prepared` (PrepareDeclared's output) over `live`: false exactly
// when it would answer kUnchanged (no patch, and the last-applied annotation already is `prepared`).
// Lets a caller that listed the live objects skip the ones apply would leave alone.
bool ApplyWouldWrite(const nlohmann::json& prepared, const nlohmann::json& live);

// The order to apply objects in: Namespaces first (so objects in them can be created), then
// ConfigMaps and Secrets (which workloads mount), then Services, then everything else, each
// group in the order given. Deletes go in the reverse order. Returns indexes into `objects`.
std::vector<size_t> ApplyOrder(const std::vector<nlohmann::json>& objects);
// The group of ApplyOrder an object belongs to: 0 Namespace, 1 ConfigMap/Secret, 2 Service, 3 other.
int ApplyRank(const nlohmann::json& object);

}  // namespace capstan::client
