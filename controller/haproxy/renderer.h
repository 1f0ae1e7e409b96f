// RenderHaproxyConfig: the model as HAProxy 2.6 configuration text. A pure function: the same
// model and options give byte-identical output (the model's containers are sorted; nothing here
// reads a clock, the environment or a hash order).
//
// What it writes:
//   global     master-worker, a stats socket per worker (level admin, expose-fd listeners: the
//              master hands listening sockets to the next worker on reload), hard-stop-after
//              (old workers never pile up), maxconn, the defaults ConfigMap's global-snippet.
//   defaults   timeouts, retries, option redispatch (a server that died between two checks costs
//              a retry on another, not an error), and for HTTP proxies option
//              idle-close-on-response (idle keep-alive clients are closed by a response during a
//              reload, not reset), then defaults-snippet.
//   per Service port: one backend with `slots` servers s1..sN. A ready endpoint's slot is
//              `server sK ADDR:PORT`; a draining (or drained) one's the same with `disabled`, so a worker
//              started by a reload never sends it new requests (the old worker finishes its
//              sessions); runs of empty slots are `server-template s A-B 0.0.0.0:0 disabled`
//              (MAINT: no traffic, no checks, until the runtime API gives them an address).
//              An IP literal needs no resolution, so `init-addr none` would add nothing. Every
//              server is checked (default-server check).
//   listeners  one frontend per Service port and address.
//   ingress    when any Ingress route or default backend exists: one frontend "ingress" with
//              the HTTP bind and, when certificates exist, the HTTPS
//              bind (crt-list with SNI filters); redirects, routes, canaries, default backend.
//
// `line_sources[i]` names the object that produced line i+1 ("" for Capstan's own lines), so an
// error `haproxy -c` reports at a line is blamed on that object.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "controller/haproxy/haproxy_model.h"

namespace capstan::controller::haproxy {

struct RenderOptions {
  std::string stats_socket;       // the workers' stats socket path
  std::string cert_dir;           // where certificate files go
  std::string crt_list;           // the crt-list file path, before "-<content hash>" goes in
  std::string ingress_address = "0.0.0.0";
  int ingress_http_port = 0;      // 0: no Ingress HTTP frontend
  int ingress_https_port = 0;     // 0: no HTTPS bind
};

struct RenderedConfig {
  std::string text;
  // path -> content (certificates, crt-list). Names carry a hash of the content: a file once
  // written is never rewritten, so a running (or restarting) HAProxy's files stay as it checked them.
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> file_sources;  // certificate path -> its object (Secret ...)
  std::vector<std::string> line_sources;     // one per line of text
  std::map<std::string, std::string> proxy_sources;  // frontend/backend name -> its object
};

RenderedConfig RenderHaproxyConfig(const HaproxyModel& model, const RenderOptions& options);

// The smallest power of two >= n, at least `floor`.
int SlotCount(size_t n, int floor = 8);

// "5s"-style duration for the config: whole seconds when exact, else milliseconds.
std::string FormatDuration(int64_t ms);

}  // namespace capstan::controller::haproxy
