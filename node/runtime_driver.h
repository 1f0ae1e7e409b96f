// RuntimeDriver: what the node agent asks of the thing that runs a Pod's containers.
//
// Shaped after the driver ABI that comes next (Nomad-style task drivers: capabilities,
// fingerprint, start returning an opaque handle, recover, wait, stop with grace then kill,
// remove, inspect, list, logs, exec, images), but only the verbs the agent uses today. Logs,
// exec, image management and capabilities are added with the ABI; until then drivers are
// in-process implementations of this interface (FakeDriver is the first).
//
// The unit of work is a Pod: StartPod starts all of spec.containers and returns a PodHandle, the
// driver's opaque name for that run of the pod. The agent keeps handles (pod uid -> handle) and
// passes them back; a handle survives an agent restart because ListPods() returns every pod the
// driver runs for this agent, with the uid it belongs to, so a new agent can adopt it.
//
// Errors: every method returns Status / Result; no exception crosses this interface (an
// implementation catches its own). kNotFound means "no such pod run" (the agent then treats the
// run as gone); kUnavailable means the engine cannot be reached now (the agent retries).
//
// Thread-safety: every method may be called concurrently from several threads, for different
// pods; the agent never calls StartPod/StopPod/RemovePod concurrently for the same handle or pod,
// but may call InspectPod or ListPods while another pod is being started or stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan::node {

// What the driver reports about the host and itself (the Node's capacity and nodeInfo).
struct DriverFingerprint {
  // Resource quantities as the Node API takes them: {"cpu": "64", "memory": "256Gi", "pods": "10000"}.
  nlohmann::json capacity = nlohmann::json::object();
  std::string os;               // GOOS names: "linux"
  std::string arch;             // GOARCH names: "amd64", "arm64"
  std::string runtime_version;  // status.nodeInfo.containerRuntimeVersion: "fake://1.0", "docker://27.3.1"
  bool healthy = true;          // false: the Node goes Ready=False with `message`
  std::string message;          // why unhealthy (or a note when healthy)
};

// One container of a pod run, as the driver named it.
struct ContainerHandle {
  std::string name;  // spec.containers[].name
  std::string id;    // the driver's container id (the agent reports "<driver>://<id>")
};

// One run of one pod. Opaque to the agent except for the fields below; a driver may encode
// whatever it needs to re-attach into `id`.
struct PodHandle {
  std::string id;             // the driver's id of this run; unique within the driver
  std::string pod_uid;        // metadata.uid of the pod this run belongs to
  std::string pod_namespace;  // for logs and recovery
  std::string pod_name;
  std::vector<ContainerHandle> containers;  // in spec.containers order
};

enum class ContainerPhase { kWaiting, kRunning, kTerminated };

// The observed state of one container of a run.
struct ContainerState {
  std::string name;
  std::string id;
  std::string image;     // as in the spec
  std::string image_id;  // the resolved image (digest), as the runtime names it
  ContainerPhase phase = ContainerPhase::kWaiting;
  std::string reason;    // waiting: ContainerCreating, ...; terminated: Completed, Error, ...
  std::string message;
  int32_t exit_code = 0;  // terminated only
  // Wall-clock times: set once running (started_at) and once terminated (finished_at).
  std::optional<std::chrono::system_clock::time_point> started_at;
  std::optional<std::chrono::system_clock::time_point> finished_at;
  bool ready = false;  // the driver's view: running. The agent ANDs its readiness probe in.
  // Whether the container counts as started (containerStatuses[].started): unset means "when
  // running"; the agent sets it false while a startup probe has not yet succeeded.
  std::optional<bool> started;
};

// The observed state of one run.
struct PodState {
  std::vector<ContainerState> containers;  // in spec.containers order
  // A hint: the driver expects a change (e.g. a container to start) within this delay; the agent
  // looks again then. Zero: no change expected that the driver knows of.
  std::chrono::milliseconds recheck_after{0};
};

// Credentials for one registry, from a kubernetes.io/dockerconfigjson Secret.
struct ImagePullAuth {
  std::string username, password, auth, identity_token, registry_token, server_address;
};

// One image the runtime holds (driver.h's ImageList entry).
struct ImageInfo {
  std::string id;                    // the runtime's id ("sha256:...")
  std::vector<std::string> tags;     // "repo:tag", as the runtime names them
  std::vector<std::string> digests;  // "repo@sha256:..."
  int64_t size_bytes = 0;
  std::optional<std::chrono::system_clock::time_point> created;
  bool pinned = false;  // the runtime needs it (a sandbox image): never garbage-collected
};

// The filesystem that holds the images (driver.h's ImageFsInfo). Invariant:
// capacity_bytes > 0 and 0 <= available_bytes <= capacity_bytes.
struct ImageFsStats {
  int64_t capacity_bytes = 0;
  int64_t available_bytes = 0;
  std::optional<int64_t> used_bytes;  // what the images take, when the runtime says
  std::string path;                   // for messages
};

