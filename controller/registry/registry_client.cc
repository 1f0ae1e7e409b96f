#include "controller/registry/registry_client.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <optional>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "base/base64.h"
#include "client/rest_client.h"

namespace capstan::registry {
namespace {

// A header's non-negative decimal integer (Retry-After seconds, Content-Length); nullopt for
// anything else (an HTTP date, garbage, overflow): headers come from the network, never trusted.
std::optional<int64_t> HeaderInt(const std::string& value) {
  int64_t out = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, out);
  if (ec != std::errc() || ptr != end || value.empty() || out < 0) return std::nullopt;
  return out;
}

// Every manifest type cleanup understands; without them distribution 2.8 answers a GET by tag with
// a schema1 conversion whose digest is not the stored one.
const char* kManifestAccept =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

// "https://host:port/path?q" -> {"https://host:port", "/path?q"}; a relative reference keeps an
// empty origin.
std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  static const std::regex kAbsolute(R"(^(https?://[^/]+)(.*)$)", std::regex::icase);
  std::smatch m;
  if (std::regex_match(url, m, kAbsolute)) return {m[1].str(), m[2].str().empty() ? "/" : m[2].str()};
  return {"", url};
}

struct Response {
  int status = 0;
  httplib::Headers headers;
  std::string body;
  std::string Header(const char* name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// The registry's own error code and message ({"errors":[{"code","message","detail"}]}).
std::string RegistryError(const std::string& body) {
  try {
    json doc = json::parse(body);
    if (doc.contains("errors") && doc["errors"].is_array() && !doc["errors"].empty()) {
      const json& e = doc["errors"][0];
      std::string text = e.value("code", "");
      std::string message = e.value("message", "");
      if (!message.empty()) text += (text.empty() ? "" : ": ") + message;
      return text;
    }
  } catch (const std::exception&) {
  }
  return body.substr(0, 200);
}

Status ErrorStatus(const std::string& url, const std::string& method, const std::string& path,
                   const Response& r) {
  std::string what = method + " " + url + path + ": HTTP " + std::to_string(r.status);
  std::string detail = RegistryError(r.body);
  if (!detail.empty()) what += " " + detail;
  switch (r.status) {
    case 401: return Status(Code::kUnauthorized, what + " (credentials missing or refused)");
    case 403: return Status(Code::kForbidden, what + " (the credentials lack access)");
    case 404: return Status(Code::kNotFound, what);
    case 405:
      return Status(Code::kMethodNotAllowed,
                    what + " (the registry refuses changes: deletion disabled, storage.delete.enabled: false, "
                           "or read-only, storage.maintenance.readonly.enabled: true)");
    case 429: return Status(Code::kTooManyRequests, what + " (rate limited; retries exhausted)");
    case 400: return Status(Code::kBadRequest, what);
    default: return Status(r.status >= 500 ? Code::kUnavailable : Code::kBadRequest, what);
  }
}

// "GET manifest", "HEAD tags", ... for request_counts().
std::string RequestKind(const std::string& method, const std::string& path) {
  const char* what = "other";
  if (path.rfind("/v2/_catalog", 0) == 0) what = "catalog";
  else if (path.find("/tags/list") != std::string::npos) what = "tags";
  else if (path.find("/manifests/") != std::string::npos) what = "manifest";
  else if (path.find("/blobs/uploads") != std::string::npos) what = "upload";
  else if (path.find("/blobs/") != std::string::npos) what = "blob";
  else if (path == "/v2/" || path == "/v2") what = "ping";
  return method + " " + what;
}

bool Retryable(int status) { return status == 429 || status == 502 || status == 503 || status == 504; }

}  // namespace

bool IsIndexMediaType(const std::string& media_type) {
  return media_type == kDockerManifestList || media_type == kOciIndex;
}

std::string Sha256Digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string NextLink(const std::string& link_header) {
  // Link: <url>; rel="next"[, <url>; rel="prev"]
  static const std::regex kLink(R"re(<([^>]*)>\s*;[^,]*rel="?next"?)re", std::regex::icase);
  std::smatch m;
  if (!std::regex_search(link_header, m, kLink)) return "";
  return SplitUrl(m[1].str()).second;
}

AuthChallenge ParseAuthChallenge(const std::string& header) {
  AuthChallenge c;
  size_t space = header.find(' ');
  c.scheme = header.substr(0, space);
  if (space == std::string::npos) return c;
  static const std::regex kParam(R"re(([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^,\s]*)))re");
  std::string rest = header.substr(space + 1);
  for (std::sregex_iterator it(rest.begin(), rest.end(), kParam), end; it != end; ++it) {
    std::string key = (*it)[1].str();
    for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value = (*it)[2].matched ? (*it)[2].str() : (*it)[3].str();
    if (key == "realm") c.realm = value;
    else if (key == "service") c.service = value;
    else if (key == "scope") c.scope = value;
    else if (key == "error") c.error = value;
  }
  return c;
}

struct RegistryClient::Impl {
  // Constant after construction.
  RegistryEndpoint endpoint;
  RegistryClientOptions options;
  std::string origin;  // "http://127.0.0.1:5000" (no trailing slash)

