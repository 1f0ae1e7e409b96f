// Prober: runs one Kubernetes probe or lifecycle handler once (httpGet, tcpSocket, exec) against
// a container of a pod that uses host networking.
//
//   httpGet    GET scheme://host:port/path with httpHeaders; success is a status in [200, 400)
//              (redirects are not followed, as the kubelet counts 3xx as success). host defaults
//              to the node's address; port is a number or a containerPort name, mapped to the host
//              port the container is served on (pod_launch.h); HTTPS does not verify the
//              certificate (the kubelet does not either).
//   tcpSocket  a TCP connect that succeeds within the timeout.
//   exec       the command through the driver's Exec; success is exit code 0.
//   grpc       not supported: a failure that says so.
// Every attempt is bounded by `timeout` (timeoutSeconds).
//
// Thread-safety: stateless; RunProbe may run on many threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "node/pod_launch.h"
#include "node/runtime_driver.h"

namespace capstan::node {

struct ProbeTarget {
  std::string host = "127.0.0.1";  // the node's address
  std::string container;
  std::vector<PortMapping> ports;
  // Runs a command in the container (the driver's Exec on the current run); null: exec fails.
  std::function<Result<ExecOutput>(const std::vector<std::string>& command, std::chrono::milliseconds timeout)> exec;
};

struct ProbeOutcome {
  bool success = false;
  std::string message;  // why it failed ("HTTP probe failed with statuscode: 500", ...)
};

// Runs `handler` (a Probe or a LifecycleHandler: whichever of httpGet, tcpSocket, exec it has).
ProbeOutcome RunProbe(const nlohmann::json& handler, const ProbeTarget& target, std::chrono::milliseconds timeout);

}  // namespace capstan::node
