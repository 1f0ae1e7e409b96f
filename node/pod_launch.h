// The Pod as the node agent asks a driver to run it: host ports filled in, the environment a
// Kubernetes user expects resolved, and $(VAR) references expanded as the kubelet does.
//
// Ports (Nomad-style dynamic ports on host networking): every containerPort without a hostPort is
// served on a port the agent allocated (port_allocator.h); a given hostPort is used as is. The
// workload learns its ports from its environment:
//   PORT                  the host port of the container's first containerPort;
//   CAPSTAN_PORT_<NAME>   for every named port of the pod (name upper-cased, '-' as '_'), so a
//                         sidecar finds its neighbours.
// The mapping is recorded in the Pod's status.portMappings, where endpoints and the load balancer
// read it and where a restarted agent takes its ports back from.
//
// Environment of each container, in this order (later entries win, and may refer to earlier ones
// as $(NAME)): the service variables (service_env.h; unless spec.enableServiceLinks is false),
// PORT and CAPSTAN_PORT_*, then envFrom (ConfigMaps and Secrets, with prefix), then
// env (value, or valueFrom fieldRef / configMapKeyRef / secretKeyRef). command and args expand
// $(NAME) from the whole environment; $$ is a literal $; an unknown $(NAME) is left as written.
//
// Thread-safety: stateless functions; the lookup callback is called on the caller's thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan::node {

struct PortMapping {
  std::string container;  // spec.containers[].name
  std::string name;       // the port's name; may be empty
  std::string protocol;   // TCP, UDP, SCTP
  int container_port = 0;
  int host_port = 0;
};

// How many containerPorts of `pod` need a port allocated (those without a hostPort).
size_t PortsToAllocate(const nlohmann::json& pod);
// The mapping of every containerPort, in spec order: its hostPort, else the next of `allocated`.
// kInvalid when `allocated` is short.
Result<std::vector<PortMapping>> MapPorts(const nlohmann::json& pod, const std::vector<int>& allocated);
// status.portMappings and back (what a restarted agent finds).
nlohmann::json PortMappingsJson(const std::vector<PortMapping>& ports);
std::vector<PortMapping> PortMappingsFromStatus(const nlohmann::json& pod);
// The host port serving `port` (a number or a name, as in a probe) of `container`: the mapping's
// host port; a number no containerPort declares is taken as a host port itself; nullopt for an
// unknown name.
std::optional<int> HostPortFor(const std::vector<PortMapping>& ports, const std::string& container,
                               const nlohmann::json& port);

// Reads a key of a ConfigMap ("ConfigMap") or Secret ("Secret", the decoded value) in the pod's
// namespace; key empty: every key (as a JSON object of strings). kNotFound when the object or key
// does not exist.
using ConfigLookup =
    std::function<Result<nlohmann::json>(const std::string& kind, const std::string& name, const std::string& key)>;

struct LaunchContext {
  std::string host_ip;      // status.hostIP and status.podIP
  ConfigLookup lookup;      // null: configMap/secret references fail
  // The Services of the Pod's namespace as the Pod starts (their service env vars); empty: none.
  std::vector<std::shared_ptr<const nlohmann::json>> services;
};

// A copy of `pod` ready for RuntimeDriver::StartPod (see above). kInvalid or kNotFound name the
// container and variable whose value could not be resolved (the kubelet's
// CreateContainerConfigError); an optional reference that is missing is skipped.
Result<nlohmann::json> LaunchPod(const nlohmann::json& pod, const std::vector<PortMapping>& ports,
                                 const LaunchContext& ctx);

// Kubernetes' $(VAR) expansion of `text` with `lookup` (nullopt: leave the reference as written).
std::string ExpandVars(const std::string& text, const std::function<std::optional<std::string>(const std::string&)>& lookup);

}  // namespace capstan::node
