// ApiServer: one running Capstan API server: the RocksDB store in the data directory, the
// admin token, the built-in namespaces, the request handler and the HTTP listener.
//
// Data directory layout: store/ (RocksDB), admin-token (0600, generated at first start), ca.crt,
// ca.key, server.crt, server.key (the TLS identity; see serving_certificates.h).
// Shutdown order (Stop): readiness goes false and new watches are refused; the HTTP server stops
// accepting, ends open watches cleanly and waits for in-flight requests (so acknowledged writes
// are complete); then the store closes.
//
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/http/http_types.h"
#include "api/load_balancer_status.h"
#include "api/pod_streams.h"
#include "api/service_admission.h"
#include "base/status.h"
#include "store/rocks_store.h"

namespace capstan::api {

struct ApiServerOptions {
  std::string data_dir;
  std::string host = "127.0.0.1";
  uint16_t port = 7420;                 // 0: any free port
  std::string token_file;               // optional extra tokens ("token,user,role" lines)
  // HTTPS with a CA and serving certificate kept in the data dir (default). Plain HTTP only for
  // benchmarks against plain-HTTP peers: kubectl sends tokens over TLS only.
  bool tls = true;
  bool require_auth = true;
  int handler_threads = 64;
  int io_threads = 2;
  store::RocksStoreOptions store;
  // Service listener addresses, the node port range and the Ingress listener ports
  // (service_admission.h).
  ServiceNetworkOptions services;
};

// $XDG_DATA_HOME/capstan, else ~/.local/share/capstan, else /var/lib/capstan.
std::string DefaultDataDir();

class ApiServer {
 public:
  virtual ~ApiServer() = default;
  static Result<std::unique_ptr<ApiServer>> Start(const ApiServerOptions& options);

  virtual uint16_t port() const = 0;
  virtual std::string url() const = 0;              // "https://127.0.0.1:7420"
  virtual const std::string& admin_token() const = 0;
  virtual const std::string& ca_pem() const = 0;    // empty without TLS
  // Serves one request in-process, through the same handler as the HTTP listener (the transport
  // of the controllers that run inside the server). Thread-safe; 503 once stopping.
  virtual HttpResponse Handle(const HttpRequest& req) = 0;
  // Where pods/log and pods/exec of this server's node go (pod_streams.h); null: nowhere.
  virtual void SetPodStreams(std::shared_ptr<PodStreams> streams) = 0;
  // What answers the load balancer's view of a Service (load_balancer_status.h); null: none.
  virtual void SetLoadBalancerStatus(std::shared_ptr<LoadBalancerStatus> status) = 0;
  virtual void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) = 0;
};

}  // namespace capstan::api
