// rocks_codec: the byte layout of RocksStore's column families. Private to store/.
//
//   "kv"   user key            -> fixed64 create_rev | fixed64 mod_rev | value bytes
//   "log"  big-endian revision -> u8 type | fixed64 commit_unix_ms | kv | u8 has_prev | [prev]
//                                 where kv/prev = str key | str value | fixed64 create | fixed64 mod
//                                 and str = fixed32 length | bytes
//   "meta" "current_revision" / "compacted_revision" -> fixed64
//
// Fixed-width fields are little-endian, except log keys, which are big-endian so that RocksDB's
// bytewise order is revision order. The commit time sits at a fixed offset so the age-based
// compactor can read it without decoding the event.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/store.h"

namespace capstan::store::codec {

inline constexpr std::string_view kCurrentRevisionKey = "current_revision";
inline constexpr std::string_view kCompactedRevisionKey = "compacted_revision";

void PutFixed64(std::string* dst, uint64_t v);
// False when `in` is shorter than 8 bytes; consumes the 8 bytes on success.
bool GetFixed64(std::string_view* in, uint64_t* v);

std::string EncodeRevision(int64_t revision);  // big-endian, 8 bytes
Result<int64_t> DecodeRevision(std::string_view key);

// A meta value (a revision).
std::string EncodeMetaRevision(int64_t revision);
Result<int64_t> DecodeMetaRevision(std::string_view value);

// A "kv" value; `key` is not stored in it (it is the RocksDB key).
std::string EncodeStoredValue(const KeyValue& kv);
Result<KeyValue> DecodeStoredValue(std::string_view key, std::string_view value);

// A "log" value. `commit_unix_ms` is the commit time used for age-based compaction.
std::string EncodeEvent(const Event& event, int64_t commit_unix_ms);
// Decodes an event whose revision is `revision` (from the log key).
Result<Event> DecodeEvent(int64_t revision, std::string_view value);
// Reads only the commit time of an encoded event.
Result<int64_t> PeekEventCommitTime(std::string_view value);

}  // namespace capstan::store::codec
