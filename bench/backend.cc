#include "bench/backend.h"

namespace capstan::bench {

std::string Backend::CommonHeaders() const {
  std::string h = "Host: " + host_ + ":" + std::to_string(port_) + "\r\n";
  if (!token_.empty()) h += "Authorization: Bearer " + token_ + "\r\n";
  return h;
}

std::string ObjectJson(const std::string& group, const std::string& name, size_t bytes, uint64_t seed) {
  std::string head = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
                     R"(","namespace":")" + group + R"("},"data":{"payload":")";
  const std::string tail = "\"}}";
  size_t payload = bytes > head.size() + tail.size() ? bytes - head.size() - tail.size() : 0;
  // xorshift64*: cheap, deterministic, and incompressible enough for a storage engine.
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  head.reserve(head.size() + payload + tail.size());
  for (size_t i = 0; i < payload; ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    head += char('a' + (x * 0x2545F4914F6CDD1Dull >> 59) % 26);
  }
  return head + tail;
}

std::string ErrorText(httplib::Error e) {
  std::string s = httplib::to_string(e);
  if (e == httplib::Error::Connection) s += " (connect failed: is the server still running?)";
  if (e == httplib::Error::Read) s += " (no complete response within the read timeout, or the server closed)";
  return s;
}

long LeadingNumber(std::string_view s) {
  long v = -1;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    v = (v < 0 ? 0 : v * 10) + (c - '0');
  }
  return v;
}

}  // namespace capstan::bench