  std::atomic<int64_t> requests{0};
  mutable std::mutex counts_mu;
  std::map<std::string, int64_t> counts;  // guarded by counts_mu: requests by RequestKind

  void Count(const std::string& kind) {
    ++requests;
    std::lock_guard<std::mutex> lock(counts_mu);
    ++counts[kind];
  }
  std::atomic<bool> basic_challenged{false};  // the registry asked for Basic once

  std::mutex mu;
  std::vector<std::unique_ptr<httplib::Client>> idle;  // guarded by mu: keep-alive connections
  std::map<std::string, std::string> tokens;           // guarded by mu: scope -> bearer token

  std::unique_ptr<httplib::Client> NewClient(const std::string& scheme_host_port) const {
    auto client = std::make_unique<httplib::Client>(scheme_host_port);
    client->set_connection_timeout(options.connect_timeout);
    client->set_read_timeout(options.request_timeout);
    client->set_write_timeout(options.request_timeout);
    client->set_keep_alive(true);
    // httplib writes a request's headers and body separately; with Nagle on, the body of a PUT
    // on a kept-alive connection waits for the registry's delayed ACK (40 ms).
    client->set_tcp_nodelay(true);
    client->set_url_encode(false);  // paths are encoded here; Link targets come encoded already
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (scheme_host_port.rfind("https://", 0) == 0) {
      if (endpoint.insecure_skip_tls_verify) {
        client->enable_server_certificate_verification(false);
      } else if (!endpoint.ca_pem.empty()) {
        X509_STORE* store = X509_STORE_new();
        X509_STORE_set_default_paths(store);
        BIO* bio = BIO_new_mem_buf(endpoint.ca_pem.data(), static_cast<int>(endpoint.ca_pem.size()));
        while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
          X509_STORE_add_cert(store, cert);
          X509_free(cert);
        }
        BIO_free(bio);
        ERR_clear_error();  // the loop ends on "no start line" by design
        client->set_ca_cert_store(store);  // the client owns it
      }
    }
#endif
    return client;
  }

