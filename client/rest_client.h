// RestClient: JSON requests to a Kubernetes-compatible API server (Capstan's or any other).
//
// Paths are server-relative ("/api/v1/namespaces/default/pods"); query parameters are encoded
// here. A non-2xx answer becomes a Status: the code follows the HTTP status (and, for 409, the
// Kubernetes Status.reason: AlreadyExists vs Conflict) and the message is the server's
// Status.message, so callers print what the server said. A refused connection is kUnavailable
// with a hint to start `capstan server`; a timeout is kTimeout.
//
// Connections: requests reuse idle keep-alive connections (a few, kept per RestClient); a
// connection serves one request at a time. Without reuse every request paid a TCP connect, a TLS
// handshake and OpenSSL 3's context set-up, about 20 ms of client CPU: `capstan apply` of 1,000
// objects took over a minute. Streams (watch, logs -f) always get a connection of their own.
//
// Thread-safety: a RestClient is immutable after Create but for its idle-connection list, which a
// mutex guards; calls from several threads at once are safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/kubeconfig.h"

namespace capstan::client {

using json = nlohmann::json;
using Query = std::vector<std::pair<std::string, std::string>>;

struct RestClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Per request; 0 means none (reads may then block for as long as the server takes).
  std::chrono::milliseconds request_timeout{60000};
  std::string user_agent = "capstan";
};

enum class PatchType {
  kMerge,      // application/merge-patch+json
  kStrategic,  // application/strategic-merge-patch+json
  kJson,       // application/json-patch+json
};
const char* PatchContentType(PatchType type);

// The Accept header that asks the server for a meta.k8s.io/v1 Table (server-side printing).
inline constexpr const char* kAcceptTable = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json";

struct RawResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

class RestClient {
 public:
  // kInvalid for a malformed server URL; kUnimplemented-like kBadRequest for https when the
  // HTTP library was built without TLS.
  static Result<std::unique_ptr<RestClient>> Create(const Connection& connection, const RestClientOptions& options = {});
  ~RestClient();

  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  const std::string& server() const { return server_; }

  // `accept` empty means "application/json".
  Result<json> Get(const std::string& path, const Query& query = {}, const std::string& accept = "") const;
  Result<json> Create(const std::string& path, const json& body, const Query& query = {}) const;  // POST
  Result<json> Update(const std::string& path, const json& body, const Query& query = {}) const;  // PUT
  Result<json> Patch(const std::string& path, PatchType type, const json& patch, const Query& query = {}) const;
  // `options` (a DeleteOptions object) may be null: no body.
  Result<json> Delete(const std::string& path, const json& options = nullptr, const Query& query = {}) const;

  // Any request; a non-2xx status is returned, not turned into an error. Transport errors are.
  Result<RawResponse> Do(const std::string& method, const std::string& path, const Query& query,
                         const std::string& body, const std::string& content_type,
                         const std::string& accept) const;

  // Streams the body of a GET to `on_data` as it arrives, until it returns false (then OK), the
  // server ends it (OK), or an error (a non-2xx answer becomes its Status). The read timeout is
  // `idle_timeout` between bytes. `pods/log?follow=true` is read this way.
  Status Stream(const std::string& path, const Query& query, const std::string& accept,
                const std::function<bool(std::string_view data)>& on_data,
                std::chrono::milliseconds idle_timeout = std::chrono::hours(24)) const;
  // Streams a watch (the caller puts watch=true, resourceVersion, ... into `query`). Calls
  // `on_event` with each event ({"type": ..., "object": ...}) in order until it returns false
  // (then OK), the server ends the stream (OK), or an error. An ERROR event ends the watch with
  // the Status it carries (410 → kExpired), without reaching `on_event`. The read timeout for
  // a watch is `idle_timeout` between bytes, not the request timeout.
  Status Watch(const std::string& path, const Query& query, const std::function<bool(const json& event)>& on_event,
               const std::string& accept = "",
               std::chrono::milliseconds idle_timeout = std::chrono::hours(24)) const;

 private:
  struct Endpoint;
  RestClient(std::unique_ptr<Endpoint> endpoint, std::string server, std::string token, RestClientOptions options);

  Result<json> DoJson(const std::string& method, const std::string& path, const Query& query,
                      const std::string& body, const std::string& content_type, const std::string& accept) const;

  // Constant after construction.
  std::unique_ptr<Endpoint> endpoint_;
  std::string server_;
  std::string token_;
  RestClientOptions options_;
};

// Maps an HTTP error response to a Status: code from `http_status` (and Status.reason in a
// Kubernetes Status body), message from Status.message or, failing that, the body itself.
Status StatusFromResponse(int http_status, const std::string& body);

// "a=b&c=d" with percent-encoding (RFC 3986 unreserved characters kept).
std::string EncodeQuery(const Query& query);

}  // namespace capstan::client
