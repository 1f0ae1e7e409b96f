#include "api/api_server.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "api/api_handler.h"
#include "api/errors.h"
#include "api/http/http_server.h"
#include "api/kind.h"
#include "api/serving_certificates.h"
#include "base/log.h"
#include "base/metrics.h"

namespace capstan::api {
namespace {

namespace fs = std::filesystem;

// Reads the admin token, creating it (0600) on first start.
Result<std::string> LoadOrCreateAdminToken(const std::string& data_dir) {
  const std::string path = data_dir + "/admin-token";
  std::ifstream in(path);
  if (in) {
    std::string token;
    std::getline(in, token);
    if (token.size() >= 32) return token;
    return Status::Invalid(path + " does not hold a token; remove it to generate a new one");
  }
  auto token = GenerateToken();
  if (!token.ok()) return token.status();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::Internal("cannot write " + tmp);
    out << *token << "\n";
  }
  ::chmod(tmp.c_str(), 0600);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::Internal("cannot create " + path + ": " + ec.message());
  return token;
}

// The namespaces Kubernetes creates at start; objects in "default" need no setup.
Status EnsureBuiltinNamespaces(ResourceService* service) {
  const KindInfo* ns_kind = FindKind("", "v1", "namespaces");
  if (ns_kind == nullptr) return Status::Internal("the Namespace kind is not registered");
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    auto got = service->Get(*ns_kind, "", name);
    if (got.ok()) continue;
    if (!got.status().IsNotFound()) return got.status();
    json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
    auto created = service->Create(*ns_kind, "", ns, WriteOptions{});
    if (!created.ok() && !created.status().IsAlreadyExists()) return created.status();
  }
  return Status::Ok();
}

class ApiServerImpl : public ApiServer {
 public:
  uint16_t port() const override { return http_->port(); }
  std::string url() const override {
    std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
    if (host_ == "0.0.0.0") host = "127.0.0.1";
    if (host_ == "::") host = "[::1]";
    return std::string(ca_pem_.empty() ? "http://" : "https://") + host + ":" + std::to_string(port());
  }
  const std::string& admin_token() const override { return admin_token_; }
  const std::string& ca_pem() const override { return ca_pem_; }
  HttpResponse Handle(const HttpRequest& req) override {
    ApiHandler* handler = live_handler_.load(std::memory_order_acquire);
    if (handler == nullptr) return ErrorResponse(Status::Unavailable("the server is starting"));
    return handler->Handle(req);
  }

  void SetPodStreams(std::shared_ptr<PodStreams> streams) override {
    if (handler_) handler_->SetPodStreams(std::move(streams));
  }
  void SetLoadBalancerStatus(std::shared_ptr<LoadBalancerStatus> status) override {
    if (handler_) handler_->SetLoadBalancerStatus(std::move(status));
  }

  void Stop(std::chrono::milliseconds grace) override {
    if (stopped_) return;
    stopped_ = true;
    // Start() may have failed half-way (port in use, store locked), leaving parts unset; the
    // destructor then stops what exists.
    if (http_ == nullptr && store_ == nullptr) return;
    log::Info("shutting down");
    if (handler_) handler_->SetShuttingDown();
    if (http_) http_->Stop(grace);
    if (store_collector_ != 0) metrics::DefaultRegistry().RemoveCollector(store_collector_);
    store_collector_ = 0;
    if (store_) store_->Shutdown();
    log::Info("stopped");
  }

  ~ApiServerImpl() override { Stop(std::chrono::milliseconds(10000)); }

  std::string host_;
  std::string admin_token_;
  std::string ca_pem_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ResourceService> service_;
  std::unique_ptr<TokenAuthenticator> auth_;
  std::unique_ptr<ApiHandler> handler_;
  std::unique_ptr<HttpServer> http_;
  // The handler requests go to. Set once the listener's port is known (discovery reports it);
  // until then, requests get 503.
  std::atomic<ApiHandler*> live_handler_{nullptr};
  int store_collector_ = 0;  // the /metrics collector reading store_'s counts; 0: none
  bool stopped_ = false;
};

}  // namespace

std::string DefaultDataDir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/capstan";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/capstan";
  return "/var/lib/capstan";
}

