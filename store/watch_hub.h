// WatchHub: the live watches of one store, the fan-out of committed events to them, and the
// cache of recent events that lets a new watch start without reading the on-disk log.
// Private to store/.
//
// Ordering: the committer calls Publish() with contiguous events in revision order, one batch at
// a time. Every watcher records the last revision it has been offered (`last_revision`); Publish
// offers it only later events, so a watcher that replayed history past the published head never
// sees an event twice, and one attached at revision R sees every event after R (no gap) because
// attaching and publishing hold the same mutex.
//
// Cost: per event, one hash lookup per distinct watched-prefix length that fits in the key; per
// batch, one lock of each watcher whose prefix matched, and one notify per such watcher, called
// after the hub's mutex is released (writers do not wait on consumers' callbacks).
//
// Thread-safety: all methods are thread-safe. Lock order: WatchHub::mu_ before Watcher::mu_.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace capstan::store {

class WatchHub;

// The state of one watch, shared by the hub (producer) and the Watch handle (consumer).
class Watcher {
 public:
  // Delivers events with revision > after_revision.
  Watcher(std::string prefix, size_t buffer, std::function<void()> notify, int64_t after_revision);

  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  const std::string& prefix() const { return prefix_; }

  // Before attaching only (the starter owns the watcher then): queue replayed history that the
  // hub has not offered. Replay ignores `buffer`: a watch may ask for more history than its
  // buffer holds; it overflows only if the consumer still lags when live events arrive.
  void EnqueueReplay(const std::vector<EventPtr>& events, int64_t last_revision);
  int64_t last_revision_unattached() const { return last_revision_; }

  size_t Poll(std::vector<EventPtr>* out, size_t max);
  size_t Wait(std::vector<EventPtr>* out, size_t max, std::chrono::milliseconds timeout);
  bool Closed() const;
  Status CloseReason() const;

  // Marks the watch closed (first reason wins) and wakes the consumer. Returns false if it was
  // already closed.
  bool Close(Status reason);
  // Wakes Wait() and calls the notify callback. Never called with WatchHub::mu_ held.
  void Signal();

 private:
  friend class WatchHub;

  // Hub side, with WatchHub::mu_ held: queues the events after last_revision_ and advances it to
  // `through`. Returns true if the consumer must be signalled; sets *overflowed if the buffer
  // was full (the watcher is then closed with kExpired).
  bool Offer(const std::vector<EventPtr>& events, int64_t through, bool* overflowed);

  // Constant after construction.
  const std::string prefix_;
  const size_t buffer_;
  const std::function<void()> notify_;

  // Owned by the starter until attached, then guarded by WatchHub::mu_.
  int64_t last_revision_;
  size_t slot_ = 0;          // index in its group's members while attached
  bool attached_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::deque<EventPtr> queue_;
  bool closed_ = false;
  Status reason_;
};

class WatchHub {
 public:
  // `revision` is the store's revision at open (nothing published yet); the cache keeps up to
  // `cache_capacity` (at least 1) most recent events.
  WatchHub(int64_t revision, size_t cache_capacity);

  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // The last published revision.
  int64_t Revision() const;

  // Committer only: `events` are the next contiguous revisions after Revision().
  void Publish(const std::vector<EventPtr>& events);

  // Attaches `w` to start after the current head; sets its last revision to it.
  Status AttachAtHead(const std::shared_ptr<Watcher>& w);
  // Attaches `w` if the cache (or the head) covers every event after w's last revision, queueing
  // the cached ones. false: the cache has moved past it; read more of the log and try again.
  Result<bool> TryAttach(const std::shared_ptr<Watcher>& w);

  // Releases w's slot. Idempotent.
  void Detach(const std::shared_ptr<Watcher>& w);

  // Closes every watch with `reason`; later attaches fail with kUnavailable.
  void CloseAll(const Status& reason);

  int64_t Watchers() const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The watchers of one prefix.
  struct Group {
    std::vector<std::shared_ptr<Watcher>> members;
    std::vector<EventPtr> matched;  // scratch for Publish; empty between calls
  };

  void AttachLocked(const std::shared_ptr<Watcher>& w);
  void DetachLocked(const std::shared_ptr<Watcher>& w);

  // Constant after construction.
  const size_t cache_capacity_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  int64_t revision_;
  bool closed_ = false;
  int64_t watchers_ = 0;
  std::deque<EventPtr> cache_;  // contiguous revisions ending at revision_
  std::unordered_map<std::string, Group, StringHash, std::equal_to<>> groups_;
  std::map<size_t, size_t> prefix_lengths_;  // length -> number of groups with that prefix length
};

// The Watch handle given to callers; cancels on destruction.
class HubWatch : public Watch {
 public:
  HubWatch(std::shared_ptr<WatchHub> hub, std::shared_ptr<Watcher> watcher)
      : hub_(std::move(hub)), watcher_(std::move(watcher)) {}
  ~HubWatch() override { Cancel(); }

  size_t Poll(std::vector<EventPtr>* out, size_t max) override { return watcher_->Poll(out, max); }
  size_t Wait(std::vector<EventPtr>* out, size_t max, std::chrono::milliseconds timeout) override {
    return watcher_->Wait(out, max, timeout);
  }
  bool Closed() const override { return watcher_->Closed(); }
  Status CloseReason() const override { return watcher_->CloseReason(); }
  void Cancel() override;

 private:
  // Constant after construction. The hub is shared so a watch may outlive its store.
  const std::shared_ptr<WatchHub> hub_;
  const std::shared_ptr<Watcher> watcher_;
};

}  // namespace capstan::store
