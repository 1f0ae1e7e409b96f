// RegistryClient: the Registry v2 / OCI distribution HTTP API, as much of it as registry cleanup
// (and its tests) need: catalog and tag lists (following `Link` pagination), manifests by tag or
// digest (GET and HEAD, always with the four manifest Accept types so that distribution 2.8 never
// serves a schema1 conversion with a different digest), blobs, manifest PUT and DELETE by digest,
// and monolithic blob uploads.
//
// Authentication: requests go out anonymous until the registry answers 401 with a
// WWW-Authenticate challenge; "Basic" is then answered with the credentials, "Bearer" with a token
// fetched from the challenge's realm (service, scope incl. `delete`; the credentials, if any, as
// Basic on the token request). Tokens are cached per scope until the registry refuses them.
//
// Errors (the registry's own `errors[].code` and message are kept in the Status message):
//   401 kUnauthorized, 403 kForbidden, 404 kNotFound,
//   405 kMethodNotAllowed: the message names `storage.delete.enabled` and
//       `storage.maintenance.readonly` (distribution says only UNSUPPORTED),
//   429 kTooManyRequests after the retries (each waits Retry-After, capped),
//   an unreachable registry or 502/503/504 kUnavailable after retries with exponential backoff.
//
// Thread-safety: every method may be called from several threads at once (connections come from a
// small pool, the token cache is locked).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan::registry {

using json = nlohmann::json;

inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";

// True for a manifest list / OCI index media type.
bool IsIndexMediaType(const std::string& media_type);

struct RegistryEndpoint {
  std::string url;                 // "http://127.0.0.1:5000", "https://registry.example.com"
  std::string username;            // empty: anonymous
  std::string password;
  std::string ca_pem;              // extra CA certificates (PEM) for https; empty: the system's
  bool insecure_skip_tls_verify = false;
};

struct RegistryClientOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
  // Attempts per request for an unreachable registry, 429, 502, 503, 504 (1 = no retry).
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{200};  // doubles per attempt
  std::chrono::milliseconds max_backoff{5000};     // also caps Retry-After
  // Page size asked of tag lists (`n`); 0: the registry's default (distribution 2.8: all tags at
  // once). The catalog is always read in the registry's own page size (catalog.maxentries), since
  // some registries refuse an `n` above it.
  int tag_page_size = 100;
};

struct ManifestRef {
  std::string digest;       // Docker-Content-Digest (or the sha256 of the body when absent)
  std::string media_type;
  int64_t size = 0;         // bytes of the manifest itself
};

struct Manifest {
  ManifestRef ref;
  std::string body;         // exactly as served (its sha256 is the digest)
  json doc;                 // parsed
};

class RegistryClient {
 public:
  // kInvalid for a URL that is not http(s)://host[:port].
  static Result<std::unique_ptr<RegistryClient>> Create(RegistryEndpoint endpoint,
                                                        RegistryClientOptions options = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const std::string& url() const;

  // GET /v2/ (authenticating if challenged): OK when the registry speaks v2 and accepts us.
  Status Ping();
  // Every repository / every tag of `repository`, in the registry's order, across all pages.
  Result<std::vector<std::string>> Catalog();
  Result<std::vector<std::string>> Tags(const std::string& repository);

  // `reference` is a tag or a digest.
  Result<ManifestRef> HeadManifest(const std::string& repository, const std::string& reference);
  Result<Manifest> GetManifest(const std::string& repository, const std::string& reference);
  Result<std::string> GetBlob(const std::string& repository, const std::string& digest);

  // PUT /v2/<repository>/manifests/<reference>; returns the digest the registry computed.
  Result<std::string> PutManifest(const std::string& repository, const std::string& reference,
                                  const std::string& media_type, const std::string& body);
  // DELETE /v2/<repository>/manifests/<digest>. `digest` must be a digest, never a tag.
  Status DeleteManifest(const std::string& repository, const std::string& digest);
  // Uploads `data` as one blob (POST an upload, PUT it with ?digest=); returns its digest.
  Result<std::string> PushBlob(const std::string& repository, const std::string& data);

  // HTTP requests sent so far (retries and token fetches included).
  int64_t request_count() const;
  // The same by kind: method and what it asks for ("GET manifest", "HEAD manifest", "GET blob",
  // "GET tags", "GET catalog", "DELETE manifest", "PUT manifest", "POST upload", "PUT upload",
  // "GET token", "GET ping", "GET redirect").
  std::map<std::string, int64_t> request_counts() const;

 private:
  struct Impl;
  explicit RegistryClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "sha256:<hex>" of `data`.
std::string Sha256Digest(const std::string& data);

// The target of `rel="next"` in a Link header, reduced to path and query
// ("</v2/_catalog?last=a%2Fb&n=2>; rel=\"next\"" -> "/v2/_catalog?last=a%2Fb&n=2"); empty when
// there is none.
std::string NextLink(const std::string& link_header);

// A parsed WWW-Authenticate challenge: scheme ("Basic", "Bearer") and its parameters.
struct AuthChallenge {
  std::string scheme;
  std::string realm;
  std::string service;
  std::string scope;
  std::string error;
};
AuthChallenge ParseAuthChallenge(const std::string& header);

}  // namespace capstan::registry