Result<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiServerOptions& options) {
  RegisterBuiltinKinds();
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return Status::Internal("cannot create data dir " + options.data_dir + ": " + ec.message());
  ::chmod(options.data_dir.c_str(), 0700);

  auto server = std::make_unique<ApiServerImpl>();
  server->host_ = options.host;
  auto token = LoadOrCreateAdminToken(options.data_dir);
  if (!token.ok()) return token.status();
  server->admin_token_ = *token;
  server->auth_ = std::make_unique<TokenAuthenticator>();
  server->auth_->AddToken(*token, Identity{"admin", Role::kAdmin});
  if (!options.token_file.empty()) CAPSTAN_RETURN_IF_ERROR(server->auth_->LoadTokenFile(options.token_file));

  auto store = store::OpenRocksStore(options.data_dir + "/store", options.store);
  if (!store.ok()) return store.status();
  server->store_ = std::move(*store);
  server->service_ = std::make_unique<ResourceService>(server->store_.get());
  {
    // Mirrored at scrape time (etcd's fsync and put counts, for the embedded store): how well
    // the group commit batches writes is their ratio.
    metrics::Registry& registry = metrics::DefaultRegistry();
    metrics::Counter& commits = registry
                                    .Counter("capstan_store_commits_total",
                                             "Write batches the store committed, each one log write and one fdatasync.")
                                    .With();
    metrics::Counter& writes =
        registry.Counter("capstan_store_writes_total", "Keys the store created, updated or deleted.").With();
    store::Store* s = server->store_.get();
    server->store_collector_ = registry.AddCollector([s, &commits, &writes] {
      const store::StoreStats stats = s->Stats();
      commits.Set(static_cast<double>(stats.commits));
      writes.Set(static_cast<double>(stats.writes));
    });
  }
  CAPSTAN_RETURN_IF_ERROR(CheckServiceNetworkOptions(options.services));
  server->service_->AddAdmissionPlugin(NewServiceAdmission(options.services));
  CAPSTAN_RETURN_IF_ERROR(EnsureBuiltinNamespaces(server->service_.get()));
  CAPSTAN_RETURN_IF_ERROR(EnsureDefaultIngressClass(server->service_.get()));

  HttpServerOptions http;
  if (options.tls) {
    auto certs = LoadOrCreateServingCertificates(options.data_dir, {options.host});
    if (!certs.ok()) return certs.status();
    server->ca_pem_ = certs->ca_pem;
    http.tls_cert_pem = certs->cert_pem;
    http.tls_key_pem = certs->key_pem;
  }
  http.host = options.host;
  http.port = options.port;
  http.io_threads = options.io_threads;
  http.handler_threads = options.handler_threads;
  http.render_error = [](int code, const std::string& message) {
    Code c = code == 413   ? Code::kTooLarge
             : code == 429 ? Code::kTooManyRequests
             : code == 503 ? Code::kUnavailable
             : code == 408 ? Code::kTimeout
                           : Code::kBadRequest;
    HttpResponse r = ErrorResponse(Status(c, message));
    r.status = code;
    return r;
  };
  ApiServerImpl* raw = server.get();  // outlives the HTTP server, which it owns
  http.async_handler = [raw](HttpRequest& req, const HttpResponder& respond) {
    ApiHandler* handler = raw->live_handler_.load(std::memory_order_acquire);
    return handler != nullptr && handler->HandleAsync(req, respond);
  };
  auto http_server = HttpServer::Start(http, [raw](const HttpRequest& req) {
    ApiHandler* handler = raw->live_handler_.load(std::memory_order_acquire);
    if (handler == nullptr) return ErrorResponse(Status::Unavailable("the server is starting"));
    return handler->Handle(req);
  });
  if (!http_server.ok()) return http_server.status();
  server->http_ = std::move(*http_server);

  ApiHandlerOptions hopts;
  // With port 0 the real port is only known now.
  const std::string url = server->url();
  hopts.server_address = url.substr(url.find("://") + 3);
  hopts.require_auth = options.require_auth;
  store::Store* raw_store = server->store_.get();
  hopts.backup = [raw_store](const std::string& dir) { return raw_store->Backup(dir); };
  server->handler_ = std::make_unique<ApiHandler>(server->service_.get(), server->auth_.get(), hopts);
  server->live_handler_.store(server->handler_.get(), std::memory_order_release);
  log::Info("serving", {{"url", server->url()}, {"data_dir", options.data_dir},
                        {"revision", std::to_string(server->store_->CurrentRevision())}});
  return std::unique_ptr<ApiServer>(std::move(server));
}

}  // namespace capstan::api
