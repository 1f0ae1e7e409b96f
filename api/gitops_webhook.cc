#include "api/gitops_webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

std::string HmacSha256Hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  return hex;
}

HttpResponse HandleGitOpsWebhook(ResourceService* service, const HttpRequest& req) {
  if (req.method != "POST") return ErrorResponse(Status(Code::kMethodNotAllowed, "webhooks take POST"));
  std::string rest = req.path.substr(std::string(kGitOpsWebhookPrefix).size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) return Unauthorized();
  const std::string ns = rest.substr(0, slash);
  const std::string name = rest.substr(slash + 1);
  const KindInfo* repos = FindKind("gitops.capstan.io", "v1alpha1", "gitrepositories");
  const KindInfo* secrets = FindKind("", "v1", "secrets");
  if (repos == nullptr || secrets == nullptr || ns.empty() || name.empty()) return Unauthorized();
  Result<json> repo = service->Get(*repos, ns, name);
  if (!repo.ok()) return Unauthorized();
  const std::string secret_name = StringAt(*repo, {"spec", "webhook", "secretRef", "name"});
  if (secret_name.empty()) return Unauthorized();
  Result<json> secret = service->Get(*secrets, ns, secret_name);
  if (!secret.ok()) return Unauthorized();
  const std::string token = Base64Decode(StringAt(*secret, {"data", "token"})).value_or("");
  if (token.empty()) return Unauthorized();

  bool ok = false;
  const std::string expected = "sha256=" + HmacSha256Hex(token, req.body);
  for (const char* header : {"X-Hub-Signature-256", "X-Capstan-Signature"}) {
    if (auto v = req.headers.Get(header)) ok = ok || SameSecret(*v, expected);
  }
  if (auto v = req.headers.Get("X-Gitlab-Token")) ok = ok || SameSecret(*v, token);
  if (!ok) {
    log::Warn("gitops webhook refused", {{"repository", ns + "/" + name}, {"remote", req.remote}});
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
