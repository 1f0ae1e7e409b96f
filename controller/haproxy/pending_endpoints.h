// PendingEndpoints: a Pod's endpoint change on its way to HAProxy ahead of the EndpointSlices.
//
// The EndpointSlice controller turns a Pod's change (Ready, terminating, gone) into a slice write
// that the HAProxy controller then reads: between a Pod turning Ready and HAProxy routing to it
// that is one more fsynced write and two more thread hand-offs, 3-10 ms at p99 (bench/haproxy.sh
// (b)) where the HAProxy side takes ~1.5 ms. So the controller notes such Pods as its own Pod
// informer delivers them (Note), and Overlay() runs the slices ahead of their writer: for each
// noted Pod and each Service with a selector that selected it when noted or whose managed slices
// name it, the Pod's entries in those slices are replaced by the endpoint the
// EndpointSlice controller is about to write for it (endpoints::EndpointForPod, the very function
// it plans with), in one synthetic slice per Pod and Service.
//
// A noted Pod is forgotten once the managed slices of every such Service show exactly that
// (addressType, ports, address, conditions), or `max_age` after its last change: a slice writer
// that lags or is not running must not be outrun forever, the slices stay the truth.
//
// Invariants: slices not managed by the EndpointSlice controller (a Service without a selector
// and its hand-written slices) are never touched; an overlay says what the slices will say for
// the Pod state in the controller's cache. That cache may lag the slice writer's by a watch event:
// then the overlay shows the older state until the next event of that Pod, never longer.
//
// Thread-safety: Note and Overlay may be called from different threads (the informer's, the
// reconcile's).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/haproxy/model_builder.h"

namespace capstan::controller::haproxy {

// The label of the synthetic slices' managed-by (never written to the API).
inline constexpr char kPendingManagedBy[] = "haproxy.capstan.io/pending";

class PendingEndpoints {
 public:
  using Clock = std::chrono::steady_clock;
  using NodeMap = std::map<std::string, std::shared_ptr<const nlohmann::json>>;

  explicit PendingEndpoints(std::chrono::milliseconds max_age = std::chrono::seconds(5)) : max_age_(max_age) {}

  // True when an update from `old_pod` to `pod` can change an endpoint the EndpointSlice
  // controller derives from it: labels, deletionTimestamp, nodeName, phase, hostIP, port
  // mappings, or the Ready condition's status.
  static bool MayMoveEndpoint(const nlohmann::json& old_pod, const nlohmann::json& pod);

  // `pod` changed (its newest state) or, with `deleted`, is gone (its last state). `services`
  // ("<ns>/<name>"): the Services with a selector that select it, before or after the change (the
  // Pod informer's handler finds them once, so a pass does not match every noted Pod against
  // every Service of its namespace again).
  void Note(std::shared_ptr<const nlohmann::json> pod, bool deleted, std::vector<std::string> services,
            Clock::time_point now);

  // `slices` with the noted Pods' endpoints ahead of them (see above); forgets Pods the slices
  // caught up with and Pods noted longer than max_age ago. `nodes` by name: the Nodes the noted
  // Pods run on (for their address, as the EndpointSlice controller finds it).
  ObjectList Overlay(const ObjectList& services, const ObjectList& slices, const NodeMap& nodes, Clock::time_point now);

  // The noted Pods' nodes (spec.nodeName), to look up for Overlay.
  std::vector<std::string> NodeNames() const;
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const nlohmann::json> pod;
    bool deleted = false;
    std::vector<std::string> services;
    Clock::time_point noted;
  };
  const std::chrono::milliseconds max_age_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> pods_;  // "<ns>/<name>"; guarded by mu_
};

}  // namespace capstan::controller::haproxy
