// StreamDemux: splits the Engine API's multiplexed stream (logs and exec of a container without a
// TTY) into stdout and stderr.
//
// The stream is a sequence of frames, each an 8-byte header then the payload:
//   byte 0: the stream (0 stdin, 1 stdout, 2 stderr; 3 "system" is an error message of the engine)
//   bytes 1-3: zero
//   bytes 4-7: the payload's length, big-endian
// Input arrives in arbitrary pieces (a header may be split across reads); Feed keeps what it has
// not decoded yet and hands each decoded piece of payload to the sink as soon as it has it, so a
// long frame is delivered in parts rather than buffered.
//
// Thread-safety: a value used by one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace capstan::plugins::docker {

enum class StreamKind : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kSystem = 3 };

class StreamDemux {
 public:
  // Receives payload bytes of one stream; returns false to stop (Feed then returns at once).
  using Sink = std::function<bool(StreamKind stream, std::string_view data)>;

  // Decodes `data`, calling `sink` for each payload piece. Returns false when the sink said stop
  // or the input is not a multiplexed stream (a header with a stream byte above 3 or non-zero
  // padding; malformed() then says so, and the rest of the input is ignored).
  bool Feed(std::string_view data, const Sink& sink);

  bool malformed() const { return malformed_; }
  // Whether the input so far ended on a frame boundary (nothing half-read).
  bool at_boundary() const { return header_len_ == 0 && remaining_ == 0; }

 private:
  std::array<uint8_t, 8> header_{};
  size_t header_len_ = 0;  // bytes of the next header read so far
  StreamKind stream_ = StreamKind::kStdout;
  uint32_t remaining_ = 0;  // payload bytes of the current frame still to come
  bool malformed_ = false;
};

}  // namespace capstan::plugins::docker
