#include "plugins/process/reaper.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace capstan::plugins::process {
namespace {

constexpr int kFallbackPollMs = 100;

}  // namespace

UniqueFd OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  // The raw system call: glibc's wrapper needs 2.36, the syscall only the kernel (5.3).
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    // pidfds are close-on-exec already (the kernel sets O_CLOEXEC on them).
    return UniqueFd(static_cast<int>(fd));
  }
#else
  (void)pid;
#endif
  return UniqueFd();
}

Reaper::Reaper(Callback on_exit) : on_exit_(std::move(on_exit)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Reaper::~Reaper() { Shutdown(); }

void Reaper::Watch(const std::string& key, pid_t pid, UniqueFd pidfd) {
  auto entry = std::make_shared<Entry>();
  entry->pid = pid;
  entry->pidfd = pidfd.valid() ? std::move(pidfd) : OpenPidfd(pid);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    entries_[key] = std::move(entry);
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  }
  Wake();
}

void Reaper::Unwatch(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(key);
  }
  Wake();
}

void Reaper::Shutdown() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  Wake();
  if (thread.joinable()) thread.join();
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
}

void Reaper::Wake() {
  if (!wake_.valid()) return;
  const uint64_t one = 1;
  // EAGAIN only when the counter is saturated, and then the thread is woken anyway.
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void Reaper::Loop() {
  // No exception may leave a thread's top frame: a failure here (out of memory) ends watching,
  // and the driver's wait/stop then time out rather than the host being terminated.
  try {
    for (;;) {
      std::vector<std::pair<std::string, std::shared_ptr<Entry>>> snapshot;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        snapshot.assign(entries_.begin(), entries_.end());
      }
      std::vector<pollfd> fds;
      fds.push_back({wake_.get(), POLLIN, 0});
      bool fallback = !wake_.valid();
      for (const auto& [key, entry] : snapshot) {
        if (entry->pidfd.valid()) {
          fds.push_back({entry->pidfd.get(), POLLIN, 0});
        } else {
          fallback = true;
        }
      }
      const int n = ::poll(fds.data(), fds.size(), fallback ? kFallbackPollMs : -1);
      if (n < 0 && errno != EINTR) return;
      if (fds[0].revents & POLLIN) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
      }
      size_t fd_index = 1;
      for (const auto& [key, entry] : snapshot) {
        bool due = true;  // an entry without a pidfd is probed on every tick
        if (entry->pidfd.valid()) {
          const short revents = fds[fd_index++].revents;
          due = n > 0 && (revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        }
        if (!due) continue;
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (stopping_) return;
          auto it = entries_.find(key);
          if (it == entries_.end() || it->second != entry) continue;  // unwatched meanwhile
        }
        const bool done = on_exit_(key);
        std::lock_guard<std::mutex> lock(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end() || it->second != entry) continue;
        if (done) {
          entries_.erase(it);
        } else if (entry->pidfd.valid()) {
          // Readable, yet the process is not done: do not spin on the descriptor; probe it on
          // the fallback tick from now on.
          auto replacement = std::make_shared<Entry>();
          replacement->pid = entry->pid;
          it->second = std::move(replacement);
        }
      }
    }
  } catch (...) {
  }
}

}  // namespace capstan::plugins::process
