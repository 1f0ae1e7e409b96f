// The termination order on the node's side (docs/haproxy.md, "Termination order"): a terminating
// Pod that a load balancer routes to is stopped (preStop, SIGTERM) only once the load balancer has
// drained it, so no request in flight to it is lost.
//
// The HAProxy controller marks a Pod it routes to with the status condition
// kHaproxyDrainedCondition False (api/kinds/haproxy_annotations.h) and sets it True once the
// Pod's servers are drained. GateTermination decides, for a Pod the agent is about to stop for
// its deletion, how long to wait still:
//   - no condition, or True: no wait (a Pod never routed, `--lb none`, or drained);
//   - False: wait until it turns True (the agent's Pod informer wakes it: no polling), at most
//     min(grace period, max_wait) after the agent first saw the Pod terminating. A grace of 0
//     (force, or `--grace-period=0`) waits for nothing.
// The wait is part of the grace period: a Pod carrying the condition gets for preStop and the stop
// what is left of it, but at least min(grace, 2 s), as the kubelet gives containers after a
// preStop hook that ran over; one without it gets the whole grace.
//
// Thread-safety: a stateless function.
#pragma once

#include <chrono>

#include <nlohmann/json.hpp>

namespace capstan::node {

struct TerminationGate {
  std::chrono::milliseconds wait{0};        // > 0: look again after this long (or on an update)
  std::chrono::milliseconds grace_left{0};  // when wait is 0: the grace for preStop and the stop
};

// A Pod's grace period: metadata.deletionGracePeriodSeconds once it is being deleted, else
// spec.terminationGracePeriodSeconds, else Kubernetes' 30 s; never negative.
std::chrono::milliseconds PodGracePeriod(const nlohmann::json& pod);

// `pod`: the cached v1 Pod (deletionTimestamp set); `grace`: its grace period; `waited`: how long
// since the agent first saw it terminating.
TerminationGate GateTermination(const nlohmann::json& pod, std::chrono::milliseconds grace,
                                std::chrono::milliseconds waited, std::chrono::milliseconds max_wait);

}  // namespace capstan::node
