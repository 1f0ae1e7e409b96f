// ExitWatcher: learns of the exits of the driver's containers by polling containerd, and reports
// each as a ContainerExited once. containerd 1.6's CRI has no event stream (GetContainerEvents
// came with 1.7), so a background thread lists the driver's containers (one ListContainers,
// filtered by kDriverLabel) every poll interval and compares their states with the last list.
//
// What is reported: a container seen in a state other than EXITED (or tracked: started or
// recovered by this instance) that is then seen EXITED. Containers already exited when this
// instance first looked are not reported (another instance did, or the host learns of them from
// inspect after recover). The event carries the full status (one ContainerStatus call).
//
// Besides the thread, the driver polls at once after stop and remove (PollNow), so events and
// waiters do not lag a poll interval behind what the driver itself did. Waiters (wait) block on
// AwaitChange: it returns when a poll saw any change, or at its deadline.
//
// Thread-safety: every method is thread-safe. Polls are serialised (poll_mu_); mu_ guards the
// table of containers and the generation. The event callback runs on the polling thread (the
// watcher's own or PollNow's caller), with poll_mu_ held and mu_ not held; it must not call back
// into the watcher. Stop joins the thread; the driver cancels the CriClient's calls first
// (CriClient::Shutdown) so that Stop never waits out a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "capstan/driver_sdk.hpp"
#include "plugins/containerd/cri_client.h"

namespace capstan::plugins::containerd {

class ExitWatcher {
 public:
  using OnExit = std::function<void(const sdk::ContainerExited&)>;
  using Clock = std::chrono::steady_clock;

  // Starts the polling thread. `cri` outlives the watcher.
  ExitWatcher(CriClient* cri, std::chrono::milliseconds interval, OnExit on_exit, sdk::Host host);
  ~ExitWatcher();  // Stop()
  ExitWatcher(const ExitWatcher&) = delete;
  ExitWatcher& operator=(const ExitWatcher&) = delete;

  // Reports the exit of `container_id` whenever a poll sees it EXITED (even the first poll that
  // sees it at all), unless it was reported already.
  void Track(const std::string& container_id);
  // One poll on the calling thread; returns after its events were sent.
  void PollNow();
  // Counts the polls that saw a change (a state, a container gone or new).
  uint64_t generation();
  // Until generation() != seen, or `deadline`.
  void AwaitChange(uint64_t seen, Clock::time_point deadline);
  // Stops and joins the thread. Idempotent.
  void Stop();

 private:
  struct Entry {
    cri::ContainerState state = cri::CONTAINER_CREATED;
    bool report = false;    // report its exit (seen not exited, or tracked)
    bool reported = false;  // its exit was reported
    uint64_t added = 0;     // polls_started_ when it was added (see Poll)
  };

  void Run();
  void Poll();

  // Constant after construction.
  CriClient* const cri_;
  const std::chrono::milliseconds interval_;
  const OnExit on_exit_;
  const sdk::Host host_;

  std::mutex poll_mu_;    // one poll at a time; taken before mu_
  bool failing_ = false;  // guarded by poll_mu_: the last poll failed (logged once)

  std::mutex mu_;
  std::condition_variable changed_;     // generation_ moved, or stopping_
  std::map<std::string, Entry> known_;  // guarded by mu_; by container id
  bool baseline_ = false;               // guarded by mu_: a poll succeeded once
  uint64_t polls_started_ = 0;          // guarded by mu_
  uint64_t generation_ = 0;             // guarded by mu_
  bool stopping_ = false;               // guarded by mu_

  std::thread thread_;  // last: started when everything above is ready
};

}  // namespace capstan::plugins::containerd
