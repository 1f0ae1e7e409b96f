// ManagedRegistry: the cluster's private registry run by `capstan server --registry ADDR`: Debian's
// docker-registry (distribution 2.8) as a supervised child (ChildSupervisor: restarted with
// backoff when it exits, stopped with the server), on a config.yml Capstan writes itself
// (filesystem storage, deletion enabled, optional htpasswd auth, a stable http.secret).
//
// CollectGarbage() is the read-only window that ends a cleanup run which removed something:
//   1. the registry is restarted read-only (storage.maintenance.readonly.enabled: true; pushes
//      get 405 UNSUPPORTED, pulls go on) and waited for,
//   2. `docker-registry garbage-collect <config.yml>` runs (never --delete-untagged: on 2.8 it
//      deletes the children of manifest lists and OCI indexes, and any image only referenced by
//      digest; Capstan deletes manifests by digest itself, so what is untagged is its decision),
//   3. the registry is restarted read-write (which also empties 2.8's in-memory blob descriptor
//      cache, that would otherwise still answer HEAD for collected blobs and let a push skip
//      uploading a layer that is gone).
// The storage directory's disk usage is measured (as `du -s -B1`: allocated blocks of every file
// and directory) so that callers report bytes actually reclaimed.
//
// Invariant: between Start() and Stop(), a registry child runs or is being restarted by its
// supervisor, except inside CollectGarbage() between two restarts (a few hundred milliseconds).
//
// Thread-safety: every method may be called from any thread; CollectGarbage() and Stop() exclude
// each other. LockForRun() serialises whole cleanup runs against this registry, so that one run's
// read-only window never refuses another run's removals.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "controller/supervisor/child_supervisor.h"

namespace capstan::registry {

struct ManagedRegistryOptions {
  std::string address;        // host:port it listens on ("127.0.0.1:5000"); required
  std::string storage_dir;    // blobs and manifests; created when missing; required
  std::string config_dir;     // config.yml, config-readonly.yml, http-secret, registry.log; required
  std::string htpasswd_path;  // bcrypt htpasswd file; empty: no authentication
  std::string binary = "/usr/bin/docker-registry";
  std::chrono::milliseconds ready_timeout{15000};  // for each (re)start to answer GET /v2/
  std::chrono::minutes gc_timeout{30};
};

struct GarbageCollectionResult {
  int64_t storage_bytes_before = 0;  // disk usage of the storage dir just before the window
  int64_t storage_bytes_after = 0;   // ... and after it
  std::chrono::milliseconds read_only_window{0};  // read-write stopped -> read-write serving again
  std::chrono::milliseconds collect_time{0};      // garbage-collect alone
};

class ManagedRegistry {
 public:
  // Writes the configs, starts the registry and waits until it answers. kInvalid for missing
  // options or an address that is not host:port, kNotFound when the binary is missing,
  // kUnavailable (with the log's tail) when it does not come up.
  static Result<std::unique_ptr<ManagedRegistry>> Start(ManagedRegistryOptions options);
  ~ManagedRegistry();  // Stop()
  ManagedRegistry(const ManagedRegistry&) = delete;
  ManagedRegistry& operator=(const ManagedRegistry&) = delete;

  void Stop();  // idempotent

  // "http://127.0.0.1:5000" (a wildcard listen address is reached at the loopback address).
  const std::string& url() const { return url_; }
  const ManagedRegistryOptions& options() const { return options_; }
  // Whether a policy's registry URL names this registry: http, same port, and the same host as
  // RegistryHostOf compares hosts (127.0.0.1, localhost and [::1] are one); a wildcard listen
  // address (0.0.0.0, [::], "") matches the loopback host.
  bool Serves(const std::string& registry_url) const;

  // The registry child's pid (-1 while it is being restarted or after Stop()).
  pid_t pid();

  // Disk usage of the storage directory in bytes (0 when it cannot be read).
  int64_t StorageBytes() const;

  // The read-only window (see above). On failure the registry is still restarted read-write.
  Result<GarbageCollectionResult> CollectGarbage();

  // Held by the cleanup controller for a whole run (scan, removals, window) against this registry.
  std::unique_lock<std::mutex> LockForRun() { return std::unique_lock<std::mutex>(run_mu_); }

 private:
  explicit ManagedRegistry(ManagedRegistryOptions options) : options_(std::move(options)) {}
  Status WriteConfigs();
  // Starts a supervised child on config.yml or config-readonly.yml and waits until it answers.
  // When it does not, `keep_trying` leaves the supervisor restarting it (the read-write restart
  // after a window: a registry that is slow to come back must still come back); otherwise the
  // child is stopped.
  Status Launch(bool read_only, bool keep_trying);
  Status WaitReady() const;

  // Constant after Start().
  const ManagedRegistryOptions options_;
  std::string url_;
  std::string config_path_;
  std::string readonly_config_path_;

  std::mutex mu_;  // guards supervisor_ and stopped_; held across a whole window
  std::unique_ptr<supervisor::ChildSupervisor> supervisor_;
  bool stopped_ = false;
  std::mutex run_mu_;
};

// Disk usage of `dir` as `du -s -B1` counts it: 512-byte blocks of every file and directory
// below it and of itself, hard links counted once. 0 when it cannot be read.
int64_t DiskUsageBytes(const std::string& dir);

}  // namespace capstan::registry