  std::unique_ptr<httplib::Client> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        auto client = std::move(idle.back());
        idle.pop_back();
        return client;
      }
    }
    return NewClient(origin);
  }
  void Release(std::unique_ptr<httplib::Client> client) {
    std::lock_guard<std::mutex> lock(mu);
    if (idle.size() < 16) idle.push_back(std::move(client));
  }

  std::chrono::milliseconds Backoff(int attempt) const {
    auto wait = options.initial_backoff * (1 << std::min(attempt, 16));
    return std::min<std::chrono::milliseconds>(wait, options.max_backoff);
  }

  std::string BasicHeader() const {
    return "Basic " + Base64Encode(endpoint.username + ":" + endpoint.password);
  }

  // Fetches a bearer token for `scope` from the challenge's realm.
  Result<std::string> FetchToken(const AuthChallenge& challenge, const std::string& scope) {
    if (challenge.realm.empty()) return Status::Unauthorized(origin + ": Bearer challenge without a realm");
    auto [realm_origin, realm_path] = SplitUrl(challenge.realm);
    if (realm_origin.empty()) realm_origin = origin;
    std::string path = realm_path;
    client::Query params;
    if (!challenge.service.empty()) params.emplace_back("service", challenge.service);
    if (!scope.empty()) params.emplace_back("scope", scope);
    if (!challenge.scope.empty() && challenge.scope != scope) params.emplace_back("scope", challenge.scope);
    std::string query = client::EncodeQuery(params);
    if (!query.empty()) path += (path.find('?') == std::string::npos ? "?" : "&") + query;
    auto client = NewClient(realm_origin);
    httplib::Headers headers;
    if (!endpoint.username.empty()) headers.emplace("Authorization", BasicHeader());
    Count("GET token");
    auto result = client->Get(path.c_str(), headers);
    if (!result) return Status::Unavailable("token service " + challenge.realm + " unreachable: " + httplib::to_string(result.error()));
    if (result->status != 200) {
      Response r{result->status, result->headers, result->body};
      return ErrorStatus(realm_origin, "GET", path, r).Annotate("fetching a registry token");
    }
    try {
      json doc = json::parse(result->body);
      std::string token = doc.value("token", doc.value("access_token", ""));
      if (token.empty()) return Status::Unauthorized("token service " + challenge.realm + " returned no token");
      return token;
    } catch (const std::exception& e) {
      return Status::Unauthorized("token service " + challenge.realm + ": " + e.what());
    }
  }

  // One request with authentication and retries. `scope` is the token scope the request needs.
  Result<Response> Send(const std::string& method, const std::string& path, const std::string& scope,
                        const std::string& accept = "", const std::string& body = "",
                        const std::string& content_type = "") {
    bool auth_tried = false;
    for (int attempt = 0;; ++attempt) {
      httplib::Request request;
      request.method = method;
      request.path = path;
      request.headers.emplace("User-Agent", "capstan-registry-cleanup");
      if (!accept.empty()) request.headers.emplace("Accept", accept);
      {
        std::lock_guard<std::mutex> lock(mu);
        auto it = tokens.find(scope);
        if (it != tokens.end()) {
          request.headers.emplace("Authorization", "Bearer " + it->second);
        } else if (basic_challenged && !endpoint.username.empty()) {
          request.headers.emplace("Authorization", BasicHeader());
        }
      }
      if (!body.empty() || method == "PUT" || method == "POST") {
        request.body = body;
        request.headers.emplace("Content-Type", content_type.empty() ? "application/octet-stream" : content_type);
      }
      auto client = Acquire();
      httplib::Response raw;
      httplib::Error error = httplib::Error::Success;
      Count(RequestKind(method, path));
      bool sent = false;
      try {
        sent = client->send(request, raw, error);
      } catch (const std::exception& e) {
        return Status::Internal(method + " " + origin + path + ": " + e.what());
      }
      if (!sent && error == httplib::Error::SSLServerVerification) {
        return Status::Unavailable("registry " + origin + ": its TLS certificate is not trusted (give its CA in "
                                   "spec.registry.caSecret, or set insecureSkipTLSVerify)");
      }
      if (!sent) {
        // A broken keep-alive connection or an unreachable registry: back off and retry.
        if (attempt + 1 >= options.max_attempts) {
          return Status::Unavailable("registry " + origin + " unreachable (" + method + " " + path + ": " +
                                     httplib::to_string(error) + ", " + std::to_string(attempt + 1) + " attempts)");
        }
        std::this_thread::sleep_for(Backoff(attempt));
        continue;
      }
      Release(std::move(client));
      Response r{raw.status, std::move(raw.headers), std::move(raw.body)};
      if (r.status == 401 && !auth_tried) {
        auth_tried = true;
        --attempt;  // authenticating is not a retry
        AuthChallenge challenge = ParseAuthChallenge(r.Header("WWW-Authenticate"));
        std::string scheme = challenge.scheme;
        for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (scheme == "basic") {
          if (endpoint.username.empty()) return ErrorStatus(origin, method, path, r);
          basic_challenged = true;
          continue;
        }
        if (scheme == "bearer") {
          Result<std::string> token = FetchToken(challenge, scope);
          if (!token.ok()) return token.status();
          std::lock_guard<std::mutex> lock(mu);
          tokens[scope] = *token;
          continue;
        }
        return ErrorStatus(origin, method, path, r);
      }
      if (Retryable(r.status) && attempt + 1 < options.max_attempts) {
        std::chrono::milliseconds wait = Backoff(attempt);
        std::string retry_after = r.Header("Retry-After");
        if (std::optional<int64_t> seconds = HeaderInt(retry_after)) {
          // Capped in seconds first, so that a huge value cannot overflow the conversion.
          int64_t cap = std::chrono::duration_cast<std::chrono::seconds>(options.max_backoff).count() + 1;
          wait = std::min<std::chrono::milliseconds>(std::chrono::seconds(std::min(*seconds, cap)), options.max_backoff);
        }
        std::this_thread::sleep_for(wait);
        continue;
      }
      return r;
    }
  }

  Result<std::vector<std::string>> List(std::string path, const std::string& scope, const char* field,
                                        int page_size) {
    if (page_size > 0) path += "?n=" + std::to_string(page_size);
    std::vector<std::string> out;
    for (int page = 0; !path.empty(); ++page) {
      if (page > 1000000) return Status::Internal("registry " + origin + ": pagination does not end");
      Result<Response> r = Send("GET", path, scope, "application/json");
      if (!r.ok()) return r.status();
      if (r->status != 200) return ErrorStatus(origin, "GET", path, *r);
      try {
        json doc = json::parse(r->body);
        if (doc.contains(field) && doc[field].is_array()) {
          for (const json& item : doc[field]) out.push_back(item.get<std::string>());
        }
      } catch (const std::exception& e) {
        return Status::Internal("GET " + origin + path + ": " + e.what());
      }
      std::string next = NextLink(r->Header("Link"));
      if (next == path) break;
      path = next;
    }
    return out;
  }
};

