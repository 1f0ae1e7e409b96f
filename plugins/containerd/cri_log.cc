#include "plugins/containerd/cri_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace capstan::plugins::containerd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 64 * 1024;
// Enough for "<time> <stream> <tag> ": a record's header.
constexpr size_t kHeaderBytes = 96;
// How far back a tail looks for the beginning of a line that the other stream's records split
// (see FindCriTail); further back, the line is shown from the window on.
constexpr int kMaxCrossingRecords = 4096;
// After the container ended, containerd may still be copying its last output to the file.
constexpr std::chrono::milliseconds kSettle{100};

// A file descriptor closed at scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

sdk::Result<size_t> PreadAll(int fd, char* buf, size_t len, int64_t offset) {
  size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, buf + got, len - got, offset + static_cast<int64_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sdk::Internal(std::string("cannot read the log: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// The stream and tag of the record at [begin, end) (end: its '\n'). A line not in the format is
// written as stdout, whole: a full record of stdout.
struct RecordHead {
  int32_t stream = CAPSTAN_LOG_STREAM_STDOUT;
  bool partial = false;
};
sdk::Result<RecordHead> HeadAt(int fd, int64_t begin, int64_t end) {
  char header[kHeaderBytes];
  const size_t len = static_cast<size_t>(std::min<int64_t>(end - begin, kHeaderBytes));
  sdk::Result<size_t> got = PreadAll(fd, header, len, begin);
  if (!got.ok()) return got.error();
  std::optional<CriLogRecord> r = ParseCriLogLine(std::string_view(header, got.value()));
  if (!r.has_value()) return RecordHead{};
  return RecordHead{r->stream, r->partial};
}

}  // namespace

std::optional<CriLogRecord> ParseCriLogLine(std::string_view line) {
  const size_t a = line.find(' ');
  if (a == std::string_view::npos || a == 0 || line[0] < '0' || line[0] > '9') return std::nullopt;
  const size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  CriLogRecord r;
  r.time = line.substr(0, a);
  const std::string_view stream = line.substr(a + 1, b - a - 1);
  if (stream == "stdout") {
    r.stream = CAPSTAN_LOG_STREAM_STDOUT;
  } else if (stream == "stderr") {
    r.stream = CAPSTAN_LOG_STREAM_STDERR;
  } else {
    return std::nullopt;
  }
  // Tags are ':'-separated; the first says full or partial.
  const std::string_view rest = line.substr(b + 1);
  const size_t c = rest.find(' ');
  const std::string_view tags = rest.substr(0, c);
  const std::string_view first = tags.substr(0, tags.find(':'));
  if (first == "P") {
    r.partial = true;
  } else if (first != "F") {
    return std::nullopt;
  }
  r.content = c == std::string_view::npos ? std::string_view() : rest.substr(c + 1);
  return r;
}

// ---- Decoding -----------------------------------------------------------------------------------

bool CriLogDecoder::Write(int32_t stream, std::string_view data) {
  if (stopped_) return false;
  if (!data.empty() && !write_(stream, data)) stopped_ = true;
  return !stopped_;
}

bool CriLogDecoder::Record(std::string_view line, bool quiet) {
  std::optional<CriLogRecord> r = ParseCriLogLine(line);
  if (!r.has_value()) return quiet || Write(CAPSTAN_LOG_STREAM_STDOUT, std::string(line) + "\n");
  std::string& pending = pending_[r->stream];
  pending.append(r->content);
  if (r->partial) return !stopped_;
  if (quiet) {  // a line that ends before the window: not shown
    pending.clear();
    return !stopped_;
  }
  pending.push_back('\n');
  const std::string out = std::move(pending);
  pending.clear();
  return Write(r->stream, out);
}

bool CriLogDecoder::Feed(std::string_view bytes) {
  if (stopped_) return false;
  size_t begin = 0;
  for (size_t nl = bytes.find('\n'); nl != std::string_view::npos; nl = bytes.find('\n', begin)) {
    const bool quiet = fed_ + static_cast<int64_t>(nl) < quiet_bytes_;
    bool go_on;
    if (carry_.empty()) {
      go_on = Record(bytes.substr(begin, nl - begin), quiet);
    } else {
      carry_.append(bytes.substr(begin, nl - begin));
      go_on = Record(carry_, quiet);
      carry_.clear();
    }
    begin = nl + 1;
    if (!go_on) return false;
  }
  carry_.append(bytes.substr(begin));
  fed_ += static_cast<int64_t>(bytes.size());
  return true;
}

bool CriLogDecoder::Finish() {
  if (!carry_.empty()) {
    const std::string last = std::move(carry_);
    carry_.clear();
    if (!Record(last, false)) return false;
  }
  for (int32_t stream : {CAPSTAN_LOG_STREAM_STDOUT, CAPSTAN_LOG_STREAM_STDERR}) {
    const std::string rest = std::move(pending_[stream]);
    pending_[stream].clear();
    if (!Write(stream, rest)) return false;
  }
  return true;
}

// ---- Tail ---------------------------------------------------------------------------------------

namespace {

// Calls visit(begin, end) for each complete record, from the last to the first (`end`: the offset
// of its '\n'), until visit returns true. What follows the last newline is a record still being
// written: not visited.
sdk::Result<void> ForEachRecordBackward(int fd, int64_t size,
                                        const std::function<sdk::Result<bool>(int64_t, int64_t)>& visit) {
  std::vector<char> buf(kChunk);
  int64_t record_end = -1;  // the newline of the record after the one being found
  int64_t end = size;
  while (end > 0) {
    const int64_t begin = std::max<int64_t>(0, end - static_cast<int64_t>(kChunk));
    const size_t len = static_cast<size_t>(end - begin);
    sdk::Result<size_t> got = PreadAll(fd, buf.data(), len, begin);
    if (!got.ok()) return got.error();
    if (got.value() != len) return sdk::Internal("cannot read the log: it shrank while being read");
    for (size_t i = len; i-- > 0;) {
      if (buf[i] != '\n') continue;
      const int64_t nl = begin + static_cast<int64_t>(i);
      if (record_end >= 0) {
        sdk::Result<bool> done = visit(nl + 1, record_end);
        if (!done.ok()) return done.error();
        if (done.value()) return sdk::Ok();
      }
      record_end = nl;
    }
    end = begin;
  }
  // The first record of the file, which no newline precedes.
  if (record_end >= 0) {
    sdk::Result<bool> done = visit(0, record_end);
    if (!done.ok()) return done.error();
  }
  return sdk::Ok();
}

}  // namespace

sdk::Result<CriTail> FindCriTail(int fd, int64_t size, int64_t lines) {
  if (lines < 0 || size <= 0) return CriTail{0, 0};
  if (lines == 0) return CriTail{size, size};
  CriTail tail{-1, -1};
  int64_t full = 0;  // lines seen from the end
  // Streams with records after the window: only they can have a line that crosses its start.
  bool after[3] = {false, false, false};
  // Once the window is found: per stream, whether its line that crosses the window's start (a run
  // of partial records) has been found to begin; at most kMaxCrossingRecords are looked at.
  bool resolved[3] = {true, false, false};
  int looked = 0;
  sdk::Result<void> walked = ForEachRecordBackward(fd, size, [&](int64_t begin, int64_t end) -> sdk::Result<bool> {
    sdk::Result<RecordHead> head = HeadAt(fd, begin, end);
    if (!head.ok()) return head.error();
    const int32_t stream = head.value().stream;
    const bool partial = head.value().partial;
    if (tail.window < 0) {
      after[stream] = true;
      // Partial records at the very end are a line the container has not ended (yet, or ever:
      // its last output without a newline): it counts, as the last line of a file does.
      if (partial) {
        if (full == 0) full = 1;
        return false;
      }
      if (++full < lines + 1) return false;
      tail.window = tail.start = end + 1;
      for (int32_t s : {CAPSTAN_LOG_STREAM_STDOUT, CAPSTAN_LOG_STREAM_STDERR}) resolved[s] = !after[s];
      resolved[stream] = true;  // its line before the window ends with this record
      return resolved[CAPSTAN_LOG_STREAM_STDOUT] && resolved[CAPSTAN_LOG_STREAM_STDERR];
    }
    if (++looked > kMaxCrossingRecords) return true;  // shown from the window on, cut
    if (!resolved[stream]) {
      if (partial) {
        tail.start = begin;  // the crossing line's beginning is earlier still
      } else {
        resolved[stream] = true;  // the stream's line before the window ends here
      }
    }
    return resolved[CAPSTAN_LOG_STREAM_STDOUT] && resolved[CAPSTAN_LOG_STREAM_STDERR];
  });
  if (!walked.ok()) return walked.error();
  if (tail.window < 0) return CriTail{0, 0};
  return tail;
}

// ---- Streaming ----------------------------------------------------------------------------------

sdk::Result<void> StreamCriLog(const std::string& path, int64_t tail_lines, bool follow,
                               const std::function<bool()>& ended, sdk::LogSink& sink) {
  // When the sink was last called: a follow that has nothing to say sends a heartbeat after
  // kFollowTick of silence (also while partial records come in, which say nothing yet).
  Clock::time_point last_sent = Clock::now();
  CriLogDecoder decoder([&sink, &last_sent](int32_t stream, std::string_view data) {
    last_sent = Clock::now();
    return stream == CAPSTAN_LOG_STREAM_STDERR ? sink.Stderr(data) : sink.Stdout(data);
  });
  Fd notify;
  Fd file;
  // Opens the file (and watches it, first, so no write between the two goes unnoticed); false
  // while it does not exist.
  auto open = [&]() -> sdk::Result<bool> {
    if (file.valid()) return true;
    if (follow && !notify.valid()) {
      notify.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
      if (notify.valid() && ::inotify_add_watch(notify.get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
        notify.reset();  // no such file yet: the next tick tries again
      }
    }
    file.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.valid()) {
      if (errno == ENOENT) return false;
      return sdk::Internal("cannot open the log " + path + ": " + std::strerror(errno));
    }
    if (tail_lines >= 0) {
      struct stat st;
      if (::fstat(file.get(), &st) != 0) return sdk::Internal("cannot stat " + path + ": " + std::strerror(errno));
      sdk::Result<CriTail> tail = FindCriTail(file.get(), st.st_size, tail_lines);
      if (!tail.ok()) return sdk::Internal(path + ": " + tail.error().message);
      if (::lseek(file.get(), tail.value().start, SEEK_SET) < 0) {
        return sdk::Internal("cannot seek " + path + ": " + std::strerror(errno));
      }
      decoder.Quiet(tail.value().window - tail.value().start);
    }
    return true;
  };
  // Decodes what the file holds from the current offset. false: the sink said stop.
  auto drain = [&]() -> sdk::Result<bool> {
    if (!file.valid()) return true;
    std::vector<char> buf(kChunk);
    for (;;) {
      const ssize_t n = ::read(file.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sdk::Internal("cannot read " + path + ": " + std::strerror(errno));
      if (n == 0) return true;
      if (!decoder.Feed(std::string_view(buf.data(), static_cast<size_t>(n)))) return false;
    }
  };

  Clock::time_point next_check = Clock::now();
  for (;;) {
    sdk::Result<bool> opened = open();
    if (!opened.ok()) return opened.error();
    // Ended is read before draining, so the drain that follows sees all the container wrote
    // (after a moment for containerd to copy the last of it).
    bool done = !follow;
    if (follow && Clock::now() >= next_check) {
      done = ended();
      next_check = Clock::now() + kFollowTick;
      if (done) std::this_thread::sleep_for(kSettle);
    }
    if (done && !file.valid()) {
      // Created at the last moment, or never: one more look.
      opened = open();
      if (!opened.ok()) return opened.error();
    }
    sdk::Result<bool> more = drain();
    if (!more.ok()) return more.error();
    if (!more.value()) return sdk::Ok();
    if (done) {
      decoder.Finish();
      return sdk::Ok();
    }
    pollfd p{notify.get(), POLLIN, 0};
    const int n = ::poll(&p, notify.valid() ? 1 : 0, static_cast<int>(kFollowTick.count()));
    if (n < 0 && errno != EINTR) return sdk::Internal(std::string("poll: ") + std::strerror(errno));
    if (n > 0) {
      char events[4096];
      while (::read(notify.get(), events, sizeof events) > 0) {
      }
    }
    if (Clock::now() - last_sent >= kFollowTick) {
      last_sent = Clock::now();
      if (!sink.Heartbeat()) return sdk::Ok();
    }
  }
}

}  // namespace capstan::plugins::containerd
