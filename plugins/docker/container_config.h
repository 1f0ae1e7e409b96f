// What a run looks like in docker: the run id, the labels that mark and recover a run's
// containers, their names, and the body of POST /containers/create for one container of a
// PodRunSpec.
//
// A run is the set of containers labelled driver.capstan.io/run-id=<run id>; each also carries
// its container's name and spec index and the pod's uid, namespace and name, so that list,
// inspect and recover work from docker alone (after a host restart, with a new instance). The
// run's labels (PodRunSpec.labels: the agent's capstan.io/pod-uid, ...) are on every container.
//
// Kubernetes semantics: command -> Entrypoint, args -> Cmd (a command without args runs without
// the image's Cmd, as in Kubernetes), env, workingDir, resources.limits.memory -> Memory,
// resources.limits.cpu -> NanoCpus, resources.requests.cpu -> CpuShares, mounts -> bind mounts.
// Network: "host" and "none" as named; "bridge" is the configured bridge network with the ports
// that have a hostPort published. Like a Pod's, the containers of a run share one network
// namespace: the first container's ("bridge" and "none"); the others join it (container:<id>),
// and the first carries the ports of all and the pod's name as hostname.
//
// Thread-safety: stateless functions (NewRunId draws from std::random_device).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::docker {

inline constexpr char kLabelRunId[] = "driver.capstan.io/run-id";
inline constexpr char kLabelContainer[] = "driver.capstan.io/container";
inline constexpr char kLabelIndex[] = "driver.capstan.io/container-index";
inline constexpr char kLabelPodUid[] = "driver.capstan.io/pod-uid";
inline constexpr char kLabelPodNamespace[] = "driver.capstan.io/pod-namespace";
inline constexpr char kLabelPodName[] = "driver.capstan.io/pod-name";

// A fresh run id: 12 lowercase hex digits (48 random bits). The handle id is the run id.
std::string NewRunId();
// Whether `id` has the shape of a run id (anything else names no run of this driver).
bool IsRunId(std::string_view id);

// "capstan-<namespace>-<pod>-<container>-<run id>", each part reduced to docker's name alphabet
// ([a-zA-Z0-9_.-], other characters become '-') and to at most 40 characters; empty parts left
// out. Unique per run, readable in `docker ps`.
std::string ContainerName(const sdk::PodRef& pod, const std::string& container, const std::string& run_id);

// The driver-wide part of a create body.
struct CreateOptions {
  std::string bridge_network = "bridge";  // the network of networkMode "bridge"
  std::string stop_signal;                // "" : the image's
};

// Checks what docker would otherwise refuse half-way through a start, before anything is made:
// reserved labels, resource quantities, mount paths. INVALID_ARGUMENT naming the field.
sdk::Result<void> CheckSpec(const sdk::PodRunSpec& spec);

// The body of POST /containers/create for container `index` of `spec`. `netns_owner_id` is the
// docker id of container 0 when index > 0 and the mode is not "host" (the namespace to join).
// Requires CheckSpec(spec) to have passed.
nlohmann::json CreateBody(const sdk::PodRunSpec& spec, size_t index, const std::string& run_id,
                          const CreateOptions& options, const std::string& netns_owner_id);

}  // namespace capstan::plugins::docker
