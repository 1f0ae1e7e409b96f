// The haproxy.capstan.io/ annotations of Services and Ingresses (and the same keys, without the
// prefix, in the cluster-wide defaults ConfigMap): one table of every key, its parser and where it
// may appear, and the typed settings it parses into. The API validates with it at admission (an
// unknown key or a bad value is a 422 naming metadata.annotations[haproxy.capstan.io/KEY]), so the
// HAProxy renderer can take the parsed form as valid and never sees a typo.
//
// Keys (see docs/services.md): balance, timeout-connect, timeout-server, timeout-client,
// timeout-queue, check-path, check-interval, check-fall, check-rise, maxconn, cookie,
// forwarded-for on Services and Ingresses; canary, canary-weight, canary-by-header, ssl-redirect
// on Ingresses only.
//
// Thread-safety: stateless functions over an immutable table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/schema.h"

namespace capstan::api::kinds {

inline constexpr std::string_view kHaproxyAnnotationPrefix = "haproxy.capstan.io/";

// The Pod status condition of the termination order (docs/haproxy.md): False (reason Routed) once
// HAProxy routes to the Pod, True (reason Drained) once a terminating Pod's servers are drained.
// The node agent stops a Pod carrying it False only once it is True (or its wait is up).
inline constexpr char kHaproxyDrainedCondition[] = "haproxy.capstan.io/Drained";

// Where a set of settings comes from; decides which keys are allowed.
enum class HaproxySettingsScope {
  kService,   // Service annotations
  kIngress,   // Ingress annotations (adds the canary and ssl-redirect keys)
  kDefaults,  // the defaults ConfigMap's data (Service keys plus ssl-redirect)
};

// Parsed settings; an unset optional means "not given" (the renderer's default applies).
struct HaproxySettings {
  std::optional<std::string> balance;  // roundrobin|leastconn|source|first|uri|random|hdr(NAME)
  std::optional<int64_t> timeout_connect_ms;
  std::optional<int64_t> timeout_server_ms;
  std::optional<int64_t> timeout_client_ms;
  std::optional<int64_t> timeout_queue_ms;
  std::optional<std::string> check_path;  // starts with '/', no whitespace
  std::optional<int64_t> check_interval_ms;
  std::optional<int64_t> check_fall;      // 1..100
  std::optional<int64_t> check_rise;      // 1..100
  std::optional<int64_t> maxconn;         // per server, > 0
  std::optional<std::string> cookie;      // cookie name (an RFC 7230 token)
  std::optional<bool> forwarded_for;
  std::optional<bool> canary;
  std::optional<int64_t> canary_weight;   // 0..100
  std::optional<std::string> canary_by_header;  // header name (an RFC 7230 token)
  std::optional<bool> ssl_redirect;

  bool operator==(const HaproxySettings&) const = default;
};

// Parses the haproxy.capstan.io/ entries of `annotations` (an object of strings; other keys are
// ignored). Each problem is appended to *errors at "metadata.annotations[haproxy.capstan.io/KEY]":
// FieldValueNotSupported for an unknown key or one not allowed in `scope`, FieldValueInvalid for a
// bad value. Returns what parsed.
HaproxySettings ParseHaproxyAnnotations(const json& annotations, HaproxySettingsScope scope, FieldErrors* errors);

// The same keys without the prefix (the defaults ConfigMap's data), errors at "data[KEY]".
HaproxySettings ParseHaproxyDefaults(const json& data, FieldErrors* errors);

// An HAProxy time: digits with an optional unit us|ms|s|m|h|d (none means ms, as HAProxy), in
// milliseconds (us rounded up to 1 ms); std::nullopt when malformed, zero or above 24 days
// (HAProxy's timer limit).
std::optional<int64_t> ParseHaproxyDuration(std::string_view text);

// The keys allowed in `scope`, without the prefix, sorted.
std::vector<std::string> HaproxyAnnotationKeys(HaproxySettingsScope scope);

}  // namespace capstan::api::kinds
