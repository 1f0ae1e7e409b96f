// ApiHandler: the Kubernetes-compatible HTTP API as one function from HttpRequest to
// HttpResponse. Order for every request: authenticate (401) -> non-resource endpoints (health,
// version, discovery, OpenAPI) -> authorize (403) -> decode (400/413/415) -> ResourceService ->
// encode (JSON, or a Table / PartialObjectMetadata when the Accept header asks for one).
// No exception leaves Handle(): anything unexpected becomes a 500 Status.
//
// Thread-safety: Handle() is called concurrently from the HTTP server's handler pool.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/auth.h"
#include "api/http/http_types.h"
#include "api/load_balancer_status.h"
#include "api/pod_streams.h"
#include "api/decoded_event_cache.h"
#include "api/resource_service.h"

namespace capstan::api {

struct RequestInfo;

struct ApiHandlerOptions {
  std::string server_address = "127.0.0.1:7420";  // reported in /api discovery
  bool require_auth = true;
  size_t max_depth = 100;                          // JSON/YAML nesting limit of request bodies
  std::chrono::seconds max_watch_timeout{3600};
  // Online backup into a directory on the server's host (POST /capstan/v1/backup, admin only).
  std::function<Status(const std::string& dir)> backup;
};

class ApiHandler {
 public:
  ApiHandler(ResourceService* service, const TokenAuthenticator* auth, ApiHandlerOptions options);

  HttpResponse Handle(const HttpRequest& req);

  // The HTTP server's fast path (an HttpAsyncHandler, called on an I/O thread): takes creates
  // (POST to a collection) with small bodies and answers them once the write is durable, from
  // the store's commit thread, so no pool thread waits for the fsync; declines everything else
  // (returns false, request untouched). Answers exactly as Handle would.
  bool HandleAsync(HttpRequest& req, const HttpResponder& respond);

  // Once set, /readyz answers 503 and new watches are refused (graceful shutdown).
  void SetShuttingDown() { shutting_down_ = true; }

  // Where pods/log and pods/exec go (pod_streams.h); null: nowhere (503). Any thread.
  void SetPodStreams(std::shared_ptr<PodStreams> streams);
  // What answers GET /capstan/v1/namespaces/NS/services/NAME/loadbalancer (load_balancer_status.h);
  // null: no load balancer. Any thread.
  void SetLoadBalancerStatus(std::shared_ptr<LoadBalancerStatus> status);

 private:
  HttpResponse HandleUnsafe(const HttpRequest& req);
  HttpResponse HandleCaught(const HttpRequest& req);  // HandleUnsafe; exceptions become a 500
  bool HandleAsyncCreate(HttpRequest& req, const RequestInfo& info, const KindInfo& kind,
                         const HttpResponder& respond);
  // 403 when `who` may not do what `req` asks.
  std::optional<HttpResponse> Authorize(const Identity& who, const HttpRequest& req) const;
  void CreateAsync(const HttpRequest& req, const KindInfo& kind, const std::string& ns, const HttpResponder& respond);
  HttpResponse HandleNonResource(const HttpRequest& req, bool* handled);
  HttpResponse HandleResource(const HttpRequest& req);
  HttpResponse HandleList(const HttpRequest& req, const KindInfo& kind, const std::string& ns);
  // `name` is set for a watch of one object (GET .../{name}?watch=1).
  HttpResponse HandleWatch(const HttpRequest& req, const KindInfo& kind, const std::string& ns,
                           const std::string& name);
  // pods/log and pods/exec (resource_pod_streams.cc).
  HttpResponse HandlePodStream(const HttpRequest& req, const std::string& ns, const std::string& name,
                               const std::string& subresource);
  // A patch body: always JSON, whatever patch type.
  Result<json> ParseJsonBody(const HttpRequest& req) const;

  ResourceService* const service_;
  const TokenAuthenticator* const auth_;
  const ApiHandlerOptions options_;
  std::atomic<bool> shutting_down_{false};
  mutable std::mutex pod_streams_mu_;
  std::shared_ptr<PodStreams> pod_streams_;  // guarded by pod_streams_mu_
  mutable std::mutex lb_status_mu_;
  std::shared_ptr<LoadBalancerStatus> lb_status_;  // guarded by lb_status_mu_
};

}  // namespace capstan::api