namespace {
std::string RepoScope(const std::string& repository, const char* actions) {
  return "repository:" + repository + ":" + actions;
}
// Repository names, tags and digests hold only characters a path may carry as they are
// ([a-z0-9._/-], [A-Za-z0-9_.-], "sha256:" hex).
std::string ManifestPath(const std::string& repository, const std::string& reference) {
  return "/v2/" + repository + "/manifests/" + reference;
}
}  // namespace

RegistryClient::RegistryClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegistryClient::~RegistryClient() = default;

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(RegistryEndpoint endpoint,
                                                               RegistryClientOptions options) {
  static const std::regex kUrl(R"(^(https?://[^/?#\s]+)/?$)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(endpoint.url, m, kUrl)) {
    return Status::Invalid("registry url " + endpoint.url + " is not http(s)://host[:port]");
  }
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (endpoint.url.rfind("https", 0) == 0) return Status::Invalid("https needs cpp-httplib with OpenSSL");
#endif
  auto impl = std::make_unique<Impl>();
  impl->origin = m[1].str();
  impl->endpoint = std::move(endpoint);
  impl->options = options;
  if (impl->options.max_attempts < 1) impl->options.max_attempts = 1;
  return std::unique_ptr<RegistryClient>(new RegistryClient(std::move(impl)));
}

const std::string& RegistryClient::url() const { return impl_->origin; }
int64_t RegistryClient::request_count() const { return impl_->requests.load(); }
std::map<std::string, int64_t> RegistryClient::request_counts() const {
  std::lock_guard<std::mutex> lock(impl_->counts_mu);
  return impl_->counts;
}

Status RegistryClient::Ping() {
  Result<Response> r = impl_->Send("GET", "/v2/", "");
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorStatus(impl_->origin, "GET", "/v2/", *r);
  return Status::Ok();
}

Result<std::vector<std::string>> RegistryClient::Catalog() {
  return impl_->List("/v2/_catalog", "registry:catalog:*", "repositories", 0);
}

Result<std::vector<std::string>> RegistryClient::Tags(const std::string& repository) {
  return impl_->List("/v2/" + repository + "/tags/list", RepoScope(repository, "pull"), "tags", impl_->options.tag_page_size);
}

Result<ManifestRef> RegistryClient::HeadManifest(const std::string& repository, const std::string& reference) {
  std::string path = ManifestPath(repository, reference);
  Result<Response> r = impl_->Send("HEAD", path, RepoScope(repository, "pull"), kManifestAccept);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorStatus(impl_->origin, "HEAD", path, *r);
  ManifestRef ref;
  ref.digest = r->Header("Docker-Content-Digest");
  ref.media_type = r->Header("Content-Type");
  std::string length = r->Header("Content-Length");
  ref.size = HeaderInt(length).value_or(0);
  if (ref.digest.empty()) {
    // Some registries send no digest on HEAD; the body's hash is the digest.
    Result<Manifest> m = GetManifest(repository, reference);
    if (!m.ok()) return m.status();
    return m->ref;
  }
  return ref;
}

