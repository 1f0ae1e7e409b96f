// ControlPlane: the controllers that run inside `capstan server`, talking to its API in-process.
//
// They use the API exactly as remote clients would (an InProcessApiClient over the server's
// handler, authenticated with the admin token), so any of them could run in another process
// against the same server. Start() returns once every informer has synced and every controller
// runs; Stop() before stopping the API server.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http/http_types.h"
#include "base/status.h"
#include "client/api_client.h"
#include "controller/manager/controller_manager.h"

namespace capstan::controller {

struct ControlPlaneOptions {
  std::function<api::HttpResponse(const api::HttpRequest&)> handler;  // the API server's
  std::string token;                                                   // admin token
  int replicaset_workers = 16;
  int deployment_workers = 8;
  int scheduler_workers = 4;
};

class ControlPlane {
 public:
  static Result<std::unique_ptr<ControlPlane>> Start(ControlPlaneOptions options);
  ~ControlPlane();  // Stop()
  void Stop();

  client::ApiClient* api() { return api_.get(); }

 private:
  ControlPlane() = default;
  std::unique_ptr<client::ApiClient> api_;
  std::unique_ptr<ControllerManager> manager_;
};

}  // namespace capstan::controller
