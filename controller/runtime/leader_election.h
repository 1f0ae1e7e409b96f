// LeaderElector: one holder at a time for a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection does it, so two control planes against one API never both reconcile.
//
// Every retry_period a candidate tries to acquire or renew the Lease with compare-and-swap (PUT
// with the resourceVersion it read; a concurrent writer gets 409 and loses):
//   * no Lease: create it holding it (AlreadyExists: someone else was first);
//   * held by us: renew (renewTime = now);
//   * held by another: take it over only when the record has not changed for leaseDuration as
//     measured on OUR clock since we first saw that record — never by comparing the holder's
//     timestamps with our clock, so clock skew between hosts cannot cause two leaders;
//   * released (holderIdentity empty): take it.
// A leader that cannot renew within renew_deadline stops leading (on_stopped_leading) before its
// lease can have expired for others (renew_deadline < lease_duration), then becomes a candidate
// again. Stop() releases a held Lease (holder emptied), so a successor need not wait.
//
// Thread-safety: Start/Stop from one thread; callbacks run on the elector's thread, one at a time,
// started before stopped; IsLeader from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/api_client.h"

namespace capstan::controller {

struct LeaderElectionOptions {
  std::string lease_namespace = "kube-system";
  std::string lease_name = "capstan-controller-manager";
  std::string identity;  // unique per candidate; empty: hostname + "_" + a random suffix
  // Kubernetes' defaults for kube-controller-manager.
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  std::function<void()> on_started_leading;  // start reconciling
  std::function<void()> on_stopped_leading;  // stop reconciling (return when stopped)
};

class LeaderElector {
 public:
  // kInvalid unless renew_deadline < lease_duration and retry_period < renew_deadline.
  static Result<std::unique_ptr<LeaderElector>> Create(client::ApiClient* api, LeaderElectionOptions options);
  ~LeaderElector();  // Stop()

  void Start();
  // Stops campaigning; if leading: on_stopped_leading, then the Lease is released.
  void Stop();
  bool IsLeader() const { return leading_.load(); }
  const std::string& identity() const { return options_.identity; }

 private:
  LeaderElector(client::ApiClient* api, LeaderElectionOptions options);
  void Run() noexcept;
  // One attempt; true when we hold the Lease afterwards.
  bool TryAcquireOrRenew();
  void Release();
  bool SleepUnlessStopped(std::chrono::milliseconds d);
  std::string LeasePath() const;

  client::ApiClient* const api_;
  LeaderElectionOptions options_;
  std::atomic<bool> leading_{false};

  // What we last saw of the Lease: a record that does not change for lease_duration (on our
  // clock) has expired. Only the elector's thread touches these.
  std::string observed_record_;  // holder + renewTime + transitions, serialized
  std::chrono::steady_clock::time_point observed_at_{};
  std::chrono::steady_clock::time_point last_renewed_{};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

// RFC 3339 with microseconds, as metav1.MicroTime: "2026-11-23T10:00:00.123456Z".
std::string MicroTimeNow();

}  // namespace capstan::controller
