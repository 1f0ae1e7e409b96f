// pods/log and pods/exec: checks, then forwarded to the node's PodStreams (pod_streams.h).
#include <cstdlib>

#include "api/api_handler.h"
#include "api/errors.h"
#include "api/kind.h"
#include "api/negotiation.h"

namespace capstan::api {

namespace {

bool BoolQuery(const HttpRequest& req, const char* name) {
  auto v = req.Query(name);
  return v && (*v == "true" || *v == "1");
}

Result<int64_t> IntQuery(const HttpRequest& req, const char* name, int64_t fallback) {
  auto v = req.Query(name);
  if (!v) return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || n < 0) {
    return Status::BadRequest(std::string("query parameter ") + name + ": expected a number >= 0, got \"" + *v + "\"");
  }
  return static_cast<int64_t>(n);
}

}  // namespace

void ApiHandler::SetPodStreams(std::shared_ptr<PodStreams> streams) {
  std::lock_guard<std::mutex> lock(pod_streams_mu_);
  pod_streams_ = std::move(streams);
}

HttpResponse ApiHandler::HandlePodStream(const HttpRequest& req, const std::string& ns, const std::string& name,
                                         const std::string& subresource) {
  const bool exec = subresource == "exec";
  if (exec && req.method != "POST") {
    return ErrorResponse(Status(Code::kMethodNotAllowed, "the exec subresource supports POST"));
  }
  if (!exec && req.method != "GET") return ErrorResponse(Status(Code::kMethodNotAllowed, "the log subresource supports GET"));
  if (exec && req.headers.Get("Upgrade")) {
    return ErrorResponse(Status::BadRequest(
        "interactive exec (an Upgrade to SPDY or WebSocket, as kubectl exec asks) is not supported by capstan yet; "
        "run the command with `capstan exec POD -- COMMAND...`"));
  }
  const KindInfo* pods = FindKind("", "v1", "pods");
  auto pod = service_->Get(*pods, ns, name);
  if (!pod.ok()) return ErrorResponse(pod.status());
  std::shared_ptr<PodStreams> streams;
  {
    std::lock_guard<std::mutex> lock(pod_streams_mu_);
    streams = pod_streams_;
  }
  const std::string node = (*pod)["spec"].value("nodeName", "");
  if (node.empty()) {
    return ErrorResponse(Status::BadRequest("pod " + name + " is not scheduled to a node yet"));
  }
  if (streams == nullptr || streams->NodeName() != node) {
    return ErrorResponse(Status::Unavailable("pod " + name + " runs on node " + node +
                                             ", whose agent is not part of this server"));
  }
  if (exec) {
    PodExecRequest r;
    r.container = req.Query("container").value_or("");
    auto [first, last] = req.query.equal_range("command");
    for (auto it = first; it != last; ++it) r.command.push_back(it->second);
    if (r.command.empty()) return ErrorResponse(Status::BadRequest("exec: give the command as command=... parameters"));
    auto timeout = IntQuery(req, "timeoutSeconds", 0);
    if (!timeout.ok()) return ErrorResponse(timeout.status());
    r.timeout = std::chrono::seconds(*timeout);
    return streams->Exec(*pod, r);
  }
  PodLogRequest r;
  r.container = req.Query("container").value_or("");
  r.follow = BoolQuery(req, "follow");
  if (BoolQuery(req, "previous")) {
    return ErrorResponse(Status::BadRequest("previous: the logs of an earlier run of a container are not kept"));
  }
  auto tail = IntQuery(req, "tailLines", -1);
  if (!tail.ok()) return ErrorResponse(tail.status());
  r.tail_lines = *tail;
  auto limit = IntQuery(req, "limitBytes", 0);
  if (!limit.ok()) return ErrorResponse(limit.status());
  r.limit_bytes = *limit;
  return streams->Logs(*pod, r);
}

}  // namespace capstan::api
