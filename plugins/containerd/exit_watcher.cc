#include "plugins/containerd/exit_watcher.h"

#include <set>
#include <utility>
#include <vector>

#include "plugins/containerd/pod_request.h"
#include "plugins/containerd/run_status.h"

namespace capstan::plugins::containerd {

ExitWatcher::ExitWatcher(CriClient* cri, std::chrono::milliseconds interval, OnExit on_exit, sdk::Host host)
    : cri_(cri), interval_(interval), on_exit_(std::move(on_exit)), host_(host), thread_([this] { Run(); }) {}

ExitWatcher::~ExitWatcher() { Stop(); }

void ExitWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExitWatcher::Run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    Poll();
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) return;
  }
}

void ExitWatcher::Track(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = known_[container_id];
  if (e.reported) return;
  e.report = true;
  // A container tracked after a poll began may be missing from that poll's list without being
  // gone: it is not dropped by that poll.
  e.added = polls_started_;
}

void ExitWatcher::PollNow() { Poll(); }

uint64_t ExitWatcher::generation() {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void ExitWatcher::AwaitChange(uint64_t seen, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_until(lock, deadline, [&] { return generation_ != seen || stopping_; });
}

void ExitWatcher::Poll() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  uint64_t this_poll;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    this_poll = ++polls_started_;
  }
  cri::ContainerFilter filter;
  (*filter.mutable_label_selector())[kDriverLabel] = kDriverLabelValue;
  sdk::Result<cri::ListContainersResponse> listed = cri_->ListContainers(filter);
  if (!listed.ok()) {
    if (!failing_) host_.Warn("containerd driver: cannot look for container exits: " + listed.error().message);
    failing_ = true;
    return;
  }
  if (failing_) host_.Info("containerd driver: looking for container exits again");
  failing_ = false;

  std::vector<cri::Container> exited;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool changed = false;
    std::set<std::string> seen;
    for (const cri::Container& c : listed.value().containers()) {
      seen.insert(c.id());
      auto [it, added] = known_.try_emplace(c.id());
      Entry& e = it->second;
      if (added) {
        // First sight. Before the first poll finished, what already exited is history; after
        // it, a new container (another instance's) is watched from now on.
        e.report = baseline_ || c.state() != cri::CONTAINER_EXITED;
        e.state = c.state();
        e.added = this_poll;
        changed = true;
      } else if (e.state != c.state()) {
        changed = true;
      }
      if (c.state() != cri::CONTAINER_EXITED && c.state() != cri::CONTAINER_UNKNOWN) e.report = true;
      if (c.state() == cri::CONTAINER_EXITED && e.report && !e.reported) {
        e.reported = true;
        exited.push_back(c);
      }
      e.state = c.state();
    }
    for (auto it = known_.begin(); it != known_.end();) {
      if (seen.count(it->first) == 0 && it->second.added < this_poll) {
        it = known_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    baseline_ = true;
    if (changed) ++generation_;
  }
  changed_.notify_all();

  for (const cri::Container& c : exited) {
    sdk::Result<cri::ContainerStatusResponse> status = cri_->ContainerStatus(c.id());
    if (!status.ok()) continue;  // removed meanwhile: its run is gone, nobody waits for the hint
    sdk::ContainerExited event;
    event.handle_id = c.pod_sandbox_id();
    if (auto it = c.annotations().find(kPodUidAnnotation); it != c.annotations().end()) event.pod_uid = it->second;
    event.container = StatusFromCri(status.value().status());
    on_exit_(event);
  }
}

}  // namespace capstan::plugins::containerd
