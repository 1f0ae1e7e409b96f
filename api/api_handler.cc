#include "api/api_handler.h"

#include <exception>

#include "api/discovery.h"
#include "api/errors.h"
#include "api/negotiation.h"
#include "api/gitops_webhook.h"
#include "api/load_balancer_status.h"
#include "api/request_metrics.h"
#include "api/openapi.h"
#include "api/request_info.h"
#include "base/log.h"

namespace capstan::api {

ApiHandler::ApiHandler(ResourceService* service, const TokenAuthenticator* auth, ApiHandlerOptions options)
    : service_(service), auth_(auth), options_(std::move(options)) {}

HttpResponse ApiHandler::Handle(const HttpRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  HttpResponse r = HandleCaught(req);
  RecordApiRequest(MetricVerb(req), r.status, std::chrono::steady_clock::now() - start);
  return r;
}

HttpResponse ApiHandler::HandleCaught(const HttpRequest& req) {
  try {
    return HandleUnsafe(req);
  } catch (const std::exception& e) {
    log::Error("request failed with an exception", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    return ErrorResponse(Status::Internal(std::string("internal error: ") + e.what()));
  } catch (...) {
    log::Error("request failed with an unknown exception", {{"method", req.method}, {"path", req.path}});
    return ErrorResponse(Status::Internal("internal error"));
  }
}

HttpResponse ApiHandler::HandleUnsafe(const HttpRequest& req) {
  // Health and version are open to all, as in Kubernetes (and what load balancers probe).
  if (req.path == "/healthz" || req.path == "/livez") {
    HttpResponse r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "ok";
    return r;
  }
  if (req.path == "/readyz") {
    HttpResponse r;
    r.content_type = "text/plain; charset=utf-8";
    r.status = shutting_down_ ? 503 : 200;
    r.body = shutting_down_ ? "shutting down" : "ok";
    return r;
  }
  if (req.path == "/version" || req.path == "/version/") return JsonResponse(200, VersionInfo());

  // GitOps webhooks authenticate by their HMAC, not a bearer token (api/gitops_webhook.h).
  if (req.path.rfind(kGitOpsWebhookPrefix, 0) == 0) return HandleGitOpsWebhook(service_, req);

  std::optional<Identity> who;
  if (options_.require_auth) {
    who = auth_ ? auth_->Authenticate(req) : std::nullopt;
    if (!who) return ErrorResponse(Status::Unauthorized("Unauthorized"));
  }
  // Discovery and OpenAPI are reads every authenticated user may do.
  bool handled = false;
  HttpResponse r = HandleNonResource(req, &handled);
  if (handled) return r;
  if (who) {
    if (auto denied = Authorize(*who, req)) return std::move(*denied);
  }
  // Reached with or without authentication (a development server runs without), like any
  // other endpoint.
  if (req.path == "/capstan/v1/backup") {
    if (req.method != "POST") return ErrorResponse(Status(Code::kMethodNotAllowed, "use POST"));
    auto body = DecodeBody(req, options_.max_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    if (!body->is_object() || !body->contains("dir") || !(*body)["dir"].is_string() || !options_.backup) {
      return ErrorResponse(Status::BadRequest("expected {\"dir\": \"/path/on/the/server\"}"));
    }
    Status st = options_.backup((*body)["dir"].get<std::string>());
    if (!st.ok()) return ErrorResponse(st);
    return JsonResponse(200, SuccessStatus());
  }
  // Prometheus metrics: a read like any other (Kubernetes: RBAC on the non-resource URL).
  if (req.path == "/metrics") return MetricsResponse(req);
  if (std::string ns, name; ParseLoadBalancerStatusPath(req.path, &ns, &name)) {
    std::shared_ptr<LoadBalancerStatus> lb;
    {
      std::lock_guard<std::mutex> lock(lb_status_mu_);
      lb = lb_status_;
    }
    return HandleLoadBalancerStatus(service_, lb.get(), req, ns, name);
  }
  return HandleResource(req);
}

bool ApiHandler::HandleAsync(HttpRequest& req, const HttpResponder& respond) {
  // Larger bodies take long enough to decode that they would stall the I/O thread's other
  // connections; the pool decodes them.
  constexpr size_t kMaxInlineBody = 64 * 1024;
  if (req.method != "POST" || req.body.size() > kMaxInlineBody || shutting_down_) return false;
  RequestInfo info;
  if (!ParseRequestInfo(req, &info) || !info.is_resource || info.verb != "create" || !info.name.empty() ||
      !info.subresource.empty()) {
    return false;
  }
  const KindInfo* kind = FindKind(info.group, info.version, info.resource);
  if (kind == nullptr || (!kind->namespaced && !info.namespace_.empty())) return false;
  // Counted when answered (from the store's commit thread).
  const auto start = std::chrono::steady_clock::now();
  HttpResponder counted = [respond, start](HttpResponse r) {
    RecordApiRequest("POST", r.status, std::chrono::steady_clock::now() - start);
    respond(std::move(r));
  };
  return HandleAsyncCreate(req, info, *kind, counted);
}

bool ApiHandler::HandleAsyncCreate(HttpRequest& req, const RequestInfo& info, const KindInfo& kind,
                                   const HttpResponder& respond) {
  try {
    if (options_.require_auth) {
      std::optional<Identity> who = auth_ ? auth_->Authenticate(req) : std::nullopt;
      if (!who) {
        respond(ErrorResponse(Status::Unauthorized("Unauthorized")));
        return true;
      }
      if (auto denied = Authorize(*who, req)) {
        respond(std::move(*denied));
        return true;
      }
    }
    CreateAsync(req, kind, info.namespace_, respond);
  } catch (const std::exception& e) {
    log::Error("request failed with an exception", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    respond(ErrorResponse(Status::Internal(std::string("internal error: ") + e.what())));
  } catch (...) {
    log::Error("request failed with an unknown exception", {{"method", req.method}, {"path", req.path}});
    respond(ErrorResponse(Status::Internal("internal error")));
  }
  return true;
}

std::optional<HttpResponse> ApiHandler::Authorize(const Identity& who, const HttpRequest& req) const {
  RequestInfo info;
  std::string verb = "get";
  if (ParseRequestInfo(req, &info) && info.is_resource) verb = info.verb;
  else if (req.method != "GET" && req.method != "HEAD") verb = "create";
  if (!Authorized(who, verb)) {
    // Worded as Kubernetes' RBAC denial, which users and tools recognise.
    std::string message;
    if (info.is_resource && !info.resource.empty()) {
      std::string what = info.resource + (info.group.empty() ? "" : "." + info.group);
      if (!info.name.empty()) what += " \"" + info.name + "\"";
      std::string resource = info.resource + (info.subresource.empty() ? "" : "/" + info.subresource);
      message = what + " is forbidden: User \"" + who.user + "\" cannot " + verb + " resource \"" + resource +
                "\" in API group \"" + info.group + "\"" +
                (info.namespace_.empty() ? std::string(" at the cluster scope")
                                         : " in the namespace \"" + info.namespace_ + "\"");
    } else {
      message = "forbidden: User \"" + who.user + "\" cannot " + verb + " path \"" + req.path + "\"";
    }
    return ErrorResponse(Status::Forbidden(message + ": the view role may only get, list and watch"));
  }
  return std::nullopt;
}

namespace {

HttpResponse OpenApiV2Response(const HttpRequest& req) {
  HttpResponse r;
  const std::string accept = req.headers.Get("Accept").value_or("");
  if (accept.find("com.github.proto-openapi.spec.v2") != std::string::npos &&
      accept.find("protobuf") != std::string::npos) {
    // Go clients parse the Content-Type with mime.ParseMediaType, which rejects the "@" of the
    // Accept type; Kubernetes answers octet-stream, and so do we.
    r.content_type = "application/octet-stream";
    r.body = OpenApiV2Protobuf();
  } else {
    r.body = OpenApiV2Json().dump();
  }
  return r;
}

}  // namespace

HttpResponse ApiHandler::HandleNonResource(const HttpRequest& req, bool* handled) {
  *handled = true;
  const std::string& p = req.path;
  if (req.method == "GET" || req.method == "HEAD") {
    if (p == "/api" || p == "/api/") return JsonResponse(200, CoreApiVersions(options_.server_address));
    if (p == "/apis" || p == "/apis/") return JsonResponse(200, ApiGroupList());
    if (p == "/openapi/v3" || p == "/openapi/v3/") return JsonResponse(200, OpenApiV3Index());
    if (p.rfind("/openapi/v3/", 0) == 0) {
      const json& doc = OpenApiV3Document(p.substr(12));
      if (doc.is_null()) return ErrorResponse(Status::NotFound("the server could not find the requested resource"));
      HttpResponse r = JsonResponse(200, doc);
      // The URL carries the content hash, so the document may be cached for good.
      if (req.Query("hash")) r.headers.Add("Cache-Control", "public, immutable");
      else r.headers.Add("Cache-Control", "no-cache, private");
      r.headers.Add("Etag", "\"" + OpenApiV3Hash(p.substr(12)) + "\"");
      return r;
    }
    if (p == "/openapi/v2" || p == "/swagger.json") return OpenApiV2Response(req);
    if (p == "/api/v1" || p == "/api/v1/") return JsonResponse(200, ApiResourceList("", "v1"));
    if (p.rfind("/apis/", 0) == 0) {
      std::string rest = p.substr(6);
      while (!rest.empty() && rest.back() == '/') rest.pop_back();
      auto slash = rest.find('/');
      if (slash == std::string::npos) {
        json g = ApiGroup(rest);
        if (g.is_null()) return ErrorResponse(Status::NotFound("the server could not find the requested resource"));
        return JsonResponse(200, g);
      }
      if (rest.find('/', slash + 1) == std::string::npos) {
        json l = ApiResourceList(rest.substr(0, slash), rest.substr(slash + 1));
        if (l.is_null()) return ErrorResponse(Status::NotFound("the server could not find the requested resource"));
        return JsonResponse(200, l);
      }
    }
  }
  *handled = false;
  return {};
}

void ApiHandler::SetLoadBalancerStatus(std::shared_ptr<LoadBalancerStatus> status) {
  std::lock_guard<std::mutex> lock(lb_status_mu_);
  lb_status_ = std::move(status);
}

}  // namespace capstan::api
