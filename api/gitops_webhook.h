// The GitOps webhook receiver: POST /hooks/gitops/<hex> asks the GitRepository whose generated
// path that is to fetch now (docs/gitops.md). The path is the lower-case hex HMAC-SHA256 of the
// repository's uid keyed with the token of its spec.webhook.secretRef Secret (what the controller
// reports in status.webhookPath): unguessable without the token, new for a recreated repository
// or a rotated token. Git servers call it without a bearer token, so the call is authenticated
// by that token again: GitHub/Gitea's X-Hub-Signature-256 ("sha256=" + hex HMAC-SHA256 of the
// body), GitLab's X-Gitlab-Token (the token itself), or the generic X-Capstan-Signature (as
// GitHub's). An unknown path, a missing Secret or a bad signature are all the same 401, and
// change nothing; a good call sets the gitops.capstan.io/requestedAt annotation (what `capstan
// gitops reconcile` sets) and answers 202. The path is found by computing it for each
// GitRepository with a webhook (a store read per repository and Secret: few, and in-process).
//
// Thread-safety: stateless; the ResourceService is thread-safe.
#pragma once

#include "api/http/http_types.h"
#include "api/resource_service.h"
#include "base/hmac.h"

namespace capstan::api {

inline constexpr const char* kGitOpsWebhookPrefix = "/hooks/gitops/";

HttpResponse HandleGitOpsWebhook(ResourceService* service, const HttpRequest& req);

}  // namespace capstan::api
