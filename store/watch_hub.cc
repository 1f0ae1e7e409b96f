#include "store/watch_hub.h"

#include <algorithm>

#include "base/log.h"

namespace capstan::store {

Watcher::Watcher(std::string prefix, size_t buffer, std::function<void()> notify, int64_t after_revision)
    : prefix_(std::move(prefix)),
      buffer_(std::max<size_t>(buffer, 1)),
      notify_(std::move(notify)),
      last_revision_(after_revision) {}

void Watcher::EnqueueReplay(const std::vector<EventPtr>& events, int64_t last_revision) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const EventPtr& e : events) queue_.push_back(e);
  last_revision_ = last_revision;
}

bool Watcher::Offer(const std::vector<EventPtr>& events, int64_t through, bool* overflowed) {
  bool queued = false;
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  for (const EventPtr& e : events) {
    if (e->revision <= last_revision_) continue;  // already replayed from the log
    if (queue_.size() >= buffer_) {
      closed_ = true;
      reason_ = Status::Expired("watch of \"" + prefix_ + "\" fell " + std::to_string(buffer_) +
                                " events behind; list again");
      *overflowed = true;
      return true;
    }
    queue_.push_back(e);
    queued = true;
  }
  last_revision_ = std::max(last_revision_, through);
  return queued;
}

size_t Watcher::Poll(std::vector<EventPtr>* out, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = std::min(max, queue_.size());
  for (size_t i = 0; i < n; ++i) {
    out->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return n;
}

size_t Watcher::Wait(std::vector<EventPtr>* out, size_t max, std::chrono::milliseconds timeout) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !queue_.empty() || closed_; });
  }
  return Poll(out, max);
}

bool Watcher::Closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

Status Watcher::CloseReason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

bool Watcher::Close(Status reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    closed_ = true;
    reason_ = std::move(reason);
  }
  Signal();
  return true;
}

void Watcher::Signal() {
  cv_.notify_all();
  if (!notify_) return;
  // A consumer's callback must not take down the committer thread.
  try {
    notify_();
  } catch (const std::exception& e) {
    log::Error("watch notify callback threw", {{"prefix", prefix_}, {"error", e.what()}});
  } catch (...) {
    log::Error("watch notify callback threw", {{"prefix", prefix_}});
  }
}

WatchHub::WatchHub(int64_t revision, size_t cache_capacity)
    : cache_capacity_(std::max<size_t>(cache_capacity, 1)), revision_(revision) {}

int64_t WatchHub::Revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

int64_t WatchHub::Watchers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_;
}

void WatchHub::Publish(const std::vector<EventPtr>& events) {
  if (events.empty()) return;
  std::vector<std::shared_ptr<Watcher>> to_signal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const EventPtr& e : events) {
      cache_.push_back(e);
      if (cache_.size() > cache_capacity_) cache_.pop_front();
    }
    revision_ = events.back()->revision;
    if (groups_.empty()) return;

    std::vector<Group*> touched;
    for (const EventPtr& e : events) {
      std::string_view key = e->kv.key;
      for (const auto& [length, count] : prefix_lengths_) {
        if (length > key.size()) break;
        auto it = groups_.find(key.substr(0, length));
        if (it == groups_.end()) continue;
        if (it->second.matched.empty()) touched.push_back(&it->second);
        it->second.matched.push_back(e);
      }
    }
    std::vector<std::shared_ptr<Watcher>> overflowed;
    for (Group* g : touched) {
      for (const auto& w : g->members) {
        bool overflow = false;
        if (w->Offer(g->matched, revision_, &overflow)) to_signal.push_back(w);
        if (overflow) overflowed.push_back(w);
      }
      g->matched.clear();
    }
    // Detached only now: DetachLocked reorders members and may erase a group.
    for (const auto& w : overflowed) DetachLocked(w);
  }
  for (const auto& w : to_signal) w->Signal();
}

void WatchHub::AttachLocked(const std::shared_ptr<Watcher>& w) {
  auto [it, inserted] = groups_.try_emplace(w->prefix_);
  if (inserted) ++prefix_lengths_[w->prefix_.size()];
  w->slot_ = it->second.members.size();
  w->attached_ = true;
  it->second.members.push_back(w);
  ++watchers_;
}

void WatchHub::DetachLocked(const std::shared_ptr<Watcher>& w) {
  if (!w->attached_) return;
  auto it = groups_.find(w->prefix_);
  if (it == groups_.end()) return;
  auto& members = it->second.members;
  size_t slot = w->slot_;
  if (slot + 1 != members.size()) {
    members[slot] = std::move(members.back());
    members[slot]->slot_ = slot;
  }
  members.pop_back();
  w->attached_ = false;
  --watchers_;
  if (members.empty()) {
    groups_.erase(it);
    auto len = prefix_lengths_.find(w->prefix_.size());
    if (--len->second == 0) prefix_lengths_.erase(len);
  }
}

Status WatchHub::AttachAtHead(const std::shared_ptr<Watcher>& w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Status::Unavailable("store is shut down");
  w->last_revision_ = revision_;
  AttachLocked(w);
  return Status::Ok();
}

Result<bool> WatchHub::TryAttach(const std::shared_ptr<Watcher>& w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Status::Unavailable("store is shut down");
  int64_t after = w->last_revision_;
  if (after < revision_) {
    if (cache_.empty() || cache_.front()->revision > after + 1) return false;
    std::vector<EventPtr> replay;
    for (size_t i = static_cast<size_t>(after + 1 - cache_.front()->revision); i < cache_.size(); ++i) {
      if (cache_[i]->kv.key.starts_with(w->prefix_)) replay.push_back(cache_[i]);
    }
    w->EnqueueReplay(replay, revision_);
  }
  AttachLocked(w);
  return true;
}

void WatchHub::Detach(const std::shared_ptr<Watcher>& w) {
  std::lock_guard<std::mutex> lock(mu_);
  DetachLocked(w);
}

void WatchHub::CloseAll(const Status& reason) {
  std::vector<std::shared_ptr<Watcher>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    for (auto& [prefix, group] : groups_) {
      for (auto& w : group.members) {
        w->attached_ = false;
        all.push_back(std::move(w));
      }
    }
    groups_.clear();
    prefix_lengths_.clear();
    watchers_ = 0;
    cache_.clear();
  }
  for (const auto& w : all) w->Close(reason);
}

void HubWatch::Cancel() {
  hub_->Detach(watcher_);
  watcher_->Close(Status::Ok());
}

}  // namespace capstan::store
