// Container log files in the CRI format, as containerd writes them (ContainerStatus.log_path): one
// record per line,
//
//   <RFC3339Nano time> <stdout|stderr> <F|P> <content>\n
//
// where a line the container wrote that was longer than containerd's limit (16 KiB), or that was
// cut when the container exited, is split into partial records (tag P) ended by a full one (F).
// Reading gives back what the container wrote: each stream's partial records joined with the full
// record that ends them, one "\n" per full record.
//
// Thread-safety: CriLogDecoder is a value used by one thread; the functions are stateless.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::containerd {

struct CriLogRecord {
  std::string_view time;     // as written (RFC 3339 with nanoseconds)
  int32_t stream = 0;        // CAPSTAN_LOG_STREAM_STDOUT or _STDERR
  bool partial = false;      // tag P
  std::string_view content;  // without the final newline
};

// One record, without its '\n'. nullopt when the line is not in the format.
std::optional<CriLogRecord> ParseCriLogLine(std::string_view line);

// Where decoded output goes: (stream, data); false means stop.
using LogWriter = std::function<bool(int32_t stream, std::string_view data)>;

// Decodes a log file fed in chunks of any size. Records are written as they complete; a record
// cut by the end of a chunk waits for the next. A line not in the format is written as stdout as
// it is (nothing is lost).
class CriLogDecoder {
 public:
  explicit CriLogDecoder(LogWriter write) : write_(std::move(write)) {}

  // The first `bytes` bytes fed lie before the part to show (see CriTail): records that end in
  // them are not written, but partial records there still begin the lines that end after.
  void Quiet(int64_t bytes) { quiet_bytes_ = bytes; }
  // False once the writer said stop (then nothing more is written).
  bool Feed(std::string_view bytes);
  // The end of the log (the container is gone and the file drained): writes what partial records
  // still hold, without a newline, and a last record that had no newline. False if stopped.
  bool Finish();
  bool stopped() const { return stopped_; }

 private:
  bool Record(std::string_view line, bool quiet);
  bool Write(int32_t stream, std::string_view data);

  LogWriter write_;
  int64_t quiet_bytes_ = 0;
  int64_t fed_ = 0;         // bytes fed so far
  std::string carry_;       // bytes after the last newline fed
  std::string pending_[3];  // per stream: partial records not yet ended by a full one
  bool stopped_ = false;
};

// Where to read the last lines of a log file. `window`: the offset where the last `lines` lines
// begin, just after the full record that precedes them (lines are counted by full records, in file
// order across both streams, plus one for partial records that end the file: a line not ended,
// such as output without a final newline). `start` <= `window`: where decoding must begin so that
// a line of one stream that the other stream's records split is shown whole (its partial records
// before the window, looked for up to a few thousand records back); decode from `start` with
// CriLogDecoder::Quiet(window - start).
struct CriTail {
  int64_t start = 0;
  int64_t window = 0;
};
// For the open log `fd` of `size` bytes. `lines` < 0: everything ({0, 0}); 0: nothing ({size, size}).
sdk::Result<CriTail> FindCriTail(int fd, int64_t size, int64_t lines);

// How often a follow looks at whether the container ended, and the longest quiet interval
// between two heartbeats (well below CAPSTAN_LOG_HEARTBEAT_MS).
inline constexpr std::chrono::milliseconds kFollowTick{250};

// Writes the log at `path` to `sink`: its last `tail_lines` lines (-1: all), then, with `follow`,
// what is appended until `ended()` is true and the file is drained, or the sink says stop. A file
// that does not exist (yet) is an empty log. `ended` is called at most every kFollowTick.
sdk::Result<void> StreamCriLog(const std::string& path, int64_t tail_lines, bool follow,
                               const std::function<bool()>& ended, sdk::LogSink& sink);

}  // namespace capstan::plugins::containerd
