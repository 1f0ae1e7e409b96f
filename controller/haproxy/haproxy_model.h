// HaproxyModel: what Capstan's HAProxy should serve, as plain values. The model builder
// (model_builder.h) makes it from API objects; the renderer (renderer.h) turns it into config
// text; the runtime planner (runtime_plan.h) turns the difference of two models into runtime API
// commands or a reload. Every container is kept sorted by the builder, so equal models render to
// byte-identical text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace capstan::controller::haproxy {

// The health check of a backend's servers. HAProxy checks every server: a plain TCP connect
// when no HTTP check is known, so a replica not listening yet is never UP.
struct HealthCheck {
  bool http = false;           // option httpchk + http-check send
  std::string method = "GET";  // http only
  std::string path = "/";      // http only
  std::string host;            // Host header of the check; empty: none
  int interval_ms = 2000;      // inter (and fastinter/downinter: a new server turns UP quickly)
  int fall = 3;
  int rise = 2;
  // From a readinessProbe: the container port it probes (a number, and the port's name when the
  // container names it). The check is used only for Service ports whose targetPort is that port.
  int probe_port = 0;
  std::string probe_port_name;
  bool operator==(const HealthCheck&) const = default;
};

// Per-backend settings, from annotations over the defaults ConfigMap over built-in defaults.
struct BackendSettings {
  std::string balance = "roundrobin";  // roundrobin | leastconn | source | first | random
  std::optional<int64_t> timeout_connect_ms, timeout_server_ms, timeout_client_ms, timeout_queue_ms;
  int maxconn_per_server = 0;          // 0: unlimited
  std::string cookie;                  // cookie persistence: the cookie's name; empty: none (http only)
  bool forwarded_for = false;          // option forwardfor (http only)
  int client_ip_affinity_seconds = 0;  // > 0: sessionAffinity ClientIP (a stick table on src)
  HealthCheck check;
  bool operator==(const BackendSettings&) const = default;
};

// kReady: serving. kDrain: terminating, no new requests (state drain). kDrained: terminating and
// done (state maint): its sessions ended or the drain bound passed (drain_tracker.h decides).
enum class ServerState { kReady, kDrain, kDrained };

// One filled slot: an endpoint of the backend. Slots are numbered from 1; names are "s<slot>".
struct ServerSlot {
  int slot = 0;
  std::string address;
  int port = 0;
  ServerState state = ServerState::kReady;  // kDrain: terminating but still serving
  // The endpoint's targetRef (the Pod: "<namespace>/<name>" and its uid), for the termination
  // order (drain_tracker.h); empty when the slice names none. Never rendered.
  std::string pod;
  std::string pod_uid;
  // The backend's check is the Pod's own readinessProbe and the Pod is Ready, so that very check
  // has just passed (the node agent ran it against the same address and port): HAProxy may send
  // it requests at once instead of waiting a check interval for its own first check. Never
  // rendered.
  bool probed = false;
  bool operator==(const ServerSlot&) const = default;
};

// One Service port: a backend with `slots` server slots.
struct Backend {
  std::string name;    // "<namespace>_<service>_<port>": unique, valid as an HAProxy proxy name
  std::string source;  // "Service <namespace>/<name>": who is at fault for its lines
  bool http = false;   // mode http (an HTTP port or one an Ingress routes to), else tcp
  BackendSettings settings;
  int slots = 8;                   // a power of two >= servers.size(); never shrinks in one run
  std::vector<ServerSlot> servers; // by slot
  bool operator==(const Backend&) const = default;
};

// A listener of a Service port on one address.
struct Listener {
  std::string name;     // "<backend>_<address tag>"
  std::string source;
  std::string address;  // the service or the public address
  int port = 0;
  bool http = false;
  std::string backend;
  std::optional<int64_t> timeout_client_ms;
  bool operator==(const Listener&) const = default;
};

enum class PathType { kExact, kPrefix };  // ImplementationSpecific is a Prefix, as ingress-nginx

// One Ingress rule path (or a default backend when host and path are empty).
struct Route {
  std::string host;     // "" any; "*.example.com" one label
  std::string path;     // "" any
  PathType type = PathType::kPrefix;
  std::string backend;
  std::string source;   // "Ingress <namespace>/<name>"
  // Canary (a second Ingress for the same host and path with haproxy.capstan.io/canary "true").
  std::string canary_backend;  // empty: none
  int canary_weight = 0;       // percent of requests, 0..100
  std::string canary_header;   // "always" / "never" in it force / forbid the canary
  std::string canary_source;
  bool operator==(const Route&) const = default;
};

// A TLS certificate from a kubernetes.io/tls Secret, for the hosts of the Ingresses using it.
struct Certificate {
  std::string file;                // "<ns>_<secret>.pem"; written as "<ns>_<secret>-<content hash>.pem"
  std::string pem;                 // tls.crt then tls.key
  std::vector<std::string> hosts;  // SNI filters; sorted
  std::string source;              // "Secret <namespace>/<name>"
  bool operator==(const Certificate&) const = default;
};

struct IngressModel {
  std::vector<Route> routes;          // in match order (the builder sorts by precedence)
  std::string default_backend;        // empty: 404
  std::string default_source;
  std::vector<Certificate> certificates;  // by file
  std::vector<std::string> redirect_hosts;  // hosts with TLS: plain HTTP is redirected (308)
  bool operator==(const IngressModel&) const = default;
};

// Global settings (defaults ConfigMap and server flags).
struct GlobalSettings {
  int64_t hard_stop_after_ms = 30000;
  int maxconn = 0;                     // 0: HAProxy's default
  int threads = 0;                     // nbthread; 0: HAProxy's default (one per CPU)
  int64_t timeout_connect_ms = 5000, timeout_client_ms = 50000, timeout_server_ms = 50000;
  int64_t timeout_http_request_ms = 10000, timeout_http_keep_alive_ms = 10000;
  int retries = 3;
  std::string global_snippet, defaults_snippet;  // raw lines from the defaults ConfigMap
  bool operator==(const GlobalSettings&) const = default;
};

struct HaproxyModel {
  GlobalSettings global;
  std::vector<Backend> backends;    // by name
  std::vector<Listener> listeners;  // by name
  IngressModel ingress;
  bool operator==(const HaproxyModel&) const = default;
};

}  // namespace capstan::controller::haproxy
