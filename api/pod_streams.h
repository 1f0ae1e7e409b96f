// PodStreams: what serves the pods/log and pods/exec subresources. The API server has no
// containers of its own: the node agent that runs a Pod answers for it (the kubelet's role behind
// kube-apiserver's proxy), so the server forwards these requests to the PodStreams of its node,
// set once the agent runs (ApiServer::SetPodStreams).
//
//   GET  .../pods/NAME/log?container=&follow=&tailLines=&limitBytes=   text/plain; streamed
//        with chunked encoding while following, until the container ends or the client leaves.
//   POST .../pods/NAME/exec?container=&command=A&command=B...          runs the command to its
//        end and answers a v1 Status-like JSON document with its output and exit code
//        (PodExecResult below). Interactive exec (an Upgrade to SPDY or WebSocket, what
//        `kubectl exec` asks for) is refused with 400 and a message saying so.
// A Pod not bound to this server's node, or no node at all, answers 503 naming why.
//
// Thread-safety: implementations are called from handler threads, concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http/http_types.h"

namespace capstan::api {

struct PodLogRequest {
  std::string container;  // empty: the pod's only container
  bool follow = false;
  int64_t tail_lines = -1;   // -1: everything
  int64_t limit_bytes = 0;   // 0: no limit
};

struct PodExecRequest {
  std::string container;  // empty: the pod's first container
  std::vector<std::string> command;
  std::chrono::milliseconds timeout{0};  // 0: none
};

// The body of an exec answer: {"apiVersion":"capstan.io/v1","kind":"PodExecResult",
// "exitCode":N,"stdout":"...","stderr":"..."}.
inline constexpr char kPodExecResultKind[] = "PodExecResult";

class PodStreams {
 public:
  virtual ~PodStreams() = default;
  // The node whose Pods these are.
  virtual const std::string& NodeName() const = 0;
  // `pod` is the stored Pod, bound to NodeName().
  virtual HttpResponse Logs(const nlohmann::json& pod, const PodLogRequest& request) = 0;
  virtual HttpResponse Exec(const nlohmann::json& pod, const PodExecRequest& request) = 0;
};

}  // namespace capstan::api
