#include "api/protobuf/wire.h"

#include <cstring>
#include <string>

namespace capstan::api::protobuf {

const char* WireTypeName(WireType type) {
  switch (type) {
    case WireType::kVarint: return "varint";
    case WireType::kFixed64: return "fixed64";
    case WireType::kLengthDelimited: return "length-delimited";
    case WireType::kFixed32: return "fixed32";
  }
  return "unknown";
}

Status WireReader::NextVarint(uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos_ >= data_.size()) return Status::BadRequest("protobuf: truncated varint at byte " + std::to_string(pos_));
    const auto b = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 63 && b > 1) {
      return Status::BadRequest("protobuf: varint overflows 64 bits at byte " + std::to_string(pos_));
    }
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return Status::Ok();
    }
  }
  return Status::BadRequest("protobuf: varint longer than 10 bytes at byte " + std::to_string(pos_));
}

Status WireReader::Next(WireField* out) {
  const size_t start = pos_;
  uint64_t key = 0;
  CAPSTAN_RETURN_IF_ERROR(NextVarint(&key));
  out->number = key >> 3;
  if (out->number == 0 || out->number > 0x1fffffff) {
    return Status::BadRequest("protobuf: invalid field number " + std::to_string(out->number) + " at byte " +
                              std::to_string(start));
  }
  out->value = 0;
  out->bytes = {};
  switch (key & 7) {
    case 0:
      out->type = WireType::kVarint;
      return NextVarint(&out->value);
    case 1:
    case 5: {
      const size_t n = (key & 7) == 1 ? 8 : 4;
      out->type = n == 8 ? WireType::kFixed64 : WireType::kFixed32;
      if (data_.size() - pos_ < n) {
        return Status::BadRequest("protobuf: truncated fixed-width field at byte " + std::to_string(start));
      }
      for (size_t i = 0; i < n; ++i) {
        out->value |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
      }
      pos_ += n;
      return Status::Ok();
    }
    case 2: {
      out->type = WireType::kLengthDelimited;
      uint64_t len = 0;
      CAPSTAN_RETURN_IF_ERROR(NextVarint(&len));
      if (len > data_.size() - pos_) {
        return Status::BadRequest("protobuf: length " + std::to_string(len) + " of field " +
                                  std::to_string(out->number) + " runs past the end of the message");
      }
      out->bytes = data_.substr(pos_, static_cast<size_t>(len));
      pos_ += static_cast<size_t>(len);
      return Status::Ok();
    }
    default:
      return Status::BadRequest("protobuf: unsupported wire type " + std::to_string(key & 7) + " of field " +
                                std::to_string(out->number));
  }
}

}  // namespace capstan::api::protobuf
