#include "store/rocks_codec.h"

namespace capstan::store::codec {
namespace {

void PutFixed32(std::string* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetFixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) r |= static_cast<uint32_t>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  in->remove_prefix(4);
  *v = r;
  return true;
}

void PutString(std::string* dst, std::string_view s) {
  PutFixed32(dst, static_cast<uint32_t>(s.size()));
  dst->append(s);
}

bool GetString(std::string_view* in, std::string* s) {
  uint32_t n = 0;
  if (!GetFixed32(in, &n) || in->size() < n) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

void PutKeyValue(std::string* dst, const KeyValue& kv) {
  PutString(dst, kv.key);
  PutString(dst, kv.value);
  PutFixed64(dst, static_cast<uint64_t>(kv.create_revision));
  PutFixed64(dst, static_cast<uint64_t>(kv.mod_revision));
}

bool GetKeyValue(std::string_view* in, KeyValue* kv) {
  uint64_t create = 0, mod = 0;
  if (!GetString(in, &kv->key) || !GetString(in, &kv->value) || !GetFixed64(in, &create) ||
      !GetFixed64(in, &mod)) {
    return false;
  }
  kv->create_revision = static_cast<int64_t>(create);
  kv->mod_revision = static_cast<int64_t>(mod);
  return true;
}

Status Corrupt(std::string_view what) {
  return Status::Internal("store: corrupt " + std::string(what));
}

constexpr char kTypePut = 'P';
constexpr char kTypeDelete = 'D';

}  // namespace

void PutFixed64(std::string* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r |= static_cast<uint64_t>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  in->remove_prefix(8);
  *v = r;
  return true;
}

std::string EncodeRevision(int64_t revision) {
  std::string out(8, '\0');
  auto v = static_cast<uint64_t>(revision);
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

Result<int64_t> DecodeRevision(std::string_view key) {
  if (key.size() != 8) return Corrupt("log key");
  uint64_t v = 0;
  for (unsigned char c : key) v = (v << 8) | c;
  return static_cast<int64_t>(v);
}

std::string EncodeMetaRevision(int64_t revision) {
  std::string out;
  PutFixed64(&out, static_cast<uint64_t>(revision));
  return out;
}

Result<int64_t> DecodeMetaRevision(std::string_view value) {
  uint64_t v = 0;
  if (value.size() != 8 || !GetFixed64(&value, &v)) return Corrupt("meta revision");
  return static_cast<int64_t>(v);
}

std::string EncodeStoredValue(const KeyValue& kv) {
  std::string out;
  out.reserve(16 + kv.value.size());
  PutFixed64(&out, static_cast<uint64_t>(kv.create_revision));
  PutFixed64(&out, static_cast<uint64_t>(kv.mod_revision));
  out.append(kv.value);
  return out;
}

Result<KeyValue> DecodeStoredValue(std::string_view key, std::string_view value) {
  uint64_t create = 0, mod = 0;
  if (!GetFixed64(&value, &create) || !GetFixed64(&value, &mod)) return Corrupt("value of " + std::string(key));
  KeyValue kv;
  kv.key = std::string(key);
  kv.value = std::string(value);
  kv.create_revision = static_cast<int64_t>(create);
  kv.mod_revision = static_cast<int64_t>(mod);
  return kv;
}

std::string EncodeEvent(const Event& event, int64_t commit_unix_ms) {
  std::string out;
  out.reserve(64 + event.kv.key.size() + event.kv.value.size() + event.prev.value.size());
  out.push_back(event.type == EventType::kPut ? kTypePut : kTypeDelete);
  PutFixed64(&out, static_cast<uint64_t>(commit_unix_ms));
  PutKeyValue(&out, event.kv);
  out.push_back(event.has_prev ? 1 : 0);
  if (event.has_prev) PutKeyValue(&out, event.prev);
  return out;
}

Result<Event> DecodeEvent(int64_t revision, std::string_view value) {
  Event event;
  event.revision = revision;
  if (value.empty()) return Corrupt("event");
  if (value[0] == kTypePut) {
    event.type = EventType::kPut;
  } else if (value[0] == kTypeDelete) {
    event.type = EventType::kDelete;
  } else {
    return Corrupt("event type");
  }
  value.remove_prefix(1);
  uint64_t commit_ms = 0;
  if (!GetFixed64(&value, &commit_ms) || !GetKeyValue(&value, &event.kv) || value.empty()) {
    return Corrupt("event");
  }
  event.has_prev = value[0] != 0;
  value.remove_prefix(1);
  if (event.has_prev && !GetKeyValue(&value, &event.prev)) return Corrupt("event prev");
  if (!value.empty()) return Corrupt("event trailer");
  return event;
}

Result<int64_t> PeekEventCommitTime(std::string_view value) {
  uint64_t commit_ms = 0;
  if (value.size() < 1) return Corrupt("event");
  value.remove_prefix(1);
  if (!GetFixed64(&value, &commit_ms)) return Corrupt("event time");
  return static_cast<int64_t>(commit_ms);
}

}  // namespace capstan::store::codec
