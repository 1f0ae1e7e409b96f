#include "api/kinds/haproxy_annotations.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

// Header and cookie names: letters, digits, '-', '_' and '.'. Narrower than RFC 7230's tchar on
// purpose: these names are written unquoted into haproxy.cfg, where '#' starts a comment and
// quotes, '$' and '\\' have meanings, so a name HTTP allows could still break the config.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Each parser returns an error detail ("" when the value is valid) and stores into the settings.
using Parser = std::function<std::string(std::string_view value, HaproxySettings* out)>;

Parser Duration(std::optional<int64_t> HaproxySettings::*field) {
  return [field](std::string_view v, HaproxySettings* out) -> std::string {
    auto ms = ParseHaproxyDuration(v);
    if (!ms) return "must be a duration such as 500ms, 5s, 1m or 2h (a number with an optional unit us, ms, s, m, h, d)";
    out->*field = *ms;
    return "";
  };
}

Parser Range(std::optional<int64_t> HaproxySettings::*field, int64_t lo, int64_t hi) {
  return [=](std::string_view v, HaproxySettings* out) -> std::string {
    auto n = ParseInt(v);
    if (!n || *n < lo || *n > hi) {
      return "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi);
    }
    out->*field = *n;
    return "";
  };
}

Parser Boolean(std::optional<bool> HaproxySettings::*field) {
  return [field](std::string_view v, HaproxySettings* out) -> std::string {
    if (v != "true" && v != "false") return "must be \"true\" or \"false\"";
    out->*field = v == "true";
    return "";
  };
}

Parser Token(std::optional<std::string> HaproxySettings::*field, const char* what) {
  return [=](std::string_view v, HaproxySettings* out) -> std::string {
    if (!IsToken(v)) return std::string("must be ") + what + " (letters, digits, '-', '_' and '.')";
    out->*field = std::string(v);
    return "";
  };
}

std::string ParseBalance(std::string_view v, HaproxySettings* out) {
  static const std::vector<std::string_view> kPlain = {"roundrobin", "leastconn", "source", "first", "uri", "random"};
  bool ok = std::find(kPlain.begin(), kPlain.end(), v) != kPlain.end();
  if (!ok && v.size() > 5 && v.substr(0, 4) == "hdr(" && v.back() == ')') ok = IsToken(v.substr(4, v.size() - 5));
  if (!ok) return "must be one of roundrobin, leastconn, source, first, uri, random or hdr(HEADER-NAME)";
  out->balance = std::string(v);
  return "";
}

std::string ParseCheckPath(std::string_view v, HaproxySettings* out) {
  if (v.empty() || v[0] != '/') return "must be an absolute path (starting with '/')";
  for (char c : v) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "must not contain whitespace or control characters";
  }
  out->check_path = std::string(v);
  return "";
}

struct Entry {
  const char* key;
  bool ingress_only;
  Parser parse;
};

const std::vector<Entry>& Table() {
  static const std::vector<Entry> kTable = {
      {"balance", false, ParseBalance},
      {"timeout-connect", false, Duration(&HaproxySettings::timeout_connect_ms)},
      {"timeout-server", false, Duration(&HaproxySettings::timeout_server_ms)},
      {"timeout-client", false, Duration(&HaproxySettings::timeout_client_ms)},
      {"timeout-queue", false, Duration(&HaproxySettings::timeout_queue_ms)},
      {"check-path", false, ParseCheckPath},
      {"check-interval", false, Duration(&HaproxySettings::check_interval_ms)},
      {"check-fall", false, Range(&HaproxySettings::check_fall, 1, 100)},
      {"check-rise", false, Range(&HaproxySettings::check_rise, 1, 100)},
      {"maxconn", false, Range(&HaproxySettings::maxconn, 1, 1000000)},
      {"cookie", false, Token(&HaproxySettings::cookie, "a cookie name")},
      {"forwarded-for", false, Boolean(&HaproxySettings::forwarded_for)},
      {"canary", true, Boolean(&HaproxySettings::canary)},
      {"canary-weight", true, Range(&HaproxySettings::canary_weight, 0, 100)},
      {"canary-by-header", true, Token(&HaproxySettings::canary_by_header, "a header name")},
      {"ssl-redirect", true, Boolean(&HaproxySettings::ssl_redirect)},
  };
  return kTable;
}

bool Allowed(const Entry& e, HaproxySettingsScope scope) {
  if (!e.ingress_only) return true;
  if (scope == HaproxySettingsScope::kIngress) return true;
  return scope == HaproxySettingsScope::kDefaults && std::string_view(e.key) == "ssl-redirect";
}

HaproxySettings ParseWith(const json& map, std::string_view prefix, HaproxySettingsScope scope,
                          const std::string& path, FieldErrors* errors) {
  HaproxySettings out;
  if (!map.is_object()) return out;
  const std::vector<std::string> keys = HaproxyAnnotationKeys(scope);
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::string_view full = it.key();
    if (full.substr(0, prefix.size()) != prefix) continue;
    std::string_view key = full.substr(prefix.size());
    const std::string field = Key(path, it.key());
    const Entry* entry = nullptr;
    for (const Entry& e : Table()) {
      if (key == e.key) entry = &e;
    }
    if (entry == nullptr || !Allowed(*entry, scope)) {
      std::vector<std::string> supported;
      for (const std::string& k : keys) supported.push_back(std::string(prefix) + k);
      AddNotSupported(errors, field, it.key(), supported);
      continue;
    }
    std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    std::string problem = entry->parse(value, &out);
    if (!problem.empty()) AddInvalid(errors, field, value, problem);
  }
  return out;
}

}  // namespace

std::optional<int64_t> ParseHaproxyDuration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  auto n = ParseInt(text.substr(0, digits));
  if (!n) return std::nullopt;
  std::string_view unit = text.substr(digits);
  int64_t ms = 0;
  if (unit == "us") ms = (*n + 999) / 1000;
  else if (unit.empty() || unit == "ms") ms = *n;
  else if (unit == "s") ms = *n * 1000;
  else if (unit == "m") ms = *n * 60'000;
  else if (unit == "h") ms = *n * 3'600'000;
  else if (unit == "d") ms = *n * 86'400'000;
  else return std::nullopt;
  constexpr int64_t kMaxMs = int64_t{24} * 86'400'000;  // HAProxy refuses timers of 2^31 ms and more
  if (ms <= 0 || ms > kMaxMs) return std::nullopt;
  return ms;
}

std::vector<std::string> HaproxyAnnotationKeys(HaproxySettingsScope scope) {
  std::vector<std::string> out;
  for (const Entry& e : Table()) {
    if (Allowed(e, scope)) out.push_back(e.key);
  }
  std::sort(out.begin(), out.end());
  return out;
}

HaproxySettings ParseHaproxyAnnotations(const json& annotations, HaproxySettingsScope scope, FieldErrors* errors) {
  return ParseWith(annotations, kHaproxyAnnotationPrefix, scope, "metadata.annotations", errors);
}

HaproxySettings ParseHaproxyDefaults(const json& data, FieldErrors* errors) {
  return ParseWith(data, "", HaproxySettingsScope::kDefaults, "data", errors);
}

}  // namespace capstan::api::kinds
