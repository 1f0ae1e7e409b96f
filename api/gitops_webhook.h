// The GitOps webhook receiver: POST /hooks/gitops/<namespace>/<name> asks the GitRepository
// <namespace>/<name> to fetch now (docs/gitops.md). Git servers call it without a bearer token,
// so it authenticates by the Secret of the repository's spec.webhook.secretRef (key "token"):
// GitHub/Gitea's X-Hub-Signature-256 ("sha256=" + hex HMAC-SHA256 of the body), GitLab's
// X-Gitlab-Token (the token itself), or the generic X-Capstan-Signature (as GitHub's). A missing
// repository, webhook, Secret or a bad signature are all the same 401, and change nothing; a good
// call sets the gitops.capstan.io/requestedAt annotation (what `capstan gitops reconcile` sets)
// and answers 202.
//
// Thread-safety: stateless; the ResourceService is thread-safe.
#pragma once

#include "api/http/http_types.h"
#include "api/resource_service.h"

namespace capstan::api {

inline constexpr const char* kGitOpsWebhookPrefix = "/hooks/gitops/";

HttpResponse HandleGitOpsWebhook(ResourceService* service, const HttpRequest& req);

// Hex HMAC-SHA256 of `body` with `key` (lower case). Exposed for tests.
std::string HmacSha256Hex(const std::string& key, const std::string& body);

}  // namespace capstan::api
