#include "api/http/direct_stream_writer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <stdexcept>

#include <gtest/gtest.h>

namespace capstan::api::http_internal {
namespace {

// A stream whose pieces the test queues; Read() hands out one piece per call.
class ScriptedStream : public ResponseStream {
 public:
  void SetNotify(std::function<void()>) override {}
  std::string Read(bool* done) override {
    if (throws) throw std::runtime_error("boom");
    *done = pieces.empty() && finished;
    if (pieces.empty()) return "";
    std::string s = std::move(pieces.front());
    pieces.pop_front();
    *done = pieces.empty() && finished;
    return s;
  }
  std::chrono::steady_clock::time_point Deadline() const override { return std::chrono::steady_clock::now(); }
  void Close() override { finished = true; }

  std::deque<std::string> pieces;
  bool finished = false;
  bool throws = false;
};

class DirectStreamWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    ASSERT_EQ(::fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
    stream_ = std::make_shared<ScriptedStream>();
  }
  void TearDown() override {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  std::shared_ptr<DirectStreamWriter> Make(bool chunked) {
    return std::make_shared<DirectStreamWriter>(fds_[0], stream_, chunked, [this] { ++wakes_; });
  }
  // Everything the peer can read now.
  std::string Received() {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fds_[1], buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(buf, size_t(n));
    }
    return out;
  }

  int fds_[2] = {-1, -1};
  std::shared_ptr<ScriptedStream> stream_;
  int wakes_ = 0;
};

TEST_F(DirectStreamWriterTest, ParkedWriterSendsEachReadAsAChunk) {
  auto w = Make(true);
  ASSERT_TRUE(w->Park());
  stream_->pieces = {"hello\n"};
  w->Flush();
  stream_->pieces = {std::string(300, 'x')};
  w->Flush();
  EXPECT_EQ(Received(), "6\r\nhello\n\r\n12c\r\n" + std::string(300, 'x') + "\r\n");
  EXPECT_EQ(wakes_, 0);  // nothing was handed back
  EXPECT_EQ(w->bytes_sent(), int64_t(11 + 5 + 300 + 2));
  bool failed = true, done = true;
  EXPECT_EQ(w->Unpark(&failed, &done), "");
  EXPECT_FALSE(failed);
  EXPECT_FALSE(done);
}

TEST_F(DirectStreamWriterTest, UnchunkedSendsRawBytes) {
  auto w = Make(false);
  ASSERT_TRUE(w->Park());
  stream_->pieces = {"raw"};
  w->Flush();
  EXPECT_EQ(Received(), "raw");
}

TEST_F(DirectStreamWriterTest, FlushWhileUnparkedLeavesTheReadToTheOwner) {
  auto w = Make(true);
  stream_->pieces = {"later"};
  w->Flush();
  EXPECT_EQ(Received(), "");
  EXPECT_EQ(stream_->pieces.size(), 1u);  // not read
  EXPECT_FALSE(w->Park());                // the owner must read first
  EXPECT_TRUE(w->Park());
}

TEST_F(DirectStreamWriterTest, MarkQueuedIsTrueOncePerFlush) {
  auto w = Make(true);
  EXPECT_TRUE(w->MarkQueued());
  EXPECT_FALSE(w->MarkQueued());
  w->Flush();
  EXPECT_TRUE(w->MarkQueued());
}

TEST_F(DirectStreamWriterTest, EndOfStreamIsHandedBackToTheOwner) {
  auto w = Make(true);
  ASSERT_TRUE(w->Park());
  stream_->pieces = {"last"};
  stream_->finished = true;
  w->Flush();
  EXPECT_EQ(Received(), "4\r\nlast\r\n");
  EXPECT_EQ(wakes_, 1);
  w->Flush();  // unparked now: reads nothing more
  EXPECT_EQ(Received(), "");
  bool failed = false, done = false;
  EXPECT_EQ(w->Unpark(&failed, &done), "");
  EXPECT_TRUE(done);
  EXPECT_FALSE(w->Park());
}

TEST_F(DirectStreamWriterTest, WhatDoesNotFitIsHandedBackInOrder) {
  int small = 4096;
  ASSERT_EQ(::setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  auto w = Make(true);
  ASSERT_TRUE(w->Park());
  std::string big(1 << 20, 'b');
  big[0] = 'A';
  big.back() = 'Z';
  stream_->pieces = {big};
  w->Flush();
  EXPECT_EQ(wakes_, 1);
  bool failed = true, done = true;
  std::string rest = w->Unpark(&failed, &done);
  EXPECT_FALSE(failed);
  EXPECT_FALSE(done);
  ASSERT_FALSE(rest.empty());
  std::string got = Received();
  EXPECT_EQ(got.size() + rest.size(), 8 + big.size() + 2);  // size line "100000\r\n", data, CRLF
  std::string all = got + rest;
  EXPECT_EQ(all.substr(0, 8), "100000\r\n");
  EXPECT_EQ(all.substr(8, big.size()), big);
  EXPECT_EQ(all.substr(all.size() - 2), "\r\n");
}

TEST_F(DirectStreamWriterTest, FailedSendIsReported) {
  ::close(fds_[1]);
  fds_[1] = -1;
  auto w = Make(true);
  ASSERT_TRUE(w->Park());
  stream_->pieces = {"to nobody"};
  w->Flush();
  EXPECT_EQ(wakes_, 1);
  bool failed = false, done = false;
  w->Unpark(&failed, &done);
  EXPECT_TRUE(failed);
}

TEST_F(DirectStreamWriterTest, ThrowingStreamIsAFailureNotACrash) {
  auto w = Make(true);
  ASSERT_TRUE(w->Park());
  stream_->throws = true;
  w->Flush();
  EXPECT_EQ(wakes_, 1);
  bool failed = false, done = false;
  w->Unpark(&failed, &done);
  EXPECT_TRUE(failed);
}

TEST_F(DirectStreamWriterTest, KilledWriterNeitherSendsNorWakes) {
  auto w = Make(true);
  ASSERT_TRUE(w->Park());
  w->Kill();
  stream_->pieces = {"after kill"};
  stream_->finished = true;
  w->Flush();
  EXPECT_EQ(Received(), "");
  EXPECT_EQ(wakes_, 0);
  EXPECT_FALSE(w->Park());
  w->Kill();  // idempotent
}

TEST(StreamReadyListTest, FirstPushAfterATakeSchedulesTheDrain) {
  StreamReadyList list;
  auto stream = std::make_shared<ScriptedStream>();
  auto a = std::make_shared<DirectStreamWriter>(-1, stream, true, nullptr);
  auto b = std::make_shared<DirectStreamWriter>(-1, stream, true, nullptr);
  EXPECT_TRUE(list.Push(a));
  EXPECT_FALSE(list.Push(b));
  auto taken = list.TakeAll();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0], a);
  EXPECT_TRUE(list.Push(b));
  EXPECT_EQ(list.TakeAll().size(), 1u);
  EXPECT_TRUE(list.TakeAll().empty());
}

}  // namespace
}  // namespace capstan::api::http_internal
