#include "plugins/process/log_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {
namespace {

constexpr size_t kChunk = 64 * 1024;

bool Readable(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

// Sends what the file holds from the current offset to its end. false: the sink said stop.
sdk::Result<bool> Drain(int fd, const std::string& path, sdk::LogSink& sink) {
  std::vector<char> buf(kChunk);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sdk::Internal("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) return true;
    if (!sink.Stdout(std::string_view(buf.data(), static_cast<size_t>(n)))) return false;
  }
}

}  // namespace

sdk::Result<int64_t> TailOffset(int fd, int64_t size, int64_t lines) {
  if (lines < 0 || size <= 0) return int64_t{0};
  if (lines == 0) return size;
  std::vector<char> buf(kChunk);
  int64_t end = size;
  int64_t newlines = 0;
  bool last_byte = true;
  while (end > 0) {
    const int64_t begin = end > static_cast<int64_t>(kChunk) ? end - static_cast<int64_t>(kChunk) : 0;
    const size_t len = static_cast<size_t>(end - begin);
    size_t got = 0;
    while (got < len) {
      const ssize_t n = ::pread(fd, buf.data() + got, len - got, begin + static_cast<int64_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return sdk::Internal(std::string("cannot read the log: ") + (n < 0 ? std::strerror(errno) : "EOF"));
      got += static_cast<size_t>(n);
    }
    for (size_t i = len; i-- > 0;) {
      if (buf[i] != '\n') {
        last_byte = false;
        continue;
      }
      // The newline that ends the file ends the last line; it does not start another.
      if (last_byte) {
        last_byte = false;
        continue;
      }
      if (++newlines == lines) return begin + static_cast<int64_t>(i) + 1;
    }
    end = begin;
  }
  return int64_t{0};
}

sdk::Result<void> StreamLog(const std::string& path, int64_t tail_lines, bool follow, int exited_fd,
                            sdk::LogSink& sink) {
  // Watch before opening, so no write between the two goes unnoticed.
  UniqueFd notify;
  if (follow) {
    notify.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (notify.valid() && ::inotify_add_watch(notify.get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
      notify.reset();  // e.g. no such file: followed by the exit descriptor and the heartbeat alone
    }
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && errno != ENOENT) return sdk::Internal("cannot open " + path + ": " + std::strerror(errno));
  if (fd.valid() && tail_lines >= 0) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return sdk::Internal("cannot stat " + path + ": " + std::strerror(errno));
    sdk::Result<int64_t> offset = TailOffset(fd.get(), st.st_size, tail_lines);
    if (!offset.ok()) return sdk::Internal(path + ": " + offset.error().message);
    if (::lseek(fd.get(), offset.value(), SEEK_SET) < 0) {
      return sdk::Internal("cannot seek " + path + ": " + std::strerror(errno));
    }
  }
  for (;;) {
    // Terminated is read before draining: whatever the container wrote before it exited is in
    // the file by then, so the drain that follows is the last one needed.
    const bool terminated = !follow || Readable(exited_fd);
    if (fd.valid()) {
      sdk::Result<bool> more = Drain(fd.get(), path, sink);
      if (!more.ok()) return more.error();
      if (!more.value()) return sdk::Ok();
    }
    if (terminated) return sdk::Ok();
    std::vector<pollfd> fds;
    if (notify.valid()) fds.push_back({notify.get(), POLLIN, 0});
    if (exited_fd >= 0) fds.push_back({exited_fd, POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), kHeartbeatMs);
    if (n < 0 && errno != EINTR) return sdk::Internal(std::string("poll: ") + std::strerror(errno));
    if (n == 0 && !sink.Heartbeat()) return sdk::Ok();
    if (notify.valid()) {
      char events[4096];
      while (::read(notify.get(), events, sizeof events) > 0) {
      }
    }
  }
}

}  // namespace capstan::plugins::process
