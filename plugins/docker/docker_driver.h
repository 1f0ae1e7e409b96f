// DockerDriver: the `docker` driver (capstan-driver-docker.so). Each container of a Pod is a docker
// container, made and run through the Engine API (DockerClient). docs/drivers/docker.md is the
// user's page; container_config.h says how a PodRunSpec becomes containers.
//
// The engine is the only state. A run is the set of containers labelled with its run id
// (driver.capstan.io/run-id); the handle's id is that run id, so inspect, stop, remove, recover,
// logs and exec find the containers by label, from any instance, after any restart of the host.
// destroy leaves containers running.
//
// Start never pulls: the image must be present (the node agent pulls first); a missing image is
// NOT_FOUND naming it. Containers are created, then started, in spec order; a create that fails
// removes what the start made so far (an error means nothing was started), while a container that
// docker fails to start is a terminated container (StartError), not an error.
//
// Exits are learned from the engine's event stream (EventWatcher, "die" and "destroy" of this
// driver's containers): each exit is sent once as a ContainerExited event and wakes waiters. Wait
// also looks again every second, so a lost event delays it by that much at most.
//
// Thread-safety: every method is thread-safe (driver.h's rules). The engine serialises what
// happens to a container; mu_ guards only the exit bookkeeping. Events and log sinks are called
// without mu_ held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "capstan/driver_sdk.hpp"
#include "plugins/docker/config.h"
#include "plugins/docker/docker_client.h"
#include "plugins/docker/event_watcher.h"

namespace capstan::plugins::docker {

// Exit code and reason of a container that disappeared from the engine behind the driver's back
// (docs/plugins.md: drivers that lose an exit code report 255, Unknown).
inline constexpr int64_t kUnknownExitCode = 255;
inline constexpr char kUnknownReason[] = "Unknown";

class DockerDriver final : public sdk::Driver {
 public:
  static constexpr char kName[] = "docker";
  static constexpr char kVersion[] = "0.1.0";

  // config: see config.h. Does not contact the engine (fingerprint reports whether it answers).
  static sdk::Result<std::unique_ptr<sdk::Driver>> Create(const nlohmann::json& config, const sdk::Host& host);

  DockerDriver(std::unique_ptr<DockerClient> client, sdk::Host host);
  ~DockerDriver() override;  // stops the event thread; containers keep running

  sdk::Capabilities GetCapabilities() override;
  sdk::Result<sdk::Fingerprint> GetFingerprint() override;
  sdk::Result<sdk::PodRunHandle> Start(const sdk::PodRunSpec& spec) override;
  sdk::Result<void> Recover(const sdk::PodRunHandle& handle) override;
  sdk::Result<sdk::WaitResult> Wait(const sdk::PodRunHandle& handle, std::chrono::milliseconds timeout) override;
  sdk::Result<void> Stop(const sdk::PodRunHandle& handle, std::chrono::milliseconds grace) override;
  sdk::Result<void> Remove(const sdk::PodRunHandle& handle) override;
  sdk::Result<sdk::PodRunStatus> Inspect(const sdk::PodRunHandle& handle) override;
  sdk::Result<std::vector<sdk::PodRunHandle>> List(const std::map<std::string, std::string>& label_selector) override;
  // docker_images.cc
  sdk::Result<sdk::PullImageResult> PullImage(const sdk::PullImageRequest& request) override;
  sdk::Result<std::vector<sdk::Image>> ListImages() override;
  sdk::Result<void> RemoveImage(const std::string& image) override;
  // The filesystem of the engine's DockerRootDir (GET /info), by statvfs: declared only for a
  // unix socket endpoint, where that directory is this host's.
  sdk::Result<sdk::ImageFsInfo> GetImageFsInfo() override;
  // docker_exec_logs.cc
  sdk::Result<void> Logs(const sdk::LogsRequest& request, sdk::LogSink& sink) override;
  sdk::Result<sdk::ExecResult> Exec(const sdk::ExecRequest& request) override;

 private:
  // A run as the engine has it, from its containers' labels.
  struct RunContainer {
    std::string name, id;
    int index = 0;
  };
  struct Run {
    std::string id;
    sdk::PodRef pod;
    std::vector<RunContainer> containers;  // by spec index
  };

  // The runs whose containers match `label_selector` (all runs of this driver for {}).
  sdk::Result<std::vector<Run>> FindRuns(const std::map<std::string, std::string>& label_selector) const;
  // The run `run_id`; NOT_FOUND when no container of it is left (or the id is not one of ours).
  sdk::Result<Run> FindRun(const std::string& run_id) const;
  // The container `name` of run `run_id`; NOT_FOUND naming what is missing.
  sdk::Result<RunContainer> FindContainer(const std::string& run_id, const std::string& name) const;
  // The statuses of `run` in spec order, plus those the handle names but the engine no longer has
  // (terminated, kUnknownExitCode). NOT_FOUND when the run went away meanwhile.
  sdk::Result<std::vector<sdk::ContainerStatus>> Statuses(const Run& run, const sdk::PodRunHandle& handle) const;
  // Force-removes containers (dependents first); 404 counts as removed.
  sdk::Result<void> RemoveContainers(const std::vector<RunContainer>& containers) const;

  // The event thread's callback.
  void OnEvent(const nlohmann::json& event);
  // Sends ContainerExited for `status` unless one was sent for this container already.
  void EmitExited(const std::string& run_id, const std::string& pod_uid, const sdk::ContainerStatus& status);
  // Wakes every Wait.
  void NotifyChanged();

  // Constant after construction.
  const std::unique_ptr<DockerClient> client_;
  const sdk::Host host_;

  std::mutex mu_;
  std::condition_variable changed_;  // a container of this driver died or was removed
  uint64_t generation_ = 0;           // guarded by mu_; counts the changes above
  std::set<std::string> exited_;      // guarded by mu_; container ids whose exit was sent

  // Last: destroyed (joined) first, before anything its callback uses.
  std::unique_ptr<EventWatcher> watcher_;
};

}  // namespace capstan::plugins::docker
