// ProcessDriver: the `process` driver (capstan-driver-process.so). A Pod's containers run as plain
// host processes, each in its own session and process group, their output appended to
// <logDir>/<run id>/<container>.log. docs/drivers/process.md is the user's page.
//
// The "engine" is the kernel plus the state directory: every run is recorded in
// <stateDir>/runs/<id>.json before start returns (StateStore), with each process's pid, start
// time and the boot id, so a new instance (after the host restarted, or the instance was
// re-created) lists the runs and re-attaches to their processes. destroy leaves processes running.
//
// Exits are learned by a Reaper thread (pidfds; waitpid on the exact pid, never waitpid(-1)).
// A process started by this host process has an exact exit code; one that outlived a host
// restart is not our child, so when it ends its exit code is unknown: the container is reported
// terminated with exit code 255, reason "Unknown" (kUnknownExitCode). An exit code learned while
// the host ran is kept in the state file and survives restarts.
//
// A container is its main process: when that exits, the rest of its process group is killed, as
// the end of a container's pid namespace would. stop sends SIGTERM to every group, waits up to the
// grace period for the main processes, then SIGKILLs the groups.
//
// Thread-safety: every method is thread-safe (driver.h's rules). mu_ guards the runs in memory;
// load_mu_ serialises loading a run from its file with removing it, so a removed run is never
// re-loaded. Lock order: load_mu_, then mu_; StateStore's and the Reaper's own mutexes are taken
// without mu_ held. Events and log sinks are called without any lock held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capstan/driver_sdk.hpp"
#include "plugins/process/config.h"
#include "plugins/process/proc.h"
#include "plugins/process/reaper.h"
#include "plugins/process/run_record.h"
#include "plugins/process/state_store.h"
#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {

inline constexpr int64_t kUnknownExitCode = 255;
inline constexpr char kUnknownReason[] = "Unknown";
// How long stop waits for main processes to exit after SIGKILL before it gives up (RETRY_LATER):
// only a process stuck in the kernel (uninterruptible sleep) takes that long.
inline constexpr std::chrono::seconds kKillWait{10};

class ProcessDriver final : public sdk::Driver {
 public:
  static constexpr char kName[] = "process";
  static constexpr char kVersion[] = "0.1.0";

  // config: see config.h. Creates the state and log directories (INVALID_CONFIG when it cannot).
  static sdk::Result<std::unique_ptr<sdk::Driver>> Create(const nlohmann::json& config, const sdk::Host& host);

  ProcessDriver(Config config, std::shared_ptr<StateStore> store, sdk::Host host);
  ~ProcessDriver() override;  // joins the reaper thread; processes keep running

  sdk::Capabilities GetCapabilities() override;
  sdk::Result<sdk::Fingerprint> GetFingerprint() override;
  sdk::Result<sdk::PodRunHandle> Start(const sdk::PodRunSpec& spec) override;
  sdk::Result<void> Recover(const sdk::PodRunHandle& handle) override;
  sdk::Result<sdk::WaitResult> Wait(const sdk::PodRunHandle& handle, std::chrono::milliseconds timeout) override;
  sdk::Result<void> Stop(const sdk::PodRunHandle& handle, std::chrono::milliseconds grace) override;
  sdk::Result<void> Remove(const sdk::PodRunHandle& handle) override;
  sdk::Result<sdk::PodRunStatus> Inspect(const sdk::PodRunHandle& handle) override;
  sdk::Result<std::vector<sdk::PodRunHandle>> List(const std::map<std::string, std::string>& label_selector) override;
  sdk::Result<void> Logs(const sdk::LogsRequest& request, sdk::LogSink& sink) override;
  sdk::Result<sdk::ExecResult> Exec(const sdk::ExecRequest& request) override;

 private:
  struct Container {
    ContainerRecord rec;  // the exit fields (exited, exit_code, ...) are guarded by mu_
    UniqueFd exited;      // eventfd, written once when the container terminates; never read
  };
  struct Run {
    std::string id;
    sdk::PodRef pod;
    bool same_boot = true;                               // started since the host last booted (else nothing of it runs)
    std::vector<std::shared_ptr<Container>> containers;  // spec order; the vector is constant
    bool removed = false;                                // guarded by mu_
  };

  std::string LogDirOf(const std::string& run_id) const { return config_.log_dir + "/" + run_id; }
  static std::string Key(const std::string& run_id, const std::string& container) { return run_id + "/" + container; }

  // The run `id`, from memory or else from its state file (re-attaching to its processes).
  // NOT_FOUND when there is no such run.
  sdk::Result<std::shared_ptr<Run>> Find(const std::string& id);
  // Builds a run from its record, starts watching what still runs. Requires load_mu_.
  std::shared_ptr<Run> AttachLocked(const RunRecord& rec);
  static std::shared_ptr<Container> MakeContainer(ContainerRecord rec);
  sdk::Result<std::shared_ptr<Container>> FindContainer(const Run& run, const std::string& name);

  // The Reaper's callback: probes the container `key` names; true when it is done with.
  bool OnProcessEvent(const std::string& key);
  // Records that `c` of `run` terminated as `probe` says (exact status or unknown), once: sets its
  // status, wakes waiters, kills the rest of its process group, writes the exit to the state file
  // and emits ContainerExited. Call without locks held.
  void MarkTerminated(const Run& run, Container& c, const ProbeResult& probe, const std::string& unknown_why);
  // Signals every container's process group of `run` (see SignalGroup) that may still run.
  void SignalRun(const Run& run, int sig);
  // Stop's body: SIGTERM, up to `grace` for the main processes, SIGKILL, wait for them.
  sdk::Result<void> StopRun(const Run& run, std::chrono::milliseconds grace);
  // Whether every container of `run` is terminated. Requires mu_.
  static bool AllTerminatedLocked(const Run& run);
  // The status of one container. Requires mu_.
  static sdk::ContainerStatus StatusLocked(const Container& c);
  // Statuses in spec order. Requires mu_.
  static std::vector<sdk::ContainerStatus> StatusesLocked(const Run& run);

  // Constant after construction.
  const Config config_;
  const std::shared_ptr<StateStore> store_;
  const sdk::Host host_;
  const std::string boot_id_;

  std::mutex load_mu_;  // see the file comment
  std::mutex mu_;
  std::condition_variable changed_;                   // a container terminated or a run was removed
  std::map<std::string, std::shared_ptr<Run>> runs_;  // guarded by mu_; the runs attached to

  // Last: destroyed (joined) first, before anything its callback uses.
  Reaper reaper_;
};

}  // namespace capstan::plugins::process
