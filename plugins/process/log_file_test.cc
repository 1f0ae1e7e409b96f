#include "plugins/process/log_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "plugins/process/test_dir.h"
#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {
namespace {

// The text from TailOffset(lines) to the end of a file holding `content`.
std::string Tail(const std::string& content, int64_t lines) {
  TestDir dir;
  const std::string path = dir / "log";
  std::ofstream(path, std::ios::binary) << content;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  sdk::Result<int64_t> off = TailOffset(fd.get(), static_cast<int64_t>(content.size()), lines);
  EXPECT_TRUE(off.ok());
  return off.ok() ? content.substr(static_cast<size_t>(off.value())) : "<error>";
}

TEST(ProcessLogTail, LastLines) {
  EXPECT_EQ(Tail("a\nb\nc\n", 2), "b\nc\n");
  EXPECT_EQ(Tail("a\nb\nc", 2), "b\nc") << "a last line without a newline counts";
  EXPECT_EQ(Tail("a\nb\nc\n", 3), "a\nb\nc\n");
  EXPECT_EQ(Tail("a\nb\nc\n", 10), "a\nb\nc\n");
  EXPECT_EQ(Tail("a\nb\nc\n", 0), "");
  EXPECT_EQ(Tail("a\nb\nc\n", -1), "a\nb\nc\n") << "-1: everything";
  EXPECT_EQ(Tail("", 5), "");
  EXPECT_EQ(Tail("\n\n\n", 2), "\n\n") << "empty lines are lines";
  EXPECT_EQ(Tail("only", 1), "only");
}

TEST(ProcessLogTail, AcrossReadChunks) {
  // Lines around the 64 KiB chunk boundary.
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "line " + std::to_string(i) + "\n";
  ASSERT_GT(content.size(), 3u * 65536);
  EXPECT_EQ(Tail(content, 2), "line 19998\nline 19999\n");
  const std::string last9000 = Tail(content, 9000);
  EXPECT_EQ(last9000.substr(0, 11), "line 11000\n");
  EXPECT_EQ(Tail(content, 20000), content);
}

struct Collected {
  std::string data;
  int heartbeats = 0;
  int32_t stop_after_bytes = -1;
};

int32_t Collect(void* ctx, int32_t stream, const char* data, size_t len) {
  auto* c = static_cast<Collected*>(ctx);
  if (stream == CAPSTAN_LOG_STREAM_HEARTBEAT) {
    ++c->heartbeats;
  } else {
    c->data.append(data, len);
  }
  return c->stop_after_bytes >= 0 && c->data.size() >= static_cast<size_t>(c->stop_after_bytes) ? 1 : 0;
}

TEST(ProcessLogStream, FollowUntilExitedThenDrain) {
  TestDir dir;
  const std::string path = dir / "c.log";
  std::ofstream(path) << "one\ntwo\n";
  UniqueFd exited(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  Collected got;
  sdk::LogSink sink(&Collect, &got);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(kHeartbeatMs + 200));  // idle: heartbeats
    {
      std::ofstream out(path, std::ios::app);
      out << "three\n";
    }
    // Written before the exit is signalled: the follower must still deliver it.
    std::ofstream(path, std::ios::app) << "four\n";
    const uint64_t one = 1;
    EXPECT_EQ(::write(exited.get(), &one, sizeof one), 8);
  });
  sdk::Result<void> r = StreamLog(path, 1, /*follow=*/true, exited.get(), sink);
  writer.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(got.data, "two\nthree\nfour\n");
  EXPECT_GE(got.heartbeats, 1) << "an idle follow sends heartbeats";
}

TEST(ProcessLogStream, SinkStopEndsTheFollow) {
  TestDir dir;
  const std::string path = dir / "c.log";
  std::ofstream(path) << "one\ntwo\n";
  UniqueFd exited(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));  // never signalled
  Collected got;
  got.stop_after_bytes = 1;
  sdk::LogSink sink(&Collect, &got);
  ASSERT_TRUE(StreamLog(path, -1, true, exited.get(), sink).ok());
  EXPECT_EQ(got.data, "one\ntwo\n");
  EXPECT_TRUE(sink.stopped());
}

TEST(ProcessLogStream, WithoutFollowReturnsAtTheEnd) {
  TestDir dir;
  Collected got;
  sdk::LogSink sink(&Collect, &got);
  EXPECT_TRUE(StreamLog(dir / "missing.log", -1, false, -1, sink).ok()) << "no file: an empty log";
  std::ofstream(dir / "c.log") << "x\ny\n";
  UniqueFd exited(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(StreamLog(dir / "c.log", -1, false, exited.get(), sink).ok());
  EXPECT_EQ(got.data, "x\ny\n");
  EXPECT_EQ(got.heartbeats, 0);
}

}  // namespace
}  // namespace capstan::plugins::process
