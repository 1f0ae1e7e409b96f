// PluginDriver: a RuntimeDriver whose work is done by a driver plugin behind the C ABI
// (sdk/include/capstan/driver.h), plus the ABI operations RuntimeDriver does not have yet
// (capabilities, image pull, recover, wait, logs, exec, images, exit events).
//
// Translation (docs/plugins.md has the documents):
//   StartPod(v1 Pod)  -> start(PodRunSpec): pod uid/namespace/name; per container name, image,
//                        command, args, env (literal values; valueFrom is not resolved here),
//                        workingDir, ports, resources, volumeMounts of hostPath volumes (other
//                        volume types are not mounted yet); networkMode "host" unless the
//                        annotation capstan.io/network-mode names another; labels = the pod's labels, then
//                        capstan.io/pod-uid|pod-namespace|pod-name, then options.run_labels.
//   InspectPod        -> inspect;  StopPod -> stop;  RemovePod -> remove (idempotent);
//   ListPods          -> list with options.run_labels as the selector (only this agent's runs);
//   Fingerprint       -> fingerprint (a failing call reads as an unhealthy runtime).
// Errors: StatusFromReply (plugin_loader.h): NOT_FOUND -> kNotFound, RETRY_LATER/UNAVAILABLE ->
// kUnavailable, INVALID_* -> kInvalid, UNSUPPORTED -> kMethodNotAllowed, ...; DriverCodeOf()
// recovers the plugin's code. Nothing throws.
//
// Thread-safety: every method is thread-safe (the ABI makes every operation thread-safe; the only
// mutable state is the exit handler, under its own mutex). The agent's rule holds as for any
// RuntimeDriver: no concurrent StartPod/StopPod/RemovePod for the same run.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "node/plugin_loader.h"
#include "node/runtime_driver.h"

namespace capstan::node {

// A Pod's network mode when it is not the host's: "bridge" (docker publishes the ports) or "none".
inline constexpr char kNetworkModeAnnotation[] = "capstan.io/network-mode";

struct PluginDriverOptions {
  // Put on every run this driver starts and used as ListPods' selector: what makes a run this
  // agent's when several agents (or other tools) share an engine. Set it per node.
  std::map<std::string, std::string> run_labels = {{"capstan.io/managed-by", "capstan"}};
};

// The result of Wait: whether every container has terminated, and their states.
struct PodWaitResult {
  bool exited = false;
  std::vector<ContainerState> containers;
};

// A ContainerExited event of the plugin.
struct ContainerExit {
  std::string handle_id;
  std::string pod_uid;
  ContainerState container;
};

class PluginDriver final : public RuntimeDriver {
 public:
  // Creates an instance of `library` with `config` (Node spec.driver.config) and reads its
  // capabilities. Errors name the file (create) or the driver (capabilities).
  static Result<std::unique_ptr<PluginDriver>> Create(std::shared_ptr<PluginLibrary> library,
                                                      const nlohmann::json& config, PluginDriverOptions options = {});
  ~PluginDriver() override;  // destroys the instance (runs keep running), then may unload

  const std::string& Name() const override { return name_; }
  DriverFingerprint Fingerprint() override;
  Result<PodHandle> StartPod(const nlohmann::json& pod) override;
  Result<PodState> InspectPod(const PodHandle& handle) override;
  Status StopPod(const PodHandle& handle, std::chrono::milliseconds grace) override;
  Status RemovePod(const PodHandle& handle) override;
  Result<std::vector<PodHandle>> ListPods() override;

  // ---- Beyond RuntimeDriver ----

  const PluginLibrary& Library() const { return instance_->library(); }
  // As the plugin declared them at creation; constant.
  const sdk::Capabilities& Capabilities() const { return capabilities_; }

  // RuntimeDriver's optional operations, each kMethodNotAllowed unless the plugin declared it.
  bool PullsImages() const override { return capabilities_.image_pull; }
  Result<std::vector<std::string>> ImageRefs() override;
  Result<std::string> PullImage(const std::string& image, const std::optional<ImagePullAuth>& auth) override;
  Result<ExecOutput> Exec(const PodHandle& handle, const std::string& container,
                          const std::vector<std::string>& command, std::chrono::milliseconds timeout) override;
  Status Logs(const PodHandle& handle, const std::string& container, const LogOptions& options,
              const LogSinkFn& sink) override;
  // Re-attaches to a run after a restart (of the host or the driver instance). kNotFound: gone.
  Status Recover(const PodHandle& handle);
  // Blocks until every container of the run terminated or `timeout` passed (exited false).
  Result<PodWaitResult> Wait(const PodHandle& handle, std::chrono::milliseconds timeout);
  Result<std::vector<ImageInfo>> ListImages() override;
  // Idempotent; kConflict while a run uses the image.
  Status RemoveImage(const std::string& image) override;
  // kMethodNotAllowed unless the plugin declares imageFs (older plugins, whose table ends before
  // image_fs_info, never do).
  Result<ImageFsStats> ImageFsInfo() override;

  // Receives the plugin's ContainerExited events (when capabilities.exit_events), on a plugin
  // thread: must not block and must not call into this driver (queue the pod instead). Events are
  // hints; Wait/InspectPod stay the truth. nullptr: drop events.
  void SetExitHandler(std::function<void(const ContainerExit&)> handler);
  // RuntimeDriver's view of the same events: the pod uid of each ContainerExited.
  void OnPodExit(std::function<void(const std::string& pod_uid)> handler) override;

 private:
  struct EventRouter;

  PluginDriver(std::shared_ptr<EventRouter> router, PluginDriverOptions options);
  sdk::PodRunHandle ToAbi(const PodHandle& handle) const;

  // Constant after construction. router_ outlives instance_ (declared first, destroyed last).
  const std::shared_ptr<EventRouter> router_;
  const PluginDriverOptions options_;
  std::unique_ptr<PluginInstance> instance_;
  sdk::Capabilities capabilities_;
  std::string name_;
};

// Finds the driver plugin `driver_name` in `plugin_dirs` (OpenPlugin) and creates a PluginDriver
// with `config`. Every error is a Status naming the file or the directories searched.
Result<std::unique_ptr<PluginDriver>> LoadPluginDriver(const std::vector<std::string>& plugin_dirs,
                                                       const std::string& driver_name, const nlohmann::json& config,
                                                       PluginDriverOptions options = {});

// The translations PluginDriver uses, exposed for tests: a v1 Pod as a PodRunSpec, and a status
// document's container as the agent's ContainerState.
Result<sdk::PodRunSpec> PodRunSpecFromPod(const nlohmann::json& pod, const PluginDriverOptions& options);
ContainerState ContainerStateFromAbi(const sdk::ContainerStatus& status);

}  // namespace capstan::node
