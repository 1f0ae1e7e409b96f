#include "api/object_meta.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace capstan::api {

std::string StoreKey(const KindInfo& kind, const std::string& ns, const std::string& name) {
  std::string key = "/registry/" + kind.resource_name() + "/";
  if (kind.namespaced) key += ns + "/";
  return key + name;
}

std::string StorePrefix(const KindInfo& kind, const std::string& ns) {
  std::string key = "/registry/" + kind.resource_name() + "/";
  if (kind.namespaced && !ns.empty()) key += ns + "/";
  return key;
}

Result<json> DecodeStored(const std::string& value, int64_t revision) {
  json obj = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded() || !obj.is_object()) return Status::Internal("stored object is not valid JSON");
  obj["metadata"]["resourceVersion"] = std::to_string(revision);
  return obj;
}

std::string EncodeForStore(const json& obj) {
  if (obj.contains("metadata") && obj["metadata"].contains("resourceVersion")) {
    json copy = obj;
    copy["metadata"].erase("resourceVersion");
    return copy.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// The offset just after `"metadata":{` where "metadata" is a key of the top-level object; npos
// when there is none. A linear scan that tracks nesting depth and string escapes.
size_t TopLevelMetadataBody(const std::string& text) {
  static const std::string kKey = "\"metadata\":{";
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      if (depth == 1 && text.compare(i, kKey.size(), kKey) == 0) return i + kKey.size();
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return std::string::npos;
}

}  // namespace

std::string EncodedWithResourceVersion(const std::string& stored, int64_t revision) {
  const size_t insert = TopLevelMetadataBody(stored);
  if (insert == std::string::npos || insert >= stored.size()) return "";
  std::string out;
  out.reserve(stored.size() + 40);
  out.append(stored, 0, insert);
  out += "\"resourceVersion\":\"";
  out += std::to_string(revision);
  out += '"';
  if (stored[insert] != '}') out += ',';
  out.append(stored, insert, std::string::npos);
  return out;
}

std::string NowRfc3339(std::chrono::seconds offset) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + offset);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return rng;
}
}  // namespace

std::string NewUid() {
  uint64_t a = Rng()(), b = Rng()();
  // RFC 4122 version 4, variant 10.
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string RandomNameSuffix() {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (int i = 0; i < 5; ++i) out += kAlphabet[Rng()() % (sizeof(kAlphabet) - 1)];
  return out;
}

std::string MetaString(const json& obj, const char* field) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto f = m->find(field);
  if (f == m->end() || !f->is_string()) return "";
  return f->get<std::string>();
}

int64_t ParseResourceVersion(const std::string& rv) {
  if (rv.empty()) return 0;
  int64_t out = 0;
  for (char c : rv) {
    if (c < '0' || c > '9' || out > (INT64_MAX - 9) / 10) return -1;
    out = out * 10 + (c - '0');
  }
  return out;
}

}  // namespace capstan::api
