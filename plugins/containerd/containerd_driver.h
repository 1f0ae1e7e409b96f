// ContainerdDriver: the `containerd` driver (capstan-driver-containerd.so). A Pod's containers run
// in one CRI pod sandbox of containerd, driven through the Kubernetes CRI (runtime.v1) on
// containerd's socket (CriClient). docs/drivers/containerd.md is the user's page. The image
// operations are in containerd_images.cc.
//
// The engine holds everything: a run is a pod sandbox labelled kDriverLabel=containerd plus the
// run's labels, its containers carry their spec index (pod_request.h). The handle id is the
// sandbox id (64 hex digits); a new instance lists and recovers runs from containerd alone, and
// destroy leaves them running.
//
//   start:   checks the spec, makes sure the sandbox image is there (pulled only if missing), checks
//            that every container image is present (NOT_FOUND naming it otherwise: start never
//            pulls, the host pulls first), RunPodSandbox (host network: the node's namespace),
//            then CreateContainer for every container and StartContainer for each in spec order.
//            A failure before every container is created removes the sandbox and is the error; a
//            container whose StartContainer fails (a missing command) is a terminated container
//            (containerd's exit code 128, reason StartError), not an error.
//   stop:    StopContainer with the grace period (rounded up to whole seconds, the CRI's unit) for
//            every container at once, then StopPodSandbox.
//   remove:  stop without grace, RemoveContainer each, RemovePodSandbox, delete the run's logs;
//            what is not found is already removed.
//   exits:   ExitWatcher polls containerd (1.6 has no CRI events) and emits ContainerExited.
//   logs:    the CRI log file at ContainerStatus.log_path (cri_log.h), read on this host.
//   exec:    ExecSync; its timeout is in whole seconds too.
//
// Network modes: only "host". "none" and "bridge" need a pod network namespace, which containerd
// sets up through CNI; the driver does not assume a CNI configuration.
//
// Thread-safety: every method is thread-safe (driver.h's rules); the driver keeps no state about
// runs, only the CRI client and the exit watcher, both thread-safe. Events are emitted by the
// watcher's thread or the caller of stop/remove, without locks of the driver held.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "capstan/driver_sdk.hpp"
#include "plugins/containerd/config.h"
#include "plugins/containerd/cri_client.h"
#include "plugins/containerd/exit_watcher.h"

namespace capstan::plugins::containerd {

// One image of the CRI's ListImages as the driver reports it; pinned when containerd pins it
// (ListImages also pins the sandbox image, whatever containerd says).
sdk::Image ImageFromCri(const cri::Image& image);

class ContainerdDriver final : public sdk::Driver {
 public:
  static constexpr char kName[] = "containerd";
  static constexpr char kVersion[] = "0.1.0";

  // config: see config.h. Creates the log directory (INVALID_CONFIG when it cannot); does not
  // contact containerd.
  static sdk::Result<std::unique_ptr<sdk::Driver>> Create(const nlohmann::json& config, const sdk::Host& host);

  ContainerdDriver(Config config, sdk::Host host);
  ~ContainerdDriver() override;  // cancels calls in flight, joins the watcher; runs keep running

  sdk::Capabilities GetCapabilities() override;
  sdk::Result<sdk::Fingerprint> GetFingerprint() override;
  sdk::Result<sdk::PodRunHandle> Start(const sdk::PodRunSpec& spec) override;
  sdk::Result<void> Recover(const sdk::PodRunHandle& handle) override;
  sdk::Result<sdk::WaitResult> Wait(const sdk::PodRunHandle& handle, std::chrono::milliseconds timeout) override;
  sdk::Result<void> Stop(const sdk::PodRunHandle& handle, std::chrono::milliseconds grace) override;
  sdk::Result<void> Remove(const sdk::PodRunHandle& handle) override;
  sdk::Result<sdk::PodRunStatus> Inspect(const sdk::PodRunHandle& handle) override;
  sdk::Result<std::vector<sdk::PodRunHandle>> List(const std::map<std::string, std::string>& label_selector) override;
  sdk::Result<sdk::PullImageResult> PullImage(const sdk::PullImageRequest& request) override;
  sdk::Result<void> Logs(const sdk::LogsRequest& request, sdk::LogSink& sink) override;
  sdk::Result<sdk::ExecResult> Exec(const sdk::ExecRequest& request) override;
  sdk::Result<std::vector<sdk::Image>> ListImages() override;
  sdk::Result<void> RemoveImage(const std::string& image) override;
  // The image filesystem containerd's ImageFsInfo names (its snapshotter's mount point), sized
  // by statvfs: the socket is local (remoteEndpoint false), so that directory is this host's.
  sdk::Result<sdk::ImageFsInfo> GetImageFsInfo() override;

 private:
  // A run as containerd has it now.
  struct Run {
    cri::PodSandboxStatus sandbox;
    std::vector<cri::Container> containers;  // in spec order
  };

  // The run `id`, if it is a sandbox of this driver; NOT_FOUND otherwise.
  sdk::Result<Run> FindRun(const std::string& id);
  // The driver's containers of sandbox `sandbox_id`, in spec order.
  sdk::Result<std::vector<cri::Container>> ContainersOf(const std::string& sandbox_id);
  sdk::Result<cri::Container> FindContainer(const Run& run, const std::string& name);
  // Every container's status, in spec order.
  sdk::Result<std::vector<sdk::ContainerStatus>> StatusesOf(const Run& run);
  // The sandbox image containerd will run: present (pulled if missing), and the configured one
  // if one is configured. UNAVAILABLE or NOT_FOUND saying what is wrong otherwise.
  sdk::Result<void> EnsureSandboxImage();
  // containerd's own sandbox_image setting, from its verbose CRI status ("" when it does not say).
  static std::string ContainerdSandboxImage(const cri::StatusResponse& status);
  // What is wrong when sandboxImage is configured and containerd runs another image ("" if not).
  std::string SandboxImageMismatch(const std::string& containerd_sandbox_image) const;
  // The attempt number for a new sandbox of `pod`: one more than any sandbox of it has.
  sdk::Result<uint32_t> NextAttempt(const sdk::PodRef& pod);
  // Stops and removes sandbox `id` and deletes `log_dir`: undoes a start that failed.
  void Discard(const std::string& sandbox_id, const std::string& log_dir);
  // Stop's body (also remove's, with no grace). RETRY_LATER if a container still runs after.
  sdk::Result<void> StopRun(const Run& run, std::chrono::milliseconds grace);
  // Deletes a run's log directory (the sandbox's kLogDirAnnotation), if it lies under logDir.
  void DeleteLogs(const cri::PodSandboxStatus& sandbox);
  // A PullImage failure with a better code than containerd's UNKNOWN, judged from its message.
  static sdk::Error PullError(const sdk::Error& e, const std::string& image);

  // Constant after construction.
  const Config config_;
  const sdk::Host host_;
  const std::unique_ptr<CriClient> cri_;

  // Last: destroyed (joined) first, while the client it uses still exists.
  ExitWatcher watcher_;
};

}  // namespace capstan::plugins::containerd
