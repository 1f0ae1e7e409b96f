#include "api/request_info.h"

#include <vector>

namespace capstan::api {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

bool IsWatchQuery(const HttpRequest& req) {
  auto w = req.Query("watch");
  return w && (*w == "1" || *w == "true");
}

}  // namespace

bool ParseRequestInfo(const HttpRequest& req, RequestInfo* info) {
  *info = RequestInfo{};
  std::vector<std::string> p = SplitPath(req.path);
  size_t i = 0;
  if (p.empty()) return true;
  if (p[0] == "api") {
    if (p.size() < 2) return true;   // /api: discovery
    info->version = p[1];
    i = 2;
  } else if (p[0] == "apis") {
    if (p.size() < 3) return true;   // /apis, /apis/{group}: discovery
    info->group = p[1];
    info->version = p[2];
    i = 3;
  } else {
    return true;
  }
  if (i == p.size()) return true;    // /api/v1, /apis/apps/v1: discovery
  info->is_resource = true;
  bool legacy_watch = false;
  if (p[i] == "watch") {             // deprecated /watch/ paths, still used by old clients
    legacy_watch = true;
    ++i;
  }
  if (i < p.size() && p[i] == "namespaces" && i + 3 == p.size() && (p[i + 2] == "status" || p[i + 2] == "finalize")) {
    // /api/v1/namespaces/{name}/status and /finalize: subresources of the Namespace itself
    // (Kubernetes' namespaceSubresources), not a resource called "status" inside it.
    info->resource = "namespaces";
    info->name = p[i + 1];
    info->subresource = p[i + 2];
    i += 3;
  } else if (i < p.size() && p[i] == "namespaces" && i + 2 < p.size()) {
    info->namespace_ = p[i + 1];
    i += 2;
    info->resource = p[i++];
  } else if (i < p.size() && p[i] == "namespaces" && i + 2 == p.size()) {
    // /api/v1/namespaces/{name}: the Namespace object itself.
    info->resource = "namespaces";
    info->name = p[i + 1];
    i += 2;
  } else if (i < p.size()) {
    info->resource = p[i++];
  }
  if (info->name.empty() && i < p.size()) info->name = p[i++];
  if (i < p.size()) info->subresource = p[i++];
  if (i < p.size()) return false;

  const std::string& m = req.method;
  if (m == "GET" || m == "HEAD") {
    if (legacy_watch || IsWatchQuery(req)) info->verb = "watch";
    else info->verb = info->name.empty() ? "list" : "get";
  } else if (m == "POST") {
    info->verb = "create";
  } else if (m == "PUT") {
    info->verb = "update";
  } else if (m == "PATCH") {
    info->verb = "patch";
  } else if (m == "DELETE") {
    info->verb = info->name.empty() ? "deletecollection" : "delete";
  } else {
    info->verb = "";
  }
  return true;
}

}  // namespace capstan::api
