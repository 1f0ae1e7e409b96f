// PortAllocator: the host ports a node gives to Pods' containerPorts, from one configured range
// (Nomad's dynamic ports). Workloads run with host networking, so each containerPort without a
// hostPort is served on a port of this range and learns it from its environment (pod_launch.h).
//
// Invariants:
//   - a port is held by at most one owner (a pod uid) at a time;
//   - Allocate hands out ports round-robin, starting after the last one handed out, so a port just
//     released is the last to be reused (clients of a deleted pod may still dial it);
//   - a port is only handed out when `port_free` says so (default: a TCP bind on the wildcard
//     address succeeds), so a port some process outside Capstan listens on is skipped.
// Reserve takes back what a restarted agent finds recorded in Pod statuses; it never fails on a
// port outside the range (a recorded hostPort), and keeps the first owner on a clash.
//
// Thread-safety: every method is thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace capstan::node {

struct PortRange {
  int first = 20000;
  int last = 29999;  // inclusive

  // "20000-29999". kInvalid names the text.
  static Result<PortRange> Parse(const std::string& text);
  std::string ToString() const { return std::to_string(first) + "-" + std::to_string(last); }
};

// True when a TCP listener could bind `port` on every address now.
bool HostPortFree(int port);

class PortAllocator {
 public:
  explicit PortAllocator(PortRange range, std::function<bool(int)> port_free = HostPortFree);

  // `count` distinct ports for `owner`, added to what it already holds. kUnavailable when the range
  // has not that many free ports (nothing is taken then).
  Result<std::vector<int>> Allocate(const std::string& owner, size_t count);
  // Marks `ports` as held by `owner` (recovery). Ports another owner holds are skipped.
  void Reserve(const std::string& owner, const std::vector<int>& ports);
  // Every port `owner` holds, ascending.
  std::vector<int> Held(const std::string& owner) const;
  // Frees every port of `owner`. Idempotent.
  void Release(const std::string& owner);
  size_t InUse() const;
  const PortRange& range() const { return range_; }

 private:
  const PortRange range_;
  const std::function<bool(int)> port_free_;
  mutable std::mutex mu_;
  std::map<int, std::string> owner_of_;  // guarded by mu_
  int next_;                             // guarded by mu_: where the next search starts
};

}  // namespace capstan::node
