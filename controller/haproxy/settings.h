// HAProxy settings of Services and Ingresses: the `haproxy.capstan.io/` annotations, the
// cluster-wide defaults ConfigMap, and the built-in defaults, merged in that order of precedence
// (annotation over ConfigMap over built-in).
//
// The defaults ConfigMap is kube-system/capstan-haproxy-defaults. Its keys are the annotation
// names without the prefix (balance, timeout-connect, ...), which set the default of every
// backend, plus global keys: hard-stop-after, global-maxconn, retries, timeout-client,
// timeout-http-request, timeout-http-keep-alive, global-snippet and defaults-snippet (raw lines
// for the global and defaults sections: not validated here; `haproxy -c` judges them, and a
// rejected snippet is blamed on the ConfigMap while the last good config keeps serving).
//
// Admission validates the annotations already (api/kinds); parsing here is the controller's own
// guard, so an object that slipped through is left out and reported rather than rendered.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "controller/haproxy/haproxy_model.h"

namespace capstan::controller::haproxy {

inline constexpr char kAnnotationPrefix[] = "haproxy.capstan.io/";
inline constexpr char kDefaultsNamespace[] = "kube-system";
inline constexpr char kDefaultsName[] = "capstan-haproxy-defaults";

// An HAProxy time: digits with an optional unit us|ms|s|m|h|d (none: ms), as milliseconds.
// kInvalid for anything else, zero, or more than 24 days (HAProxy's limit is 2^31 ms).
Result<int64_t> ParseHaproxyDuration(const std::string& text);

// Backend settings from `values` (key without prefix -> value) over `base`. Unknown keys are
// ignored (the caller picked the keys). kInvalid naming the key and the value for a bad one.
// `field_prefix` prefixes the key in messages ("metadata.annotations[haproxy.capstan.io/" or
// "data[").
Status ApplyBackendSettings(const std::map<std::string, std::string>& values, const std::string& field_prefix,
                            const std::string& field_suffix, BackendSettings* settings);

// The `haproxy.capstan.io/` annotations of an object, prefix removed.
std::map<std::string, std::string> HaproxyAnnotations(const nlohmann::json& object);

struct Defaults {
  GlobalSettings global;
  BackendSettings backend;
};
// The defaults ConfigMap's data over the built-in defaults. Each bad key is one message in
// `problems` ("data[balance]: ..."); the rest applies.
Defaults ParseDefaults(const nlohmann::json* config_map, std::vector<std::string>* problems);

}  // namespace capstan::controller::haproxy
