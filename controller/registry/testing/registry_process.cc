#include "controller/registry/testing/registry_process.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <httplib.h>

namespace capstan::registry::testing {

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

namespace {

std::string Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt) == nullptr) return "";
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  return hash ? hash : "";
}

}  // namespace

std::string RegistryBinary() {
  for (const char* path : {"/usr/bin/docker-registry", "/usr/sbin/docker-registry"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

RegistryProcess::RegistryProcess() {
  dir_ = e2e::MakeTempDir("capstan-registry");
  storage_dir_ = dir_ + "/storage";
}

RegistryProcess::~RegistryProcess() {
  Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool RegistryProcess::Start(const RegistryOptions& options) {
  if (port_ == 0) port_ = FreeLoopbackPort();
  tls_ = options.tls;
  if (tls_ && ca_pem_.empty()) {
    e2e::RunResult made = e2e::Run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                    dir_ + "/tls.key", "-out", dir_ + "/tls.crt"});
    if (made.exit_code != 0) {
      error_ = "openssl: " + made.err;
      return false;
    }
    ca_pem_ = e2e::ReadFile(dir_ + "/tls.crt");
  }
  std::string config = dir_ + "/config.yml";
  {
    std::ofstream out(config);
    out << "version: 0.1\nlog: {level: warn}\n"
        << "storage:\n  filesystem: {rootdirectory: " << storage_dir_ << "}\n"
        << "  delete: {enabled: " << (options.delete_enabled ? "true" : "false") << "}\n"
        << "  maintenance:\n    uploadpurging: {enabled: false}\n"
        << "    readonly: {enabled: " << (options.read_only ? "true" : "false") << "}\n"
        << "http: {addr: 127.0.0.1:" << port_;
    if (tls_) out << ", tls: {certificate: " << dir_ << "/tls.crt, key: " << dir_ << "/tls.key}";
    out << "}\n";
    if (options.catalog_max_entries > 0) out << "catalog: {maxentries: " << options.catalog_max_entries << "}\n";
    if (!options.users.empty()) {
      std::ofstream htpasswd(dir_ + "/htpasswd");
      for (const auto& [user, password] : options.users) htpasswd << user << ":" << Bcrypt(password) << "\n";
      out << "auth:\n  htpasswd: {realm: capstan-test, path: " << dir_ << "/htpasswd}\n";
    }
  }
  child_ = std::make_unique<e2e::Child>();
  if (!child_->Start({RegistryBinary(), "serve", config}, dir_ + "/registry.log")) {
    error_ = "cannot start " + RegistryBinary();
    return false;
  }
  httplib::Client client(url());
  client.set_connection_timeout(std::chrono::milliseconds(200));
  client.enable_server_certificate_verification(false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = client.Get("/v2/"); r && (r->status == 200 || r->status == 401)) return true;
    if (!child_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  error_ = "docker-registry did not come up: " + e2e::ReadFile(dir_ + "/registry.log");
  return false;
}

void RegistryProcess::Stop() {
  if (child_) child_->Stop(15, std::chrono::seconds(5));
  child_.reset();
}

bool RegistryProcess::Restart(const RegistryOptions& options) {
  Stop();
  return Start(options);
}

}  // namespace capstan::registry::testing
