// NodePodStreams: the node's answer to pods/log and pods/exec (api/pod_streams.h), through the
// driver that runs the node's Pods.
//
// The run of a Pod is found by asking the driver (ListPods, by pod uid), not the agent's records:
// it is the driver's truth, and it works while the agent restarts. A Pod with no run answers 400
// "container ... is waiting to start" (kubectl's wording) or 404 when it has no such container.
//
// Following logs: each follow runs the driver's Logs on its own thread (the driver call blocks),
// feeding a ResponseStream the HTTP server drains; the client leaving (Close) stops the thread at
// the driver's next heartbeat (at most a second). Shutdown() closes every stream and waits for the
// threads, so the driver may be destroyed after it.
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "api/pod_streams.h"
#include "node/runtime_driver.h"

namespace capstan::node {

class NodePodStreams final : public api::PodStreams {
 public:
  // `driver` must outlive Shutdown().
  NodePodStreams(std::string node_name, RuntimeDriver* driver);
  ~NodePodStreams() override;  // Shutdown()

  const std::string& NodeName() const override { return node_name_; }
  api::HttpResponse Logs(const nlohmann::json& pod, const api::PodLogRequest& request) override;
  api::HttpResponse Exec(const nlohmann::json& pod, const api::PodExecRequest& request) override;

  // Ends every follow and waits for their threads; later requests answer 503. Idempotent.
  void Shutdown();

 private:
  class FollowStream;
  // The pod's current run and the container to use (`wanted`, else the default one).
  Result<std::pair<PodHandle, std::string>> Target(const nlohmann::json& pod, const std::string& wanted, bool logs);

  const std::string node_name_;
  RuntimeDriver* const driver_;
  std::mutex mu_;
  std::condition_variable idle_;
  bool shut_down_ = false;                        // guarded by mu_
  std::set<std::shared_ptr<FollowStream>> live_;  // guarded by mu_: follows whose thread runs
};

}  // namespace capstan::node
