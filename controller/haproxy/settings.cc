#include "controller/haproxy/settings.h"

#include <cctype>
#include <set>

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

Result<int> ParseInt(const std::string& text, int min, int max) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Invalid("not a whole number");
  }
  const int v = std::stoi(text);
  if (v < min || v > max) return Status::Invalid("must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

Result<bool> ParseBool(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return Status::Invalid("must be \"true\" or \"false\"");
}

// The HTTP check path goes into the config as one quoted word: printable ASCII, no quotes.
bool ValidPath(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.size() > 1024) return false;
  for (unsigned char c : p) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '$') return false;
  }
  return true;
}

bool ValidToken(const std::string& t) {
  if (t.empty() || t.size() > 64) return false;
  for (unsigned char c : t) {
    if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
  }
  return true;
}

}  // namespace

Result<int64_t> ParseHaproxyDuration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return Status::Invalid("not a duration (e.g. 500ms, 5s, 1m)");
  const int64_t n = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  int64_t ms;
  if (unit.empty() || unit == "ms") ms = n;
  else if (unit == "us") ms = n / 1000;
  else if (unit == "s") ms = n * 1000;
  else if (unit == "m") ms = n * 60 * 1000;
  else if (unit == "h") ms = n * 3600 * 1000;
  else if (unit == "d") ms = n * 86400 * 1000;
  else return Status::Invalid("unknown unit \"" + unit + "\" (us, ms, s, m, h, d)");
  if (ms <= 0) return Status::Invalid("must be positive");
  if (ms > 24LL * 86400 * 1000) return Status::Invalid("must be at most 24d");
  return ms;
}

Status ApplyBackendSettings(const std::map<std::string, std::string>& values, const std::string& field_prefix,
                            const std::string& field_suffix, BackendSettings* s) {
  static const std::set<std::string> kBalance = {"roundrobin", "leastconn", "source", "first", "random"};
  for (const auto& [key, value] : values) {
    const std::string field = field_prefix + key + field_suffix;
    auto bad = [&](const std::string& why) {
      return Status::Invalid(field + ": invalid value \"" + value + "\": " + why);
    };
    if (key == "balance") {
      if (!kBalance.count(value)) return bad("supported values: first, leastconn, random, roundrobin, source");
      s->balance = value;
    } else if (key == "timeout-connect" || key == "timeout-server" || key == "timeout-client" ||
               key == "timeout-queue") {
      auto d = ParseHaproxyDuration(value);
      if (!d.ok()) return bad(d.status().message());
      if (key == "timeout-connect") s->timeout_connect_ms = *d;
      if (key == "timeout-server") s->timeout_server_ms = *d;
      if (key == "timeout-client") s->timeout_client_ms = *d;
      if (key == "timeout-queue") s->timeout_queue_ms = *d;
    } else if (key == "health-check-path") {
      if (!ValidPath(value)) return bad("must be an absolute path of printable characters without quotes");
      s->check.http = true;
      s->check.path = value;
    } else if (key == "health-check-interval") {
      auto d = ParseHaproxyDuration(value);
      if (!d.ok()) return bad(d.status().message());
      s->check.interval_ms = static_cast<int>(std::min<int64_t>(*d, 3600 * 1000));
    } else if (key == "health-check-fall" || key == "health-check-rise") {
      auto n = ParseInt(value, 1, 100);
      if (!n.ok()) return bad(n.status().message());
      (key == "health-check-fall" ? s->check.fall : s->check.rise) = *n;
    } else if (key == "maxconn") {
      auto n = ParseInt(value, 0, 1000000);
      if (!n.ok()) return bad(n.status().message());
      s->maxconn_per_server = *n;
    } else if (key == "cookie") {
      if (!value.empty() && !ValidToken(value)) return bad("must be a cookie name of letters, digits, '-' and '_'");
      s->cookie = value;
    } else if (key == "forwarded-for") {
      auto b = ParseBool(value);
      if (!b.ok()) return bad(b.status().message());
      s->forwarded_for = *b;
    }
  }
  return Status::Ok();
}

std::map<std::string, std::string> HaproxyAnnotations(const json& object) {
  std::map<std::string, std::string> out;
  const json* meta = object.contains("metadata") ? &object["metadata"] : nullptr;
  if (meta == nullptr || !meta->contains("annotations") || !(*meta)["annotations"].is_object()) return out;
  const std::string prefix = kAnnotationPrefix;
  for (const auto& [k, v] : (*meta)["annotations"].items()) {
    if (k.rfind(prefix, 0) == 0 && v.is_string()) out[k.substr(prefix.size())] = v.get<std::string>();
  }
  return out;
}

Defaults ParseDefaults(const json* config_map, std::vector<std::string>* problems) {
  Defaults d;
  if (config_map == nullptr || !config_map->contains("data") || !(*config_map)["data"].is_object()) return d;
  std::map<std::string, std::string> data;
  for (const auto& [k, v] : (*config_map)["data"].items()) {
    if (v.is_string()) data[k] = v.get<std::string>();
  }
  // Backend keys one at a time, so one bad key does not drop the others.
  for (const auto& kv : data) {
    BackendSettings trial = d.backend;
    Status st = ApplyBackendSettings({kv}, "data[", "]", &trial);
    if (st.ok()) d.backend = trial;
    else problems->push_back(st.message());
  }
  GlobalSettings& g = d.global;
  for (const auto& [key, value] : data) {
    const std::string field = "data[" + key + "]";
    auto bad = [&](const std::string& why) { problems->push_back(field + ": invalid value \"" + value + "\": " + why); };
    if (key == "hard-stop-after" || key == "timeout-http-request" || key == "timeout-http-keep-alive" ||
        key == "timeout-client" || key == "timeout-connect" || key == "timeout-server") {
      auto ms = ParseHaproxyDuration(value);
      if (!ms.ok()) {
        if (key == "hard-stop-after" || key.rfind("timeout-http", 0) == 0) bad(ms.status().message());
        continue;  // the backend pass reported the others
      }
      if (key == "hard-stop-after") g.hard_stop_after_ms = *ms;
      if (key == "timeout-http-request") g.timeout_http_request_ms = *ms;
      if (key == "timeout-http-keep-alive") g.timeout_http_keep_alive_ms = *ms;
      if (key == "timeout-client") g.timeout_client_ms = *ms;
      if (key == "timeout-connect") g.timeout_connect_ms = *ms;
      if (key == "timeout-server") g.timeout_server_ms = *ms;
    } else if (key == "global-maxconn") {
      auto n = ParseInt(value, 0, 10000000);
      if (!n.ok()) bad(n.status().message());
      else g.maxconn = *n;
    } else if (key == "retries") {
      auto n = ParseInt(value, 0, 100);
      if (!n.ok()) bad(n.status().message());
      else g.retries = *n;
    } else if (key == "global-snippet") {
      g.global_snippet = value;
    } else if (key == "defaults-snippet") {
      g.defaults_snippet = value;
    }
  }
  // Timeouts of the defaults section are the global ones; keep the backend copies from
  // repeating them in every backend.
  d.backend.timeout_connect_ms.reset();
  d.backend.timeout_server_ms.reset();
  d.backend.timeout_client_ms.reset();
  return d;
}

}  // namespace capstan::controller::haproxy
