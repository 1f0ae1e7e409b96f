// RegistryProcess: Debian's docker-registry (distribution 2.8) as a child of a test, on 127.0.0.1
// with a free port and a temporary storage directory, configured per test: deletion on or off,
// read-only, catalog page size, htpasswd users (bcrypt through libcrypt).
//
// Thread-safety: one test thread drives it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "e2e/process.h"

namespace capstan::registry::testing {

struct RegistryOptions {
  bool delete_enabled = true;
  bool read_only = false;        // storage.maintenance.readonly.enabled
  int catalog_max_entries = 0;   // catalog.maxentries; 0: the registry's default
  std::map<std::string, std::string> users;  // htpasswd users (user -> password); empty: no auth
  bool tls = false;              // https with a self-signed certificate for 127.0.0.1 (ca_pem())
};

// The docker-registry binary, or "" when it is not installed (tests then GTEST_SKIP).
std::string RegistryBinary();

// A TCP port on 127.0.0.1 that was free a moment ago (0 when none could be bound).
int FreeLoopbackPort();

class RegistryProcess {
 public:
  RegistryProcess();
  ~RegistryProcess();  // stops the registry, removes the storage

  // Starts the registry (a new port the first time; the same port and storage on a restart) and
  // waits until GET /v2/ answers. False with the log in `error()` when it does not come up.
  bool Start(const RegistryOptions& options);
  void Stop();
  // Stop, then Start with new options on the same port and storage.
  bool Restart(const RegistryOptions& options);

  std::string url() const { return (tls_ ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port_); }
  // The self-signed certificate of a TLS registry (PEM), to trust it.
  const std::string& ca_pem() const { return ca_pem_; }
  int port() const { return port_; }
  const std::string& storage_dir() const { return storage_dir_; }
  const std::string& error() const { return error_; }
  // The registry's pid while it runs (-1 otherwise).
  pid_t pid() const { return child_ ? child_->pid() : -1; }

 private:
  std::string dir_;
  std::string storage_dir_;
  int port_ = 0;
  std::string error_;
  bool tls_ = false;
  std::string ca_pem_;
  std::unique_ptr<e2e::Child> child_;
};

}  // namespace capstan::registry::testing
