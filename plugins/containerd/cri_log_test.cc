#include "plugins/containerd/cri_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace capstan::plugins::containerd {
namespace {

using Clock = std::chrono::steady_clock;

// "<time> <stream> <tag> <text>\n"
std::string Rec(const char* stream, const char* tag, const std::string& text) {
  return std::string("2026-11-24T02:14:56.261686658Z ") + stream + " " + tag + " " + text + "\n";
}

struct Chunk {
  int32_t stream;
  std::string data;
};

std::vector<Chunk> Decode(const std::vector<std::string>& pieces, bool finish = true) {
  std::vector<Chunk> out;
  CriLogDecoder d([&](int32_t s, std::string_view data) {
    out.push_back({s, std::string(data)});
    return true;
  });
  for (const std::string& p : pieces) d.Feed(p);
  if (finish) d.Finish();
  return out;
}

TEST(ContainerdCriLog, ParsesRecords) {
  auto r = ParseCriLogLine("2026-11-24T02:14:56.261686658Z stdout F hello world");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->time, "2026-11-24T02:14:56.261686658Z");
  EXPECT_EQ(r->stream, CAPSTAN_LOG_STREAM_STDOUT);
  EXPECT_FALSE(r->partial);
  EXPECT_EQ(r->content, "hello world");
  r = ParseCriLogLine("2026-11-24T02:14:56Z stderr P  two spaces");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stream, CAPSTAN_LOG_STREAM_STDERR);
  EXPECT_TRUE(r->partial);
  EXPECT_EQ(r->content, " two spaces");
  r = ParseCriLogLine("2026-11-24T02:14:56Z stdout F");
  ASSERT_TRUE(r.has_value()) << "an empty line";
  EXPECT_EQ(r->content, "");
  r = ParseCriLogLine("2026-11-24T02:14:56Z stdout F:x y");
  ASSERT_TRUE(r.has_value()) << "tags are ':'-separated";
  EXPECT_EQ(r->content, "y");
  for (const char* bad : {"", "hello", "2026 stdin F x", "2026 stdout X x", "x stdout F y", "2026 stdout"}) {
    EXPECT_FALSE(ParseCriLogLine(bad).has_value()) << bad;
  }
}

TEST(ContainerdCriLog, JoinsPartialsPerStreamAcrossChunks) {
  const std::string log = Rec("stdout", "P", "hel") + Rec("stderr", "F", "oops") + Rec("stdout", "P", "lo ") +
                          Rec("stdout", "F", "world") + Rec("stdout", "F", "");
  // Fed whole, and fed one byte at a time: the same output.
  std::vector<std::string> bytes;
  for (char c : log) bytes.emplace_back(1, c);
  for (const auto& pieces : {std::vector<std::string>{log}, bytes}) {
    const std::vector<Chunk> out = Decode(pieces);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].stream, CAPSTAN_LOG_STREAM_STDERR);
    EXPECT_EQ(out[0].data, "oops\n");
    EXPECT_EQ(out[1].stream, CAPSTAN_LOG_STREAM_STDOUT);
    EXPECT_EQ(out[1].data, "hello world\n");
    EXPECT_EQ(out[2].data, "\n");
  }
}

TEST(ContainerdCriLog, FinishFlushesPartialsAndKeepsStrangeLines) {
  std::vector<Chunk> out = Decode({Rec("stdout", "P", "no newline at exit")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "no newline at exit");
  out = Decode({Rec("stdout", "P", "cut")}, false);
  EXPECT_TRUE(out.empty()) << "a partial waits for its end";
  out = Decode({"not a cri line\n", Rec("stdout", "F", "ok"), "2026-11-24T02:14:56Z stdout F tail"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].data, "not a cri line\n");
  EXPECT_EQ(out[1].data, "ok\n");
  EXPECT_EQ(out[2].data, "tail\n") << "a last record without its newline, at the end";
}

TEST(ContainerdCriLog, WriterCanStop) {
  int calls = 0;
  CriLogDecoder d([&](int32_t, std::string_view) { return ++calls < 2; });
  EXPECT_FALSE(d.Feed(Rec("stdout", "F", "1") + Rec("stdout", "F", "2") + Rec("stdout", "F", "3")));
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(d.Feed(Rec("stdout", "F", "4")));
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(d.stopped());
}

class TempLog {
 public:
  TempLog() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "capstan-cri-log.XXXXXX").string();
    const int fd = ::mkstemp(tmpl.data());
    if (fd >= 0) ::close(fd);
    path_ = tmpl;
  }
  ~TempLog() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }
  void Append(const std::string& text) const { std::ofstream(path_, std::ios::app) << text << std::flush; }
  // Where the last `lines` lines begin; `start`, where decoding them must begin.
  int64_t Tail(int64_t lines, int64_t* start = nullptr) const {
    const int fd = ::open(path_.c_str(), O_RDONLY);
    const int64_t size = static_cast<int64_t>(std::filesystem::file_size(path_));
    sdk::Result<CriTail> r = FindCriTail(fd, size, lines);
    ::close(fd);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return -1;
    EXPECT_LE(r.value().start, r.value().window);
    if (start != nullptr) *start = r.value().start;
    return r.value().window;
  }

 private:
  std::string path_;
};

