// FakeApiServer: a tiny in-process Kubernetes-style API server on 127.0.0.1 for client tests.
//
// Serves discovery for core v1 (pods, namespaces, configmaps, events, services) and apps/v1
// (deployments, replicasets), and keeps objects in memory: GET (object, list with limit/continue,
// Table when asked), POST (409 AlreadyExists, dryRun=All), PATCH (merge patch), DELETE. It
// records every request so tests can assert what the client sent. Deployments get spec.replicas
// defaulted to 1, like a real server, to exercise apply's "defaulted fields are no change".
//
// Thread-safety: the server thread and the test thread share state under a mutex.
#pragma once

#include <httplib.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::client::testing {

struct RecordedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::string body;
  std::string content_type;
  std::string accept;
  std::string authorization;
};

class FakeApiServer {
 public:
  FakeApiServer();   // routes registered, not yet listening: add custom routes, then Start()
  ~FakeApiServer();  // stops and joins

  void Start();
  httplib::Server& http() { return server_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Stores `object` at the canonical path of its kind (apiVersion, kind, metadata).
  void Seed(const nlohmann::json& object);
  // The stored object at `path` ("/apis/apps/v1/namespaces/default/deployments/web").
  std::optional<nlohmann::json> Object(const std::string& path);
  std::vector<RecordedRequest> Requests();
  // Requests other than discovery (GET /api, /apis, /api/v1, /apis/g/v).
  std::vector<RecordedRequest> ObjectRequests();
  void ClearRequests();

 private:
  void Record(const httplib::Request& request);
  void HandleResource(const std::string& prefix, const httplib::Request& request, httplib::Response& response);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;

  std::mutex mu_;
  std::map<std::string, nlohmann::json> objects_;  // by object path; guarded by mu_
  std::vector<RecordedRequest> requests_;          // guarded by mu_
  int next_uid_ = 1;                               // guarded by mu_
  int resource_version_ = 100;                     // guarded by mu_
};

}  // namespace capstan::client::testing