Result<Manifest> RegistryClient::GetManifest(const std::string& repository, const std::string& reference) {
  std::string path = ManifestPath(repository, reference);
  Result<Response> r = impl_->Send("GET", path, RepoScope(repository, "pull"), kManifestAccept);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorStatus(impl_->origin, "GET", path, *r);
  Manifest m;
  m.body = std::move(r->body);
  m.ref.digest = r->Header("Docker-Content-Digest");
  if (m.ref.digest.empty()) m.ref.digest = Sha256Digest(m.body);
  m.ref.size = static_cast<int64_t>(m.body.size());
  try {
    m.doc = json::parse(m.body);
  } catch (const std::exception& e) {
    return Status::Internal("GET " + impl_->origin + path + ": manifest is not JSON: " + e.what());
  }
  m.ref.media_type = m.doc.value("mediaType", "");
  if (m.ref.media_type.empty()) m.ref.media_type = r->Header("Content-Type");
  return m;
}

Result<std::string> RegistryClient::GetBlob(const std::string& repository, const std::string& digest) {
  std::string path = "/v2/" + repository + "/blobs/" + digest;
  Result<Response> r = impl_->Send("GET", path, RepoScope(repository, "pull"));
  if (!r.ok()) return r.status();
  if (r->status == 307 || r->status == 302) {
    // Storage drivers that redirect (S3, GCS): follow once, without our credentials.
    auto [origin, target] = SplitUrl(r->Header("Location"));
    auto client = impl_->NewClient(origin.empty() ? impl_->origin : origin);
    impl_->Count("GET redirect");
    auto followed = client->Get(target.c_str());
    if (!followed || followed->status != 200) return Status::Unavailable("GET blob " + digest + ": redirect failed");
    return followed->body;
  }
  if (r->status != 200) return ErrorStatus(impl_->origin, "GET", path, *r);
  return std::move(r->body);
}

Result<std::string> RegistryClient::PutManifest(const std::string& repository, const std::string& reference,
                                                const std::string& media_type, const std::string& body) {
  std::string path = ManifestPath(repository, reference);
  Result<Response> r = impl_->Send("PUT", path, RepoScope(repository, "pull,push"), "", body, media_type);
  if (!r.ok()) return r.status();
  if (r->status != 201 && r->status != 200) return ErrorStatus(impl_->origin, "PUT", path, *r);
  std::string digest = r->Header("Docker-Content-Digest");
  return digest.empty() ? Sha256Digest(body) : digest;
}

Status RegistryClient::DeleteManifest(const std::string& repository, const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0 && digest.rfind("sha512:", 0) != 0) {
    return Status::Invalid("DeleteManifest needs a digest, not the tag " + digest);
  }
  std::string path = ManifestPath(repository, digest);
  Result<Response> r = impl_->Send("DELETE", path, RepoScope(repository, "delete"));
  if (!r.ok()) return r.status();
  if (r->status != 202 && r->status != 200) return ErrorStatus(impl_->origin, "DELETE", path, *r);
  return Status::Ok();
}

Result<std::string> RegistryClient::PushBlob(const std::string& repository, const std::string& data) {
  std::string digest = Sha256Digest(data);
  std::string scope = RepoScope(repository, "pull,push");
  std::string start = "/v2/" + repository + "/blobs/uploads/";
  Result<Response> r = impl_->Send("POST", start, scope);
  if (!r.ok()) return r.status();
  if (r->status != 202) return ErrorStatus(impl_->origin, "POST", start, *r);
  std::string location = SplitUrl(r->Header("Location")).second;
  if (location.empty()) return Status::Internal("POST " + start + ": no upload Location");
  location += (location.find('?') == std::string::npos ? "?" : "&") + client::EncodeQuery({{"digest", digest}});
  r = impl_->Send("PUT", location, scope, "", data, "application/octet-stream");
  if (!r.ok()) return r.status();
  if (r->status != 201) return ErrorStatus(impl_->origin, "PUT", location, *r);
  return digest;
}

}  // namespace capstan::registry
