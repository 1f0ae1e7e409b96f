#include "api/gitops_webhook.h"

#include <openssl/crypto.h>

#include <chrono>

#include "api/errors.h"
#include "api/kind.h"
#include "base/base64.h"
#include "base/log.h"

namespace capstan::api {
namespace {

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string StringAt(const json& obj, std::initializer_list<const char*> path) {
  const json* at = &obj;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return "";
    at = &(*at)[key];
  }
  return at->is_string() ? at->get<std::string>() : "";
}

HttpResponse Unauthorized() { return ErrorResponse(Status::Unauthorized("Unauthorized")); }

}  // namespace

HttpResponse HandleGitOpsWebhook(ResourceService* service, const HttpRequest& req) {
  if (req.method != "POST") return ErrorResponse(Status(Code::kMethodNotAllowed, "webhooks take POST"));
  const std::string hex = req.path.substr(std::string(kGitOpsWebhookPrefix).size());
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return Unauthorized();
  const KindInfo* repos = FindKind("gitops.capstan.io", "v1alpha1", "gitrepositories");
  const KindInfo* secrets = FindKind("", "v1", "secrets");
  if (repos == nullptr || secrets == nullptr) return Unauthorized();
  Result<ListPage> all = service->List(*repos, "", ListQuery{});
  if (!all.ok()) return Unauthorized();
  std::string ns, name, token;
  for (const json& repo : all->items) {
    const std::string secret_name = StringAt(repo, {"spec", "webhook", "secretRef", "name"});
    if (secret_name.empty()) continue;
    const std::string repo_ns = StringAt(repo, {"metadata", "namespace"});
    Result<json> secret = service->Get(*secrets, repo_ns, secret_name);
    if (!secret.ok()) continue;
    std::string candidate = Base64Decode(StringAt(*secret, {"data", "token"})).value_or("");
    if (candidate.empty() || !SameSecret(HmacSha256Hex(candidate, StringAt(repo, {"metadata", "uid"})), hex)) continue;
    ns = repo_ns;
    name = StringAt(repo, {"metadata", "name"});
    token = std::move(candidate);
    break;
  }
  if (token.empty()) return Unauthorized();

  bool ok = false;
  const std::string expected = "sha256=" + HmacSha256Hex(token, req.body);
  for (const char* header : {"X-Hub-Signature-256", "X-Capstan-Signature"}) {
    if (auto v = req.headers.Get(header)) ok = ok || SameSecret(*v, expected);
  }
  if (auto v = req.headers.Get("X-Gitlab-Token")) ok = ok || SameSecret(*v, token);
  if (!ok) {
    log::Warn("gitops webhook refused: bad signature", {{"repository", ns + "/" + name}, {"remote", req.remote}});
    return Unauthorized();
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  json patch = {{"metadata",
                 {{"annotations",
                   {{"gitops.capstan.io/requestedAt",
                     "webhook-" + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count())}}}}}};
  Result<json> patched = service->Patch(*repos, ns, name, "", PatchType::kMerge, patch, WriteOptions{});
  if (!patched.ok()) return ErrorResponse(patched.status());
  HttpResponse r;
  r.status = 202;
  r.content_type = "application/json";
  r.body = R"({"status":"accepted"})";
  return r;
}

}  // namespace capstan::api