// What a command run in a container printed and how it ended.
struct ExecOutput {
  int64_t exit_code = 0;
  std::string out, err;
};

struct LogOptions {
  bool follow = false;
  int64_t tail_lines = -1;  // -1: everything
};

// Receives a container's output: stream 1 stdout, 2 stderr, 3 a heartbeat with no data while
// following (capstan/driver.h's CAPSTAN_LOG_STREAM_*). Returns false to stop.
using LogSinkFn = std::function<bool(int32_t stream, std::string_view data)>;

class RuntimeDriver {
 public:
  virtual ~RuntimeDriver() = default;

  // The driver's name as in Node spec.driver.name ("fake", "docker", ...); also the scheme of
  // container ids ("fake://<id>"). Constant.
  virtual const std::string& Name() const = 0;

  // The host's resources, the runtime's version and whether the runtime is healthy now. Cheap
  // enough to call at every heartbeat.
  virtual DriverFingerprint Fingerprint() = 0;

  // Starts every container of `pod` (a v1 Pod object; metadata.uid is required) and returns the
  // handle of the run at once: containers may still be waiting (image pull, start latency) and
  // show up in InspectPod as they progress. A container that fails is a terminated container
  // with its exit code, not an error; an error means nothing was started.
  virtual Result<PodHandle> StartPod(const nlohmann::json& pod) = 0;

  // The current state of every container of the run. kNotFound for an unknown (removed) run.
  virtual Result<PodState> InspectPod(const PodHandle& handle) = 0;

  // Stops the run's containers: asks them to stop, waits up to `grace`, then kills them. The run
  // stays inspectable (its containers terminated) until RemovePod. kNotFound for an unknown run.
  virtual Status StopPod(const PodHandle& handle, std::chrono::milliseconds grace) = 0;

  // Releases everything the run holds (containers, their state). Idempotent: removing an unknown
  // run succeeds. A running run is killed first.
  virtual Status RemovePod(const PodHandle& handle) = 0;

  // Every run the driver holds for this agent (running or not, until removed), each with the pod
  // uid it belongs to: what a restarted agent adopts or removes.
  virtual Result<std::vector<PodHandle>> ListPods() = 0;

  // Registers what to call, with the pod uid, when a container of a run exits (a crash, a kill
  // from outside the engine): the agent then looks at that pod at once instead of at its next
  // resync. Called from any driver thread; the handler must not block nor call the driver.
  // nullptr unregisters; after it returns no call is in flight. Drivers that learn of exits only
  // when inspected keep the default, which does nothing.
  virtual void OnPodExit(std::function<void(const std::string& pod_uid)> /*handler*/) {}

  // ---- Optional operations: images, exec, logs. The defaults answer kMethodNotAllowed. ----

  // True when the driver runs images it must have locally first (docker, containerd): the agent
  // then pulls per imagePullPolicy before StartPod. False when the image field is taken as is
  // (process, fake): the agent never pulls.
  virtual bool PullsImages() const { return false; }
  // Every reference (repo:tag, repo@digest) of the images the runtime holds, as it names them.
  virtual Result<std::vector<std::string>> ImageRefs() { return Status(Code::kMethodNotAllowed, Name() + ": images is not supported"); }
  // Every image the runtime holds (in use or not).
  virtual Result<std::vector<ImageInfo>> ListImages() {
    return Status(Code::kMethodNotAllowed, Name() + ": images is not supported");
  }
  // Removes an image by tag or id. Idempotent (an unknown image is OK); kConflict while a
  // container the runtime has not removed uses it.
  virtual Status RemoveImage(const std::string& /*image*/) {
    return Status(Code::kMethodNotAllowed, Name() + ": images is not supported");
  }
  // The size and free space of the filesystem holding the images (image garbage collection).
  virtual Result<ImageFsStats> ImageFsInfo() {
    return Status(Code::kMethodNotAllowed, Name() + ": imageFs is not supported");
  }
  // Pulls `image`; the image id. Blocks for as long as the pull takes.
  virtual Result<std::string> PullImage(const std::string& /*image*/, const std::optional<ImagePullAuth>& /*auth*/) {
    return Status(Code::kMethodNotAllowed, Name() + ": pull is not supported");
  }
  // Runs `command` in a running container of the run; a failing command is an ExecOutput, not an
  // error. timeout 0: none.
  virtual Result<ExecOutput> Exec(const PodHandle& /*handle*/, const std::string& /*container*/,
                                  const std::vector<std::string>& /*command*/, std::chrono::milliseconds /*timeout*/) {
    return Status(Code::kMethodNotAllowed, Name() + ": exec is not supported");
  }
  // Streams a container's output to `sink` on this thread until done (or the sink returns false).
  virtual Status Logs(const PodHandle& /*handle*/, const std::string& /*container*/, const LogOptions& /*options*/,
                      const LogSinkFn& /*sink*/) {
    return Status(Code::kMethodNotAllowed, Name() + ": logs is not supported");
  }
};

}  // namespace capstan::node
