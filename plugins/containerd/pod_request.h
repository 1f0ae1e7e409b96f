// The CRI requests a PodRunSpec becomes: one pod sandbox (RunPodSandbox) and one container per
// spec container (CreateContainer), and the checks the CRI and the file system need beyond the
// SDK's own. Pure: no call to containerd.
//
// What the driver writes on what it creates, so that a new instance finds and re-reads its runs
// from containerd alone (no state of its own):
//   sandbox:   labels      = the run's labels + kDriverLabel=containerd (what list selects on)
//              annotations = kLogDirAnnotation (to delete the logs with the run)
//              metadata    = the pod's name, uid and namespace, and the attempt
//   container: labels      = the run's labels + kDriverLabel=containerd
//              annotations = kIndexAnnotation (spec order), kPodUidAnnotation, kImageAnnotation
//              metadata    = the container's name
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>

#include "capstan/driver_sdk.hpp"
#include "plugins/containerd/cri/runtime_v1.pb.h"

namespace capstan::plugins::containerd {

namespace cri = ::runtime::v1;

inline constexpr char kDriverLabel[] = "capstan.io/driver";
inline constexpr char kDriverLabelValue[] = "containerd";
inline constexpr char kIndexAnnotation[] = "capstan.io/container-index";
inline constexpr char kPodUidAnnotation[] = "capstan.io/pod-uid";
inline constexpr char kImageAnnotation[] = "capstan.io/image";
inline constexpr char kLogDirAnnotation[] = "capstan.io/log-directory";

// CFS period the CPU limit is expressed in (kubelet's), and the smallest quota and shares it sets.
inline constexpr int64_t kCpuPeriodUs = 100000;
inline constexpr int64_t kMinCpuQuotaUs = 1000;
inline constexpr int64_t kMinCpuShares = 2;

// The spec's checks beyond the SDK's: pod uid, name and namespace and container names usable in
// file names ([A-Za-z0-9][A-Za-z0-9._-]*, at most 253 bytes), no label kDriverLabel, quantities
// that parse, absolute mount paths. INVALID_ARGUMENT naming the field.
sdk::Result<void> CheckSpec(const sdk::PodRunSpec& spec);

// The pod's name and namespace as the sandbox carries them: "default" for no namespace, the uid
// for no name.
std::string PodNamespaceOf(const sdk::PodRef& pod);
std::string PodNameOf(const sdk::PodRef& pod);

// Where CRI writes the run's logs: <log_root>/<namespace>_<name>_<uid>_<attempt>.
std::string SandboxLogDirectory(const std::string& log_root, const sdk::PodRef& pod, uint32_t attempt);

// The sandbox of `spec` (CheckSpec passed): host network is the node's network namespace, each
// container has its own pid namespace (as Kubernetes), the pod shares one IPC namespace.
cri::RunPodSandboxRequest BuildSandboxRequest(const sdk::PodRunSpec& spec, const std::string& log_root,
                                              uint32_t attempt, const std::string& runtime_handler);

// The config of container `index` of `spec` (CheckSpec passed): command, args, env, working
// directory, mounts, labels, log path <name>.log, resources (ResourcesFromSpec).
sdk::Result<cri::ContainerConfig> BuildContainerConfig(const sdk::PodRunSpec& spec, size_t index);

// limits.memory -> memory_limit_in_bytes; limits.cpu -> cpu_quota over kCpuPeriodUs;
// requests.cpu (else limits.cpu) -> cpu_shares (1024 per CPU). Other resources are ignored.
sdk::Result<cri::LinuxContainerResources> ResourcesFromSpec(const nlohmann::json& resources);

}  // namespace capstan::plugins::containerd
