#include "api/http/http_types.h"

#include <nlohmann/json.hpp>

#include "api/http/http_internal.h"

namespace capstan::api {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> Headers::Get(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::Query(const std::string& name) const {
  // lower_bound, not find: find may return any of several equal keys, and the first one sent wins.
  auto it = query.lower_bound(name);
  if (it == query.end() || it->first != name) return std::nullopt;
  return it->second;
}

bool PercentDecode(std::string_view in, std::string* out, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;  // a truncated escape
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      decoded.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      decoded.push_back(' ');
    } else {
      decoded.push_back(c);
    }
  }
  *out = std::move(decoded);
  return true;
}

bool ParseQuery(std::string_view query, std::multimap<std::string, std::string>* out) {
  std::multimap<std::string, std::string> parsed;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2" and a trailing '&' are harmless
    size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), &key, true)) return false;
    if (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), &value, true)) return false;
    parsed.emplace(std::move(key), std::move(value));
  }
  // Merge only on success so a malformed query leaves *out untouched.
  for (auto& kv : parsed) out->insert(std::move(kv));
  return true;
}

namespace http_internal {

bool ParseTarget(std::string_view target, HttpRequest* req) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) {
      size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  if (target.empty() || target.front() != '/') return false;
  size_t q = target.find('?');
  if (!PercentDecode(target.substr(0, q), &req->path, false)) return false;
  return q == std::string_view::npos || ParseQuery(target.substr(q + 1), &req->query);
}

std::string DefaultErrorBody(int status, const std::string& message) {
  const char* reason = "InternalError";
  switch (status) {
    case 400: reason = "BadRequest"; break;
    case 413: reason = "RequestEntityTooLarge"; break;
    case 431: reason = "RequestHeaderFieldsTooLarge"; break;
    case 503: reason = "ServiceUnavailable"; break;
    default: break;
  }
  nlohmann::json body = {{"kind", "Status"},     {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
                         {"status", "Failure"},  {"message", message}, {"reason", reason},
                         {"code", status}};
  // replace: a message quoting the client's invalid UTF-8 must not make dump() throw.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace http_internal
}  // namespace capstan::api