TEST(ContainerdCriLog, TailCountsFullRecords) {
  TempLog log;
  const std::string a = Rec("stdout", "F", "a"), b1 = Rec("stdout", "P", "b1"), b2 = Rec("stdout", "F", "b2"),
                    c = Rec("stderr", "F", "c");
  log.Append(a + b1 + b2 + c);
  const int64_t size = static_cast<int64_t>((a + b1 + b2 + c).size());
  EXPECT_EQ(log.Tail(-1), 0);
  EXPECT_EQ(log.Tail(0), size);
  EXPECT_EQ(log.Tail(1), static_cast<int64_t>((a + b1 + b2).size()));
  EXPECT_EQ(log.Tail(2), static_cast<int64_t>(a.size())) << "b1 and b2 are one line";
  EXPECT_EQ(log.Tail(3), 0);
  EXPECT_EQ(log.Tail(10), 0);
  // A record still being written is not a line yet.
  log.Append("2026-11-24T02:14:56Z stdout F half");
  EXPECT_EQ(log.Tail(1), static_cast<int64_t>((a + b1 + b2).size()));
}

TEST(ContainerdCriLog, TailCountsALastLineWithoutNewline) {
  TempLog log;
  // containerd writes the last output of a container without a final newline as partial records.
  const std::string a = Rec("stdout", "F", "a"), b = Rec("stdout", "F", "b"), c1 = Rec("stdout", "P", "c1"),
                    c2 = Rec("stdout", "P", "c2");
  log.Append(a + b + c1 + c2);
  EXPECT_EQ(log.Tail(1), static_cast<int64_t>((a + b).size())) << "c1c2 is the last line";
  EXPECT_EQ(log.Tail(2), static_cast<int64_t>(a.size()));
  EXPECT_EQ(log.Tail(3), 0);
}

TEST(ContainerdCriLog, TailOfALongFileReadsChunks) {
  TempLog log;
  std::string text;
  for (int i = 0; i < 5000; ++i) text += Rec("stdout", "F", "line " + std::to_string(i));
  log.Append(text);
  int64_t start = -1;
  const int64_t at = log.Tail(3, &start);
  EXPECT_EQ(start, at);
  EXPECT_EQ(text.substr(static_cast<size_t>(at)),
            Rec("stdout", "F", "line 4997") + Rec("stdout", "F", "line 4998") + Rec("stdout", "F", "line 4999"));
}

// A sink collecting stdout and stderr, stopping after `limit` data chunks.
struct Collected {
  std::string out, err;
  int heartbeats = 0;
  int limit = 1 << 30;
  int data_calls = 0;
};

int32_t Collect(void* ctx, int32_t stream, const char* data, size_t len) {
  auto* c = static_cast<Collected*>(ctx);
  if (stream == CAPSTAN_LOG_STREAM_HEARTBEAT) {
    ++c->heartbeats;
    return 0;
  }
  (stream == CAPSTAN_LOG_STREAM_STDERR ? c->err : c->out).append(data, len);
  return ++c->data_calls >= c->limit ? 1 : 0;
}

