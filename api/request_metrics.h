// The API server's own metrics (docs/metrics.md) and GET /metrics.
//   apiserver_request_total{verb,code}            every request the handler answered
//   apiserver_request_duration_seconds{verb}      the same without WATCH (a watch lasts as long
//                                                 as its client wants)
// Verbs are Kubernetes' metric verbs: GET, LIST, WATCH, POST, PUT, PATCH, APPLY (server-side
// apply), DELETE (also deletecollection), CONNECT (pods/exec); other paths the HTTP method.
// Requests the HTTP layer answers itself (413, 429, 503 while stopping) are not counted.
//
// Thread-safety: any thread (metrics::Registry's).
#pragma once

#include <chrono>
#include <string>

#include "api/http/http_types.h"

namespace capstan::api {

// The metric verb of a request.
std::string MetricVerb(const HttpRequest& req);

void RecordApiRequest(const std::string& verb, int status, std::chrono::steady_clock::duration took);

// GET /metrics: metrics::DefaultRegistry() in the Prometheus text format 0.0.4.
HttpResponse MetricsResponse(const HttpRequest& req);

}  // namespace capstan::api
