// ApiHandler's resource endpoints: the verbs on /api/v1/... and /apis/{g}/{v}/... paths.
#include <cstdlib>
#include <future>
#include <random>

#include "api/api_handler.h"
#include "api/errors.h"
#include "api/negotiation.h"
#include "api/object_meta.h"
#include "api/request_info.h"
#include "api/table.h"
#include "api/watch_stream.h"
#include "base/yaml.h"

namespace capstan::api {
namespace {

HttpResponse NotFoundPath() {
  return ErrorResponse(Status::NotFound("the server could not find the requested resource"));
}

bool DryRun(const HttpRequest& req) {
  auto v = req.Query("dryRun");
  return v && *v == "All";
}

Status DryRunValid(const HttpRequest& req) {
  auto v = req.Query("dryRun");
  if (v && !v->empty() && *v != "All") {
    return Status::BadRequest("dryRun: Unsupported value: \"" + *v + "\": supported values: \"All\"");
  }
  return Status::Ok();
}

json PartialMetadata(const json& obj) {
  return {{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", obj["metadata"]}};
}

// The answer to an in-process caller that asked for the decoded value (HttpRequest::decoded_response).
HttpResponse DecodedResponse(int status, json obj) {
  HttpResponse res;
  res.status = status;
  res.decoded_body = std::make_shared<json>(std::move(obj));
  return res;
}

// The same for an object shared with others (a write's, which its watch event carries too).
HttpResponse SharedResponse(int status, ObjectRef obj) {
  HttpResponse res;
  res.status = status;
  res.shared_body = std::move(obj);
  return res;
}

// Encodes one object in representation `rep` (negotiated from `req`, whose query it reads).
HttpResponse ObjectResponse(const HttpRequest& req, Representation rep, const KindInfo& kind, int status,
                            const json& obj) {
  if (rep == Representation::kTable) {
    return JsonResponse(status, ToTable(kind, {obj}, json{{"resourceVersion", MetaString(obj, "resourceVersion")}},
                                        TableOptions{IncludeObjectParam(req), true}));
  }
  if (rep == Representation::kPartialMetadata) return JsonResponse(status, PartialMetadata(obj));
  return JsonResponse(status, obj);
}

// Encodes one object in the representation the client asked for.
HttpResponse ObjectResponse(const HttpRequest& req, const KindInfo& kind, int status, json obj) {
  auto rep = NegotiateRepresentation(req);
  if (!rep.ok()) return ErrorResponse(rep.status());
  if (*rep == Representation::kJson && req.decoded_response) return DecodedResponse(status, std::move(obj));
  return ObjectResponse(req, *rep, kind, status, obj);
}

// The same for a written object (ResourceService's shared answers): never copied.
HttpResponse ObjectResponse(const HttpRequest& req, const KindInfo& kind, int status, const ObjectRef& obj) {
  auto rep = NegotiateRepresentation(req);
  if (!rep.ok()) return ErrorResponse(rep.status());
  if (*rep == Representation::kJson && req.decoded_response) return SharedResponse(status, obj);
  return ObjectResponse(req, *rep, kind, status, *obj);
}

Result<DeleteOptions> ParseDeleteOptions(const HttpRequest& req, size_t max_depth) {
  DeleteOptions opts;
  if (auto p = req.Query("propagationPolicy")) opts.propagation_policy = *p;
  if (auto g = req.Query("gracePeriodSeconds")) {
    char* end = nullptr;
    long long v = std::strtoll(g->c_str(), &end, 10);
    if (g->empty() || end != g->c_str() + g->size()) {
      return Status::BadRequest("gracePeriodSeconds: must be an integer, not \"" + *g + "\"");
    }
    opts.grace_period_seconds = v;
  }
  opts.dry_run = DryRun(req);
  if (!req.body.empty() || req.decoded_body) {
    auto body = DecodeBody(req, max_depth);
    if (!body.ok()) return body.status();
    const json& b = *body;
    if (!b.is_object()) return Status::BadRequest("DeleteOptions must be an object");
    if (b.contains("propagationPolicy") && b["propagationPolicy"].is_string()) {
      opts.propagation_policy = b["propagationPolicy"].get<std::string>();
    }
    if (b.contains("orphanDependents") && b["orphanDependents"].is_boolean() && opts.propagation_policy.empty()) {
      opts.propagation_policy = b["orphanDependents"].get<bool>() ? "Orphan" : "Background";
    }
    if (b.contains("gracePeriodSeconds") && !b["gracePeriodSeconds"].is_null()) {
      if (!b["gracePeriodSeconds"].is_number_integer()) {
        return Status::BadRequest("DeleteOptions.gracePeriodSeconds: must be an integer");
      }
      opts.grace_period_seconds = b["gracePeriodSeconds"].get<int64_t>();
    }
    if (b.contains("dryRun") && b["dryRun"].is_array()) {
      for (const auto& d : b["dryRun"]) opts.dry_run = opts.dry_run || d == "All";
    }
    if (b.contains("preconditions") && b["preconditions"].is_object()) {
      const json& pc = b["preconditions"];
      if (pc.contains("uid") && pc["uid"].is_string()) opts.precondition_uid = pc["uid"].get<std::string>();
      if (pc.contains("resourceVersion") && pc["resourceVersion"].is_string()) {
        opts.precondition_rv = pc["resourceVersion"].get<std::string>();
      }
    }
  }
  return opts;
}

Result<ListQuery> ParseListQuery(const HttpRequest& req) {
  ListQuery q;
  if (auto l = req.Query("labelSelector")) {
    auto sel = LabelSelector::Parse(*l);
    if (!sel.ok()) return sel.status();
    q.labels = std::move(*sel);
  }
  if (auto f = req.Query("fieldSelector")) {
    auto sel = FieldSelector::Parse(*f);
    if (!sel.ok()) return sel.status();
    q.fields = std::move(*sel);
  }
  if (auto l = req.Query("limit")) {
    int64_t n = ParseResourceVersion(*l);
    if (n < 0) return Status::BadRequest("limit must be a non-negative integer");
    q.limit = n;
  }
  if (auto c = req.Query("continue")) q.continue_token = *c;
  return q;
}

}  // namespace

void ApiHandler::CreateAsync(const HttpRequest& req, const KindInfo& kind, const std::string& ns,
                             const HttpResponder& respond) {
  if (auto st = DryRunValid(req); !st.ok()) return respond(ErrorResponse(st));
  // Negotiated before the write, so a client that accepts nothing we serve changes nothing.
  auto rep = NegotiateRepresentation(req);
  if (!rep.ok()) return respond(ErrorResponse(rep.status()));
  auto body = DecodeBody(req, options_.max_depth);
  if (!body.ok()) return respond(ErrorResponse(body.status()));
  // What the answer needs of the request, copied: the request is gone when the write completes.
  HttpRequest shape;
  if (*rep != Representation::kJson) shape.query = req.query;
  service_->CreateAsync(kind, ns, std::move(*body), WriteOptions{DryRun(req)},
                        [&kind, rep = *rep, shape = std::move(shape), decoded = req.decoded_response,
                         respond](Result<CreatedObject> r) {
                          if (!r.ok()) return respond(ErrorResponse(r.status()));
                          if (rep == Representation::kJson && decoded) {
                            return respond(SharedResponse(201, std::move(r->object)));
                          }
                          if (rep == Representation::kJson && !r->encoded.empty()) {
                            HttpResponse res;
                            res.status = 201;
                            res.body = std::move(r->encoded);
                            return respond(std::move(res));
                          }
                          respond(ObjectResponse(shape, rep, kind, 201, *r->object));
                        });
}

HttpResponse ApiHandler::HandleResource(const HttpRequest& req) {
  RequestInfo info;
  if (!ParseRequestInfo(req, &info) || !info.is_resource) return NotFoundPath();
  const KindInfo* kind = FindKind(info.group, info.version, info.resource);
  if (kind == nullptr) return NotFoundPath();
  const std::string& ns = info.namespace_;
  if (kind->namespaced == false && !ns.empty()) return NotFoundPath();
  if (auto st = DryRunValid(req); !st.ok()) return ErrorResponse(st);
  WriteOptions wopts{DryRun(req)};

  if (!info.subresource.empty()) {
    const std::string& sub = info.subresource;
    if (sub == "scale" && kind->scale) {
      if (info.verb == "get") {
        auto s = service_->GetScale(*kind, ns, info.name);
        return s.ok() ? JsonResponse(200, *s) : ErrorResponse(s.status());
      }
      if (info.verb == "update" || info.verb == "patch") {
        std::optional<PatchType> pt;
        json body;
        if (info.verb == "patch") {
          auto t = PatchTypeOf(req);
          if (!t.ok()) return ErrorResponse(t.status());
          pt = *t;
          auto b = ParseJsonBody(req);
          if (!b.ok()) return ErrorResponse(b.status());
          body = std::move(*b);
        } else {
          auto b = DecodeBody(req, options_.max_depth);
          if (!b.ok()) return ErrorResponse(b.status());
          body = std::move(*b);
        }
        auto s = service_->UpdateScale(*kind, ns, info.name, pt, body, wopts);
        return s.ok() ? JsonResponse(200, *s) : ErrorResponse(s.status());
      }
      return ErrorResponse(Status(Code::kMethodNotAllowed, "the scale subresource supports get, update and patch"));
    }
    if (sub == "binding" && kind->binding_subresource) {
      if (info.verb != "create") return ErrorResponse(Status(Code::kMethodNotAllowed, "the binding subresource supports create"));
      auto body = DecodeBody(req, options_.max_depth);
      if (!body.ok()) return ErrorResponse(body.status());
      Status st = service_->Bind(*kind, ns, info.name, *body, wopts);
      if (!st.ok()) return ErrorResponse(st);
      json ok = SuccessStatus();
      ok["code"] = 201;
      if (req.decoded_response) return DecodedResponse(201, std::move(ok));  // the scheduler's, in-process
      return JsonResponse(201, ok);
    }
    if ((sub == "log" || sub == "exec") && kind->pod_streams) return HandlePodStream(req, ns, info.name, sub);
    if (sub != "status" || !kind->status_subresource) return NotFoundPath();
    if (info.verb == "get") {
      auto obj = service_->Get(*kind, ns, info.name);
      return obj.ok() ? ObjectResponse(req, *kind, 200, std::move(*obj)) : ErrorResponse(obj.status());
    }
    if (info.verb != "update" && info.verb != "patch") {
      return ErrorResponse(Status(Code::kMethodNotAllowed, "the status subresource supports get, update and patch"));
    }
  }

  if (info.verb == "list") return HandleList(req, *kind, ns);
  if (info.verb == "watch") return HandleWatch(req, *kind, ns, info.name);
  if (info.verb == "get") {
    auto obj = service_->Get(*kind, ns, info.name);
    return obj.ok() ? ObjectResponse(req, *kind, 200, std::move(*obj)) : ErrorResponse(obj.status());
  }
  if (info.verb == "create") {
    if (!info.name.empty()) return ErrorResponse(Status(Code::kMethodNotAllowed, "POST to a named object is not allowed"));
    // The same code as the fast path, waited for here.
    std::promise<HttpResponse> answer;
    std::future<HttpResponse> answered = answer.get_future();
    CreateAsync(req, *kind, ns, [&answer](HttpResponse r) { answer.set_value(std::move(r)); });
    return answered.get();
  }
  if (info.verb == "update") {
    auto body = DecodeBody(req, options_.max_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    auto obj = service_->UpdateShared(*kind, ns, info.name, info.subresource, std::move(*body), wopts);
    return obj.ok() ? ObjectResponse(req, *kind, 200, *obj) : ErrorResponse(obj.status());
  }
  if (info.verb == "patch") {
    auto type = PatchTypeOf(req);
    if (!type.ok()) return ErrorResponse(type.status());
    auto body = ParseJsonBody(req);
    if (!body.ok()) return ErrorResponse(body.status());
    auto obj = service_->PatchShared(*kind, ns, info.name, info.subresource, *type, *body, wopts);
    return obj.ok() ? ObjectResponse(req, *kind, 200, *obj) : ErrorResponse(obj.status());
  }
  if (info.verb == "delete") {
    auto opts = ParseDeleteOptions(req, options_.max_depth);
    if (!opts.ok()) return ErrorResponse(opts.status());
    auto obj = service_->DeleteShared(*kind, ns, info.name, *opts);
    return obj.ok() ? ObjectResponse(req, *kind, 200, *obj) : ErrorResponse(obj.status());
  }
  if (info.verb == "deletecollection") {
    auto q = ParseListQuery(req);
    if (!q.ok()) return ErrorResponse(q.status());
    auto opts = ParseDeleteOptions(req, options_.max_depth);
    if (!opts.ok()) return ErrorResponse(opts.status());
    auto page = service_->List(*kind, ns, *q);
    if (!page.ok()) return ErrorResponse(page.status());
    json items = json::array();
    for (const auto& o : page->items) {
      auto d = service_->Delete(*kind, MetaString(o, "namespace"), MetaString(o, "name"), *opts);
      if (!d.ok() && !d.status().IsNotFound()) return ErrorResponse(d.status());
      if (d.ok()) items.push_back(*d);
    }
    return JsonResponse(200, {{"kind", kind->list_kind}, {"apiVersion", kind->api_version()},
                              {"metadata", json::object()}, {"items", items}});
  }
  return ErrorResponse(Status(Code::kMethodNotAllowed, "method " + req.method + " is not allowed here"));
}

Result<json> ApiHandler::ParseJsonBody(const HttpRequest& req) const {
  if (req.decoded_body) return std::move(*req.decoded_body);  // consumed (http_types.h)
  if (req.body.empty()) return Status::BadRequest("the request body is empty");
  return ParseJson(req.body, options_.max_depth);
}

HttpResponse ApiHandler::HandleList(const HttpRequest& req, const KindInfo& kind, const std::string& ns) {
  auto rep = NegotiateRepresentation(req);
  if (!rep.ok()) return ErrorResponse(rep.status());
  auto q = ParseListQuery(req);
  if (!q.ok()) return ErrorResponse(q.status());
  q->encoded_ok = *rep == Representation::kJson;
  auto page = service_->List(kind, ns, *q);
  if (!page.ok()) return ErrorResponse(page.status());
  json meta = {{"resourceVersion", std::to_string(page->revision)}};
  if (!page->continue_token.empty()) {
    meta["continue"] = page->continue_token;
    if (page->remaining >= 0) meta["remainingItemCount"] = page->remaining;
  }
  if (*rep == Representation::kTable) {
    return JsonResponse(200, ToTable(kind, page->items, meta, TableOptions{IncludeObjectParam(req), true}));
  }
  json items = json::array();
  if (*rep == Representation::kPartialMetadata) {
    for (const auto& o : page->items) items.push_back(PartialMetadata(o));
    return JsonResponse(200, {{"kind", "PartialObjectMetadataList"}, {"apiVersion", "meta.k8s.io/v1"},
                              {"metadata", meta}, {"items", std::move(items)}});
  }
  // The list envelope is serialized once; the items are spliced in as the text they already are.
  HttpResponse r;
  r.body = "{\"apiVersion\":" + json(kind.api_version()).dump() + ",\"items\":[";
  bool first = true;
  for (const auto& text : page->encoded) {
    if (!first) r.body += ',';
    r.body += text;
    first = false;
  }
  for (const auto& o : page->items) {
    if (!first) r.body += ',';
    r.body += o.dump(-1, ' ', false, json::error_handler_t::replace);
    first = false;
  }
  r.body += "],\"kind\":" + json(kind.list_kind).dump() + ",\"metadata\":" + meta.dump() + "}";
  return r;
}

HttpResponse ApiHandler::HandleWatch(const HttpRequest& req, const KindInfo& kind, const std::string& ns,
                                     const std::string& name) {
  if (shutting_down_) return ErrorResponse(Status::Unavailable("the server is shutting down"));
  auto rep = NegotiateRepresentation(req);
  if (!rep.ok()) return ErrorResponse(rep.status());
  auto q = ParseListQuery(req);
  if (!q.ok()) return ErrorResponse(q.status());
  if (!name.empty()) {
    // GET .../{name}?watch=1 (and /watch/.../{name}) watches that one object, as Kubernetes turns
    // the name into a metadata.name field selector.
    std::string fs = req.Query("fieldSelector").value_or("");
    auto sel = FieldSelector::Parse(fs.empty() ? "metadata.name=" + name : fs + ",metadata.name=" + name);
    if (!sel.ok()) return ErrorResponse(sel.status());
    q->fields = std::move(*sel);
  }
  std::vector<std::string> supported = {"metadata.name", "metadata.namespace"};
  supported.insert(supported.end(), kind.field_selectors.begin(), kind.field_selectors.end());
  if (auto st = q->fields.CheckSupported(supported); !st.ok()) return ErrorResponse(st);

  WatchSpec spec;
  spec.decoded = service_->decoded_events();
  spec.kind = &kind;
  spec.ns = ns;
  spec.labels = q->labels;
  spec.fields = q->fields;
  auto bm = req.Query("allowWatchBookmarks");
  spec.bookmarks = bm && (*bm == "true" || *bm == "1");
  // Kubernetes ends watches after a randomized timeout so that reconnects spread out.
  int64_t timeout = 1800 + static_cast<int64_t>(std::random_device{}() % 1800);
  if (auto t = req.Query("timeoutSeconds")) {
    int64_t v = ParseResourceVersion(*t);
    if (v < 0) return ErrorResponse(Status::BadRequest("timeoutSeconds must be a non-negative integer"));
    if (v > 0) timeout = v;
  }
  timeout = std::min<int64_t>(timeout, options_.max_watch_timeout.count());
  spec.timeout = std::chrono::seconds(timeout);
  if (*rep == Representation::kTable) {
    const KindInfo* k = &kind;
    IncludeObject include = IncludeObjectParam(req);
    spec.transform = [k, include](const json& obj, bool first) {
      return ToTable(*k, {obj}, json{{"resourceVersion", MetaString(obj, "resourceVersion")}},
                     TableOptions{include, first});
    };
  } else if (*rep == Representation::kPartialMetadata) {
    spec.transform = [](const json& obj, bool) { return PartialMetadata(obj); };
  }

  const std::string rv_param = req.Query("resourceVersion").value_or("");
  int64_t start = ParseResourceVersion(rv_param);
  if (start < 0) return ErrorResponse(Status::BadRequest("resourceVersion: Invalid value: \"" + rv_param + "\""));
  std::vector<json> initial;
  if (start == 0) {
    // No resourceVersion (or "0"): the current state as ADDED events, then changes after it.
    ListQuery all = *q;
    all.limit = 0;
    all.continue_token.clear();
    auto page = service_->List(kind, ns, all);
    if (!page.ok()) return ErrorResponse(page.status());
    initial = std::move(page->items);
    start = page->revision;
  }
  auto relay = std::make_shared<NotifyRelay>();
  store::WatchOptions wo;
  wo.prefix = StorePrefix(kind, ns);
  wo.start_revision = start;
  wo.notify = [relay] { relay->Fire(); };
  auto watch = service_->store()->StartWatch(wo);
  HttpResponse r;
  r.headers.Add("Cache-Control", "no-cache, private");
  if (!watch.ok()) {
    if (watch.status().IsExpired()) {
      // Kubernetes answers 200 and an ERROR event; client-go then re-lists.
      r.stream = WatchStream::Error(Status::Expired("too old resource version: " + rv_param + " (" +
                                                    std::to_string(service_->store()->CompactedRevision()) + ")"));
      return r;
    }
    return ErrorResponse(watch.status());
  }
  r.stream = std::make_shared<WatchStream>(std::move(spec), std::move(initial), std::move(*watch), start, relay);
  return r;
}

}  // namespace capstan::api
