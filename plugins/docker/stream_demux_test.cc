#include "plugins/docker/stream_demux.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace capstan::plugins::docker {
namespace {

std::string Frame(uint8_t stream, const std::string& payload) {
  std::string f(8, '\0');
  f[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  return f + payload;
}

struct Collected {
  std::string out, err, system;
  std::vector<std::pair<StreamKind, std::string>> pieces;
};

StreamDemux::Sink Into(Collected* c) {
  return [c](StreamKind k, std::string_view d) {
    (k == StreamKind::kStderr ? c->err : k == StreamKind::kSystem ? c->system : c->out).append(d);
    c->pieces.emplace_back(k, std::string(d));
    return true;
  };
}

TEST(DockerStreamDemux, SplitsStdoutAndStderr) {
  StreamDemux d;
  Collected c;
  const std::string input = Frame(1, "out1\n") + Frame(2, "err1\n") + Frame(1, "out2\n");
  ASSERT_TRUE(d.Feed(input, Into(&c)));
  EXPECT_EQ(c.out, "out1\nout2\n");
  EXPECT_EQ(c.err, "err1\n");
  EXPECT_TRUE(d.at_boundary());
  EXPECT_FALSE(d.malformed());
}

TEST(DockerStreamDemux, AnySplitOfTheInputDecodesTheSame) {
  const std::string input = Frame(1, "hello ") + Frame(2, "") + Frame(2, "oops\n") + Frame(1, std::string(300, 'x')) +
                            Frame(3, "engine error");
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    for (size_t step : {1u, 3u, 7u, 8u, 9u, 1000u}) {
      StreamDemux d;
      Collected c;
      ASSERT_TRUE(d.Feed(input.substr(0, cut), Into(&c)));
      for (size_t i = cut; i < input.size(); i += step) ASSERT_TRUE(d.Feed(input.substr(i, step), Into(&c)));
      EXPECT_EQ(c.out, "hello " + std::string(300, 'x')) << "cut " << cut << " step " << step;
      EXPECT_EQ(c.err, "oops\n");
      EXPECT_EQ(c.system, "engine error");
      EXPECT_TRUE(d.at_boundary());
    }
  }
}

TEST(DockerStreamDemux, DeliversALongFrameInParts) {
  StreamDemux d;
  Collected c;
  const std::string input = Frame(2, std::string(100, 'e'));
  ASSERT_TRUE(d.Feed(input.substr(0, 50), Into(&c)));
  EXPECT_EQ(c.err, std::string(42, 'e')) << "what has arrived is passed on without waiting for the frame's end";
  EXPECT_FALSE(d.at_boundary());
  ASSERT_TRUE(d.Feed(input.substr(50), Into(&c)));
  EXPECT_EQ(c.err, std::string(100, 'e'));
  EXPECT_TRUE(d.at_boundary());
}

TEST(DockerStreamDemux, HalfAHeaderIsNotABoundary) {
  StreamDemux d;
  Collected c;
  ASSERT_TRUE(d.Feed(Frame(1, "x").substr(0, 5), Into(&c)));
  EXPECT_FALSE(d.at_boundary());
  EXPECT_TRUE(c.pieces.empty());
}

TEST(DockerStreamDemux, RawTextIsMalformed) {
  StreamDemux d;
  Collected c;
  EXPECT_FALSE(d.Feed("plain text, not frames\n", Into(&c)));
  EXPECT_TRUE(d.malformed());
  EXPECT_FALSE(d.Feed(Frame(1, "later"), Into(&c))) << "nothing is decoded after a malformed header";
  EXPECT_TRUE(c.pieces.empty());
  StreamDemux padding;
  std::string bad = Frame(1, "x");
  bad[2] = 1;
  EXPECT_FALSE(padding.Feed(bad, Into(&c)));
  EXPECT_TRUE(padding.malformed());
}

TEST(DockerStreamDemux, StopsWhenTheSinkSaysSo) {
  StreamDemux d;
  int calls = 0;
  const std::string input = Frame(1, "a") + Frame(1, "b") + Frame(1, "c");
  EXPECT_FALSE(d.Feed(input, [&](StreamKind, std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace capstan::plugins::docker
