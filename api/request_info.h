// RequestInfo: what an API request path means, as Kubernetes' RequestInfoFactory parses it.
//   /api/v1/namespaces/{ns}/pods/{name}/status   -> core v1, pods, ns, name, "status"
//   /apis/apps/v1/deployments                    -> apps v1, deployments, all namespaces
//   /api/v1/namespaces/{name}                    -> the Namespace itself (cluster-scoped)
#pragma once

#include <string>

#include "api/http/http_types.h"

namespace capstan::api {

struct RequestInfo {
  bool is_resource = false;     // false for /healthz, /version, discovery, ...
  std::string group;            // "" for core
  std::string version;
  std::string namespace_;       // empty: cluster-scoped or all namespaces
  std::string resource;         // plural
  std::string name;
  std::string subresource;      // "status", "scale", "binding", ...
  // get, list, watch, create, update, patch, delete, deletecollection
  std::string verb;
};

// Fills *info from method, path and the watch query parameter. Returns false for paths that are
// under /api or /apis but malformed (the caller answers 404).
bool ParseRequestInfo(const HttpRequest& req, RequestInfo* info);

}  // namespace capstan::api