TEST(ContainerdCriLog, TailShowsALineTheOtherStreamSplitWhole) {
  TempLog log;
  // stdout writes a long line (split in partial records) while stderr writes a short one, which
  // lands in the file between the parts.
  std::string text;
  for (int i = 1; i <= 3; ++i) text += Rec("stdout", "F", "line" + std::to_string(i));
  const size_t long_begins = text.size();
  text += Rec("stdout", "P", std::string(20000, 'x')) + Rec("stdout", "P", std::string(20000, 'y'));
  const size_t oops_ends = (text += Rec("stderr", "F", "oops")).size();
  const size_t long_ends = (text += Rec("stdout", "F", "z")).size();
  text += Rec("stdout", "P", "no-newline");
  log.Append(text);
  int64_t start = -1;
  EXPECT_EQ(log.Tail(1, &start), static_cast<int64_t>(long_ends)) << "the unended last line";
  EXPECT_EQ(start, static_cast<int64_t>(long_ends));
  EXPECT_EQ(log.Tail(2, &start), static_cast<int64_t>(oops_ends)) << "the long line ends after oops";
  EXPECT_EQ(start, static_cast<int64_t>(long_begins)) << "so it is decoded from its first part";
  EXPECT_EQ(log.Tail(3, &start), static_cast<int64_t>(long_begins));
  EXPECT_EQ(start, static_cast<int64_t>(long_begins));

  Collected c;
  sdk::LogSink sink(&Collect, &c);
  ASSERT_TRUE(StreamCriLog(
                  log.path(), 2, false, [] { return true; }, sink)
                  .ok());
  EXPECT_TRUE(c.out == std::string(20000, 'x') + std::string(20000, 'y') + "z\nno-newline") << c.out.size();
  EXPECT_EQ(c.err, "") << "oops is the third line from the end";
  Collected c3;
  sdk::LogSink sink3(&Collect, &c3);
  ASSERT_TRUE(StreamCriLog(
                  log.path(), 3, false, [] { return true; }, sink3)
                  .ok());
  EXPECT_EQ(c3.err, "oops\n");
  EXPECT_EQ(c3.out.size(), 40000u + 2 + 10);
}

TEST(ContainerdCriLog, StreamsTailThenFollowsUntilEnded) {
  TempLog log;
  log.Append(Rec("stdout", "F", "one") + Rec("stderr", "F", "two") + Rec("stdout", "F", "three"));
  {
    Collected c;
    sdk::LogSink sink(&Collect, &c);
    ASSERT_TRUE(StreamCriLog(
                    log.path(), 2, false, [] { return false; }, sink)
                    .ok());
    EXPECT_EQ(c.out, "three\n");
    EXPECT_EQ(c.err, "two\n");
    EXPECT_EQ(c.heartbeats, 0);
  }
  std::atomic<bool> ended{false};
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    log.Append(Rec("stdout", "P", "fo"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log.Append(Rec("stdout", "F", "ur"));
    ended = true;
  });
  Collected c;
  sdk::LogSink sink(&Collect, &c);
  const auto begin = Clock::now();
  ASSERT_TRUE(StreamCriLog(
                  log.path(), 0, true, [&] { return ended.load(); }, sink)
                  .ok());
  writer.join();
  EXPECT_EQ(c.out, "four\n");
  EXPECT_EQ(c.err, "");
  EXPECT_GE(c.heartbeats, 1) << "quiet for 700 ms";
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(5));
}

TEST(ContainerdCriLog, FollowStopsWhenTheSinkSaysSo) {
  TempLog log;
  log.Append(Rec("stdout", "F", "1") + Rec("stdout", "F", "2"));
  Collected c;
  c.limit = 1;
  sdk::LogSink sink(&Collect, &c);
  ASSERT_TRUE(StreamCriLog(
                  log.path(), -1, true, [] { return false; }, sink)
                  .ok());
  EXPECT_EQ(c.out, "1\n");
  EXPECT_EQ(c.data_calls, 1);
}

TEST(ContainerdCriLog, AMissingFileIsAnEmptyLogUntilItAppears) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "capstan-cri-log-missing-XXXX").string() + std::to_string(::getpid());
  Collected c;
  sdk::LogSink sink(&Collect, &c);
  ASSERT_TRUE(StreamCriLog(
                  path, -1, false, [] { return true; }, sink)
                  .ok());
  EXPECT_EQ(c.out, "");
  std::atomic<bool> ended{false};
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    std::ofstream(path) << Rec("stdout", "F", "late");
    ended = true;
  });
  ASSERT_TRUE(StreamCriLog(
                  path, -1, true, [&] { return ended.load(); }, sink)
                  .ok());
  writer.join();
  EXPECT_EQ(c.out, "late\n");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace capstan::plugins::containerd
