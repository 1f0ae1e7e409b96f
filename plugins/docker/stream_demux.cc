#include "plugins/docker/stream_demux.h"

#include <algorithm>

namespace capstan::plugins::docker {

bool StreamDemux::Feed(std::string_view data, const Sink& sink) {
  if (malformed_) return false;
  while (!data.empty()) {
    if (remaining_ == 0) {
      const size_t take = std::min(header_.size() - header_len_, data.size());
      std::copy_n(data.data(), take, header_.data() + header_len_);
      header_len_ += take;
      data.remove_prefix(take);
      if (header_len_ < header_.size()) return true;
      header_len_ = 0;
      if (header_[0] > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        malformed_ = true;
        return false;
      }
      stream_ = static_cast<StreamKind>(header_[0]);
      remaining_ = (uint32_t{header_[4]} << 24) | (uint32_t{header_[5]} << 16) | (uint32_t{header_[6]} << 8) |
                   uint32_t{header_[7]};
      continue;  // an empty frame is legal: on to the next header
    }
    const size_t take = std::min<size_t>(remaining_, data.size());
    remaining_ -= static_cast<uint32_t>(take);
    const std::string_view piece = data.substr(0, take);
    data.remove_prefix(take);
    if (!sink(stream_, piece)) return false;
  }
  return true;
}

}  // namespace capstan::plugins::docker
