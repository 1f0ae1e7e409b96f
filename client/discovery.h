// Discovery: what the server serves, read from its discovery documents (GET /api, /api/v1,
// /apis, /apis/{group}/{version}), and the resolution of what a user types ("deploy",
// "deployments.apps", "Deployment", "po") into a resource, as kubectl's REST mapper does. Kinds
// the server adds later therefore work in the CLI without changing it.
//
// Thread-safety: not thread-safe (caches documents lazily); use one per thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "client/rest_client.h"

namespace capstan::client {

class ApiClient;

struct ResourceInfo {
  std::string group;       // "" for the core group
  std::string version;     // "v1"
  std::string plural;      // "deployments"
  std::string singular;    // "deployment"
  std::string kind;        // "Deployment"
  bool namespaced = false;
  std::vector<std::string> verbs;
  std::vector<std::string> short_names;

  // "apps/v1", or "v1" for the core group.
  std::string ApiVersion() const;
  // What kubectl prints before "/name": "deployment.apps", "configmap".
  std::string DisplayKind() const;
  // "deployments.apps", "pods": the resource as kubectl names it in messages.
  std::string DisplayResource() const;
  bool HasVerb(std::string_view verb) const;
};

class Discovery {
 public:
  explicit Discovery(const RestClient* client);  // not owned; must outlive this
  // Through an ApiClient (controllers: GitOps applies with the same logic as the CLI).
  explicit Discovery(ApiClient* api);  // not owned; must outlive this

  // Resolves "deploy", "deployment", "deployments", "Deployment", "deployment.apps",
  // "deployments.v1.apps": plural, singular, short name or kind (case-insensitive), optionally
  // qualified by group or version.group. When several groups match, the core group wins, then
  // the groups in the server's order. kNotFound: `the server doesn't have a resource type "x"`.
  Result<ResourceInfo> Resolve(std::string_view typed);

  // The resource of a manifest's apiVersion + kind. kNotFound when the server does not serve it.
  Result<ResourceInfo> ResolveKind(const std::string& api_version, const std::string& kind);

  // Every resource of the preferred version of every group (subresources excluded), core first.
  Result<std::vector<ResourceInfo>> ServerPreferredResources();

 private:
  // The resources of one group version, fetched once.
  Result<const std::vector<ResourceInfo>*> GroupVersion(const std::string& group, const std::string& version);
  // Group names with their preferred version, and all their versions, in server order.
  Status LoadGroups();

  std::function<Result<nlohmann::json>(const std::string& path)> get_;  // GET of a discovery document
  bool groups_loaded_ = false;
  struct Group {
    std::string name;
    std::string preferred_version;
    std::vector<std::string> versions;
  };
  std::vector<Group> groups_;  // core ("") first
  std::map<std::string, std::vector<ResourceInfo>> group_versions_;  // "apps/v1" → resources
};

// Paths on the server. `namespace_name` is ignored for cluster-scoped resources; empty for a
// namespaced one means all namespaces (lists and watches only).
std::string CollectionPath(const ResourceInfo& resource, const std::string& namespace_name);
std::string ObjectPath(const ResourceInfo& resource, const std::string& namespace_name, const std::string& name);

// Lower-cases ASCII.
std::string ToLower(std::string_view text);

}  // namespace capstan::client
