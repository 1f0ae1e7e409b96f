// HAProxy settings of Services and Ingresses: the `haproxy.capstan.io/` annotations, the
// cluster-wide defaults ConfigMap, and the built-in defaults, merged in that order of precedence
// (annotation over ConfigMap over built-in). Parsing is api/kinds/haproxy_annotations.h's, the
// same table admission validates with; this file maps its typed form onto the model.
//
// The defaults ConfigMap is kube-system/capstan-haproxy-defaults. Its keys are the annotation
// names without the prefix (balance, timeout-connect, check-path, ...), which set the default of
// every backend, plus global keys Capstan's HAProxy adds: hard-stop-after, global-maxconn,
// threads, retries, timeout-http-request, timeout-http-keep-alive, global-snippet and defaults-snippet
// (raw lines for the global and defaults sections: not validated here; `haproxy -c` judges them,
// and a rejected snippet is blamed on the ConfigMap while the last good config keeps serving).
// timeout-connect, timeout-client and timeout-server there set the defaults section.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/kinds/haproxy_annotations.h"
#include "base/status.h"
#include "controller/haproxy/haproxy_model.h"

namespace capstan::controller::haproxy {

inline constexpr char kAnnotationPrefix[] = "haproxy.capstan.io/";
inline constexpr char kDefaultsNamespace[] = "kube-system";
inline constexpr char kDefaultsName[] = "capstan-haproxy-defaults";
inline constexpr int kMaxHaproxyThreads = 64;  // HAProxy 2.6's MAX_THREADS

// HAProxy's threads when nothing sets them: half the CPUs, at least one. HAProxy's own default is
// one per CPU, but Capstan's HAProxy shares its host with the replicas it balances and with the
// server: with a thread per CPU, a thread that is descheduled holds up the others (HAProxy's
// locks spin), and a runtime command or a request waits for the scheduler's next tick
// (docs/haproxy.md#threads: 2-5 ms stalls on 2 CPUs, gone with one thread).
int DefaultHaproxyThreads(int cpus);
// The CPUs this process may run on (its affinity mask), at least 1.
int UsableCpus();

// `parsed` over `settings`: every field given replaces the one in `settings`.
void ApplyBackendSettings(const api::kinds::HaproxySettings& parsed, BackendSettings* settings);

// The annotations of a Service or an Ingress, parsed; kInvalid naming the first bad annotation
// (admission refuses them, so this only guards objects stored before a rule existed).
Result<api::kinds::HaproxySettings> ParseObjectSettings(const nlohmann::json& object,
                                                        api::kinds::HaproxySettingsScope scope);

struct Defaults {
  GlobalSettings global;
  BackendSettings backend;
  bool ssl_redirect = true;
};
// The defaults ConfigMap's data over the built-in defaults. Each bad key is one message in
// `problems` ("data[balance]: ..."); the rest applies.
Defaults ParseDefaults(const nlohmann::json* config_map, std::vector<std::string>* problems);

}  // namespace capstan::controller::haproxy
