// A minimal reader of the protobuf wire format (varints, fixed64/32, length-delimited fields), as
// much as Kubernetes' generated messages use. Input is untrusted: every read is bounds-checked and
// malformed input is a kBadRequest Status, never a crash.
//
// Thread-safety: a reader is used by one thread; it borrows `data`, which must outlive it.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace capstan::api::protobuf {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

const char* WireTypeName(WireType type);

struct WireField {
  uint64_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t value = 0;      // kVarint, kFixed64, kFixed32
  std::string_view bytes;  // kLengthDelimited: borrowed from the reader's input
};

class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }
  // Reads the next field. Groups (wire types 3, 4), field number 0, varints over 10 bytes and
  // lengths past the end are errors.
  Status Next(WireField* out);
  // Reads one bare varint (the elements of a packed repeated field).
  Status NextVarint(uint64_t* out);

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace capstan::api::protobuf
