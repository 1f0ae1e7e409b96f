// ControlPlane: the controllers that run inside `capstan server`, talking to its API in-process.
//
// They use the API exactly as remote clients would (an InProcessApiClient over the server's
// handler, authenticated with the admin token), so any of them could run in another process
// against the same server. With leader election (the default), the controllers run only while
// this control plane holds the Lease kube-system/capstan-controller-manager: two control planes
// against one API never both reconcile. Leadership gained starts a fresh ControllerManager (on a
// thread of its own, so a slow first LIST never delays lease renewals); leadership lost stops it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/http/http_types.h"
#include "base/status.h"
#include "client/api_client.h"
#include "controller/manager/controller_manager.h"
#include "controller/nodelifecycle/node_lifecycle_controller.h"
#include "controller/runtime/leader_election.h"

namespace capstan::registry {
class ManagedRegistry;
}  // namespace capstan::registry

namespace capstan::controller {

struct ControlPlaneOptions {
  std::function<api::HttpResponse(const api::HttpRequest&)> handler;  // the API server's
  std::string token;                                                   // admin token
  bool leader_election = true;
  LeaderElectionOptions election;  // callbacks are the control plane's own
  int replicaset_workers = 16;
  int deployment_workers = 8;
  int scheduler_workers = 4;
  // The node lifecycle controller (docs/node-lifecycle.md): grace period, eviction timeout and
  // rate, defaults as Kubernetes' (40 s, 300 s, 0.1 nodes/s). Its clock is the manager's.
  nodelifecycle::NodeLifecycleControllerOptions node_lifecycle;
  // The server's data directory: GitOps keeps its git caches under <data_dir>/gitops/. Empty:
  // the GitOps controller does not run.
  std::string data_dir;
  // The private registry this server runs (`--registry`), or null; not owned, outlives the plane.
  capstan::registry::ManagedRegistry* managed_registry = nullptr;
};

class ControlPlane {
 public:
  // Without leader election the controllers have started (caches synced) when this returns;
  // with it, they start once the Lease is ours.
  static Result<std::unique_ptr<ControlPlane>> Start(ControlPlaneOptions options);
  ~ControlPlane();  // Stop()
  void Stop();

  client::ApiClient* api() { return api_.get(); }
  // True while the controllers run.
  bool running() const;

 private:
  explicit ControlPlane(ControlPlaneOptions options) : options_(std::move(options)) {}
  Status StartManager();
  void StopManager();

  const ControlPlaneOptions options_;
  std::unique_ptr<client::ApiClient> api_;
  std::unique_ptr<LeaderElector> elector_;
  std::thread starter_;  // runs StartManager after leadership is gained
  mutable std::mutex mu_;
  std::unique_ptr<ControllerManager> manager_;  // guarded by mu_; set while running
};

}  // namespace capstan::controller
