#include "api/request_metrics.h"

#include <map>
#include <utility>

#include "api/errors.h"
#include "api/request_info.h"
#include "base/metrics.h"

namespace capstan::api {
namespace {

struct ApiMetrics {
  metrics::CounterFamily& requests;
  metrics::HistogramFamily& durations;
};

ApiMetrics& Metrics() {
  static ApiMetrics m{
      metrics::DefaultRegistry().Counter("apiserver_request_total",
                                         "Requests the API server answered, by verb and HTTP status code.",
                                         {"verb", "code"}),
      metrics::DefaultRegistry().Histogram("apiserver_request_duration_seconds",
                                           "Time from a request's arrival at the handler to its response (watches "
                                           "excluded), by verb.",
                                           {"verb"}, metrics::DurationBuckets())};
  return m;
}

}  // namespace

std::string MetricVerb(const HttpRequest& req) {
  RequestInfo info;
  if (!ParseRequestInfo(req, &info) || !info.is_resource) return req.method;
  if (info.subresource == "exec") return "CONNECT";
  if (info.verb == "get") return "GET";
  if (info.verb == "list") return "LIST";
  if (info.verb == "watch") return "WATCH";
  if (info.verb == "create") return "POST";
  if (info.verb == "update") return "PUT";
  if (info.verb == "patch") {
    const std::string type = req.headers.Get("Content-Type").value_or("");
    return type.rfind("application/apply-patch", 0) == 0 ? "APPLY" : "PATCH";
  }
  if (info.verb == "delete" || info.verb == "deletecollection") return "DELETE";
  return req.method;
}

void RecordApiRequest(const std::string& verb, int status, std::chrono::steady_clock::duration took) {
  // Every request passes here: each handler thread keeps the series it used, so the families'
  // mutexes are taken once per thread and series, not per request (series live as long as the
  // process's registry and these families are never cleared).
  struct Series {
    metrics::Counter* requests;
    metrics::Histogram* duration;
  };
  thread_local std::map<std::pair<std::string, int>, Series> cache;
  auto it = cache.find({verb, status});
  if (it == cache.end()) {
    ApiMetrics& m = Metrics();
    it = cache.emplace(std::make_pair(verb, status),
                       Series{&m.requests.With({verb, std::to_string(status)}),
                              verb == "WATCH" ? nullptr : &m.durations.With({verb})})
             .first;
  }
  it->second.requests->Inc();
  if (it->second.duration != nullptr) it->second.duration->Observe(std::chrono::duration<double>(took).count());
}

HttpResponse MetricsResponse(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") return ErrorResponse(Status(Code::kMethodNotAllowed, "use GET"));
  Metrics();  // the API's families exist from the first scrape on
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics::DefaultRegistry().Render();
  return r;
}

}  // namespace capstan::api
