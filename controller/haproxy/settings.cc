#include "controller/haproxy/settings.h"

#include <sched.h>

#include <algorithm>
#include <set>

namespace capstan::controller::haproxy {
namespace {

using api::kinds::HaproxySettings;
using nlohmann::json;

const std::set<std::string>& GlobalKeys() {
  static const std::set<std::string> keys = {"hard-stop-after", "global-maxconn", "retries", "threads",
                                             "timeout-http-request", "timeout-http-keep-alive",
                                             "global-snippet", "defaults-snippet"};
  return keys;
}

Result<int> ParseCount(const std::string& text, int max) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Invalid("not a whole number");
  }
  const int v = std::stoi(text);
  if (v > max) return Status::Invalid("must be at most " + std::to_string(max));
  return v;
}

std::string Describe(const api::FieldErrors& errors) {
  std::string out;
  for (const api::FieldError& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.field + ": " + e.message;
  }
  return out;
}

}  // namespace

void ApplyBackendSettings(const HaproxySettings& p, BackendSettings* s) {
  if (p.balance) s->balance = *p.balance;
  if (p.timeout_connect_ms) s->timeout_connect_ms = *p.timeout_connect_ms;
  if (p.timeout_server_ms) s->timeout_server_ms = *p.timeout_server_ms;
  if (p.timeout_client_ms) s->timeout_client_ms = *p.timeout_client_ms;
  if (p.timeout_queue_ms) s->timeout_queue_ms = *p.timeout_queue_ms;
  if (p.check_path) {
    s->check.http = true;
    s->check.path = *p.check_path;
  }
  if (p.check_interval_ms) s->check.interval_ms = static_cast<int>(std::min<int64_t>(*p.check_interval_ms, 3600000));
  if (p.check_fall) s->check.fall = static_cast<int>(*p.check_fall);
  if (p.check_rise) s->check.rise = static_cast<int>(*p.check_rise);
  if (p.maxconn) s->maxconn_per_server = static_cast<int>(*p.maxconn);
  if (p.cookie) s->cookie = *p.cookie;
  if (p.forwarded_for) s->forwarded_for = *p.forwarded_for;
}

Result<HaproxySettings> ParseObjectSettings(const json& object, api::kinds::HaproxySettingsScope scope) {
  const json* annotations = nullptr;
  if (object.contains("metadata") && object["metadata"].contains("annotations")) {
    annotations = &object["metadata"]["annotations"];
  }
  if (annotations == nullptr || !annotations->is_object()) return HaproxySettings{};
  api::FieldErrors errors;
  HaproxySettings parsed = api::kinds::ParseHaproxyAnnotations(*annotations, scope, &errors);
  if (!errors.empty()) return Status::Invalid(Describe(errors));
  return parsed;
}

Defaults ParseDefaults(const json* config_map, std::vector<std::string>* problems) {
  Defaults d;
  if (config_map == nullptr || !config_map->contains("data") || !(*config_map)["data"].is_object()) return d;
  json backend_keys = json::object();
  std::map<std::string, std::string> global;
  for (const auto& [k, v] : (*config_map)["data"].items()) {
    if (!v.is_string()) continue;
    if (GlobalKeys().count(k)) global[k] = v.get<std::string>();
    else backend_keys[k] = v;
  }
  // The backend keys one at a time, so one bad key does not drop the others.
  for (const auto& [k, v] : backend_keys.items()) {
    api::FieldErrors errors;
    const HaproxySettings parsed = api::kinds::ParseHaproxyDefaults(json{{k, v}}, &errors);
    if (!errors.empty()) {
      problems->push_back(Describe(errors));
      continue;
    }
    ApplyBackendSettings(parsed, &d.backend);
    if (parsed.ssl_redirect) d.ssl_redirect = *parsed.ssl_redirect;
  }
  // timeout-connect/client/server of the defaults section are the global ones: the backends
  // inherit them from there instead of repeating them.
  GlobalSettings& g = d.global;
  if (d.backend.timeout_connect_ms) g.timeout_connect_ms = *d.backend.timeout_connect_ms;
  if (d.backend.timeout_client_ms) g.timeout_client_ms = *d.backend.timeout_client_ms;
  if (d.backend.timeout_server_ms) g.timeout_server_ms = *d.backend.timeout_server_ms;
  d.backend.timeout_connect_ms.reset();
  d.backend.timeout_client_ms.reset();
  d.backend.timeout_server_ms.reset();
  for (const auto& [key, value] : global) {
    const std::string field = "data[" + key + "]";
    auto bad = [&](const std::string& why) { problems->push_back(field + ": invalid value \"" + value + "\": " + why); };
    if (key == "hard-stop-after" || key == "timeout-http-request" || key == "timeout-http-keep-alive") {
      const auto ms = api::kinds::ParseHaproxyDuration(value);
      if (!ms) {
        bad("not a duration (e.g. 500ms, 5s, 1m; at most 24d)");
        continue;
      }
      if (key == "hard-stop-after") g.hard_stop_after_ms = *ms;
      if (key == "timeout-http-request") g.timeout_http_request_ms = *ms;
      if (key == "timeout-http-keep-alive") g.timeout_http_keep_alive_ms = *ms;
    } else if (key == "global-maxconn" || key == "retries") {
      auto n = ParseCount(value, key == "retries" ? 100 : 10000000);
      if (!n.ok()) {
        bad(n.status().message());
        continue;
      }
      (key == "retries" ? g.retries : g.maxconn) = *n;
    } else if (key == "threads") {
      auto n = ParseCount(value, kMaxHaproxyThreads);
      if (n.ok() && *n == 0) n = Status::Invalid("must be at least 1");
      if (!n.ok()) {
        bad(n.status().message());
        continue;
      }
      g.threads = *n;
    } else if (key == "global-snippet") {
      g.global_snippet = value;
    } else if (key == "defaults-snippet") {
      g.defaults_snippet = value;
    }
  }
  return d;
}

int DefaultHaproxyThreads(int cpus) { return std::clamp(cpus / 2, 1, kMaxHaproxyThreads); }

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace capstan::controller::haproxy
