// NodeRegistration: the node agent's writes about its own Node: registration, the Ready
// condition, and the heartbeat Lease.
//
//   Register(fp): creates the Node with spec.driver and its status (capacity = allocatable from
//     the fingerprint, Ready, addresses, nodeInfo). If the Node exists (the agent restarted, or a
//     user created it first with taints or driver config) it is updated instead: the user's spec
//     (taints, unschedulable, driver endpoint and config) and labels are kept, the agent's labels
//     (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch and the configured ones) and
//     spec.driver.name are set, and the status is patched.
//   PostStatus(fp): patches capacity, allocatable and the Ready condition (lastHeartbeatTime now;
//     lastTransitionTime only when the status flips). Ready=True, reason KubeletReady, while the
//     driver is healthy; Ready=False, reason KubeletNotReady, with the driver's message, when not.
//     A Node deleted meanwhile is registered again.
//   RenewLease(): kube-node-lease/<node>: holderIdentity = node name, leaseDurationSeconds,
//     renewTime (MicroTime), owned by the Node (ownerReferences). Created when absent, updated
//     with compare-and-swap on the last resourceVersion seen (a conflict re-reads it), re-created
//     after a 404.
//
// Status patches are strategic merges (conditions keyed by type), so conditions that others post
// (MemoryPressure, a problem detector's) stay.
//
// Thread-safety: not thread-safe; one thread at a time (the agent's Start, then its heartbeat
// thread). The ApiClient must outlive it.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/api_client.h"
#include "node/runtime_driver.h"

namespace capstan::node {

inline constexpr char kKubeletVersion[] = "v1.30.0-capstan";
inline constexpr char kNodeLeaseNamespace[] = "kube-node-lease";
inline constexpr char kReadyMessage[] = "capstan node agent is posting ready status";

struct NodeIdentity {
  std::string name;
  std::string address;                        // InternalIP
  std::map<std::string, std::string> labels;  // set on top of the well-known ones
  std::string driver_name;
  std::string driver_endpoint;                // written when the Node has none; "" for none
  nlohmann::json driver_config;               // written when the Node has none; null for none
};

class NodeRegistration {
 public:
  NodeRegistration(client::ApiClient* api, NodeIdentity identity, std::chrono::seconds lease_duration);

  Status Register(const DriverFingerprint& fp);
  Status PostStatus(const DriverFingerprint& fp);
  Status RenewLease();
  // Reads the Node and says whether its Ready condition still is what an agent with this health
  // posts (True when healthy, else False). Someone else may have changed it: the node lifecycle
  // controller sets it Unknown when heartbeats stop, and a returning agent must correct that at
  // once, not at its next periodic status post. Errors read as "as posted" (nothing to fix).
  bool ReadyAsPosted(bool healthy);

  const NodeIdentity& identity() const { return identity_; }
  // The registered Node's uid ("" before Register succeeded).
  const std::string& node_uid() const { return node_uid_; }
  // The Node as last read or written ("null" before Register).
  const nlohmann::json& node() const { return node_; }

 private:
  nlohmann::json Labels(const DriverFingerprint& fp) const;
  nlohmann::json ReadyCondition(const DriverFingerprint& fp, const nlohmann::json& current_status) const;
  nlohmann::json NodeStatus(const DriverFingerprint& fp, const nlohmann::json& current_status) const;
  nlohmann::json LeaseBody() const;
  std::string NodePath() const;
  std::string LeasePath() const;
  Status PatchStatus(const nlohmann::json& status);

  // Constant after construction.
  client::ApiClient* const api_;
  const NodeIdentity identity_;
  const std::chrono::seconds lease_duration_;

  std::string node_uid_;
  nlohmann::json node_;   // the Node as last seen
  nlohmann::json lease_;  // the Lease as last seen (null: read it first)
};

}  // namespace capstan::node
