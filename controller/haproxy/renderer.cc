#include "controller/haproxy/renderer.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <sstream>

namespace capstan::controller::haproxy {
namespace {

// Accumulates lines and who produced each.
class Writer {
 public:
  void Line(const std::string& source, const std::string& text) {
    text_ += text;
    text_ += '\n';
    sources_.push_back(source);
  }
  // Raw lines (a snippet): each line of `block`, indented.
  void Block(const std::string& source, const std::string& block) {
    std::istringstream in(block);
    std::string line;
    while (std::getline(in, line)) {
      const size_t start = line.find_first_not_of(" \t\r");
      if (start == std::string::npos) continue;
      Line(source, "  " + line.substr(start));
    }
  }
  RenderedConfig Take() {
    RenderedConfig out;
    out.text = std::move(text_);
    out.line_sources = std::move(sources_);
    return out;
  }

 private:
  std::string text_;
  std::vector<std::string> sources_;
};

// An argument HAProxy reads as one word: quoted when it holds anything but safe characters.
std::string Word(const std::string& s) {
  bool safe = !s.empty();
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '-' || c == '_' || c == ':' ||
          c == '*' || c == '~' || c == '%' || c == '=' || c == '&' || c == '?' || c == '+' || c == ',')) {
      safe = false;
    }
  }
  if (safe) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Bind(const std::string& address, int port) {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

// The ACL condition that matches a route's host ("" when any host matches).
std::string HostCondition(const std::string& host) {
  if (host.empty()) return "";
  if (host.rfind("*.", 0) == 0) {
    std::string suffix;
    for (char c : host.substr(1)) {
      if (c == '.') suffix += "\\\\.";
      else suffix += c;
    }
    return "{ req.hdr(host),field(1,:),lower -m reg ^[^.]+" + suffix + "$ }";
  }
  return "{ req.hdr(host),field(1,:),lower -m str " + Word(host) + " }";
}

// Exact: the path itself. Prefix: element-wise, as Kubernetes: "/foo" matches "/foo" and
// "/foo/bar", not "/foobar"; "/" matches everything.
std::string PathCondition(const Route& r) {
  if (r.path.empty() || (r.type == PathType::kPrefix && r.path == "/")) return "";
  if (r.type == PathType::kExact) return "{ path -m str " + Word(r.path) + " }";
  std::string base = r.path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return "{ path -m str " + Word(base) + " } || { path -m beg " + Word(base + "/") + " }";
}

// "use_backend B if HOST PATH EXTRA": a path condition with || needs the host repeated per term.
std::string UseBackend(const std::string& backend, const Route& r, const std::string& extra) {
  const std::string host = HostCondition(r.host);
  const std::string path = PathCondition(r);
  std::string prefix;
  if (!host.empty()) prefix += host + " ";
  std::string suffix = extra.empty() ? "" : " " + extra;
  std::string cond;
  if (path.empty()) {
    cond = host.empty() ? extra : (extra.empty() ? host : host + " " + extra);
  } else {
    const size_t bar = path.find(" || ");
    if (bar == std::string::npos) {
      cond = prefix + path + suffix;
    } else {
      cond = prefix + path.substr(0, bar) + suffix + " || " + prefix + path.substr(bar + 4) + suffix;
    }
  }
  if (cond.empty()) return "  use_backend " + backend;
  return "  use_backend " + backend + " if " + cond;
}

void RenderBackend(Writer& w, const Backend& b) {
  const std::string& src = b.source;
  const BackendSettings& s = b.settings;
  w.Line("", "");
  w.Line(src, "backend " + b.name);
  w.Line(src, std::string("  mode ") + (b.http ? "http" : "tcp"));
  w.Line(src, "  balance " + s.balance);
  if (s.timeout_connect_ms) w.Line(src, "  timeout connect " + FormatDuration(*s.timeout_connect_ms));
  if (s.timeout_server_ms) w.Line(src, "  timeout server " + FormatDuration(*s.timeout_server_ms));
  if (s.timeout_queue_ms) w.Line(src, "  timeout queue " + FormatDuration(*s.timeout_queue_ms));
  if (b.http && s.forwarded_for) w.Line(src, "  option forwardfor");
  if (b.http && !s.cookie.empty()) w.Line(src, "  cookie " + Word(s.cookie) + " insert indirect nocache");
  if (s.client_ip_affinity_seconds > 0) {
    w.Line(src, "  stick-table type ip size 100k expire " + FormatDuration(int64_t{s.client_ip_affinity_seconds} * 1000));
    w.Line(src, "  stick on src");
  }
  if (s.check.http) {
    w.Line(src, "  option httpchk");
    std::string send = "  http-check send meth " + s.check.method + " uri " + Word(s.check.path) + " ver HTTP/1.1";
    send += " hdr Host " + Word(s.check.host.empty() ? "localhost" : s.check.host);
    w.Line(src, send);
    w.Line(src, "  http-check expect status 200-399");
  }
  const std::string inter = FormatDuration(s.check.interval_ms);
  std::string def = "  default-server check inter " + inter + " fastinter " + inter + " downinter " + inter +
                    " fall " + std::to_string(s.check.fall) + " rise " + std::to_string(s.check.rise);
  if (s.maxconn_per_server > 0) def += " maxconn " + std::to_string(s.maxconn_per_server);
  w.Line(src, def);
  int next = 1;  // the first slot not written yet
  auto empty_run = [&](int upto) {  // slots [next, upto) are empty
    if (next >= upto) return;
    w.Line(src, "  server-template s " + std::to_string(next) + "-" + std::to_string(upto - 1) +
                    " 0.0.0.0:0 disabled");
  };
  for (const ServerSlot& srv : b.servers) {
    empty_run(srv.slot);
    std::string line = "  server s" + std::to_string(srv.slot) + " " + Bind(srv.address, srv.port);
    if (b.http && !s.cookie.empty()) line += " cookie s" + std::to_string(srv.slot);
    if (srv.state != ServerState::kReady) line += " disabled";
    w.Line(src, line);
    next = srv.slot + 1;
  }
  empty_run(b.slots + 1);
}

// FNV-1a 64 of `content` in hex. Names files by content, not for security: a file a running
// configuration reads is never rewritten, so the last good config keeps loading after a restart.
std::string ContentHash(const std::string& content) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : content) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// `path` with "-<hash of content>" before the extension of its file name.
std::string ContentAddressed(const std::string& path, const std::string& content) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const size_t at = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? path.size() : dot;
  return path.substr(0, at) + "-" + ContentHash(content) + path.substr(at);
}

bool ServesTls(const IngressModel& in, const RenderOptions& o) {
  return o.ingress_http_port > 0 && o.ingress_https_port > 0 && !in.certificates.empty() &&
         !(in.routes.empty() && in.default_backend.empty());
}

// The certificate files and the crt-list naming them, into out->files; returns the crt-list path.
std::string RenderCertificates(const IngressModel& in, const RenderOptions& o, RenderedConfig* out) {
  std::string list;
  for (const Certificate& c : in.certificates) {
    const std::string path = ContentAddressed(o.cert_dir + "/" + c.file, c.pem);
    out->files[path] = c.pem;
    out->file_sources[path] = c.source;
    list += path;
    for (const std::string& h : c.hosts) list += " " + h;
    list += "\n";
  }
  const std::string path = ContentAddressed(o.crt_list, list);
  out->files[path] = list;
  return path;
}

void RenderIngress(Writer& w, const IngressModel& in, const RenderOptions& o, const std::string& crt_list) {
  // No Ingress, no frontend: a server without Ingresses binds no HTTP/HTTPS port.
  if (o.ingress_http_port <= 0 || (in.routes.empty() && in.default_backend.empty())) return;
  const bool tls = ServesTls(in, o);
  w.Line("", "");
  w.Line("", "frontend ingress");
  w.Line("", "  mode http");
  w.Line("", "  option idle-close-on-response");
  w.Line("", "  bind " + Bind(o.ingress_address, o.ingress_http_port));
  if (tls) w.Line("", "  bind " + Bind(o.ingress_address, o.ingress_https_port) + " ssl crt-list " + crt_list);
  if (tls && !in.redirect_hosts.empty()) {
    // Each host matched as routes match it: a wildcard is a pattern, not a string.
    std::string hosts;
    for (const std::string& h : in.redirect_hosts) hosts += (hosts.empty() ? " " : " || !{ ssl_fc } ") + HostCondition(h);
    // Off port 443 the redirect must name the HTTPS port: the scheme alone would send clients to 443.
    const std::string to = o.ingress_https_port == 443
                               ? std::string("scheme https")
                               : "location \"https://%[req.hdr(host),field(1,:)]:" + std::to_string(o.ingress_https_port) +
                                     "%[capture.req.uri]\"";
    w.Line("", "  http-request redirect " + to + " code 308 if !{ ssl_fc }" + hosts);
  }
  for (const Route& r : in.routes) {
    if (!r.canary_backend.empty()) {
      if (!r.canary_header.empty()) {
        const std::string hdr = "{ req.hdr(" + r.canary_header + ") -m str always }";
        w.Line(r.canary_source, UseBackend(r.canary_backend, r, hdr));
        w.Line(r.canary_source, UseBackend(r.backend, r, "{ req.hdr(" + r.canary_header + ") -m str never }"));
      }
      if (r.canary_weight > 0) {
        w.Line(r.canary_source, UseBackend(r.canary_backend, r, "{ rand(100) lt " + std::to_string(r.canary_weight) + " }"));
      }
    }
    w.Line(r.source, UseBackend(r.backend, r, ""));
  }
  w.Line(in.default_source, "  default_backend " + (in.default_backend.empty() ? "ingress_not_found" : in.default_backend));
  if (in.default_backend.empty()) {
    w.Line("", "");
    w.Line("", "backend ingress_not_found");
    w.Line("", "  mode http");
    w.Line("", "  http-request return status 404 content-type text/plain string \"default backend - 404\"");
  }
}

}  // namespace

int SlotCount(size_t n, int floor) {
  size_t slots = 1;
  while (slots < n) slots *= 2;
  return std::max(static_cast<int>(slots), floor);
}

std::string FormatDuration(int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

RenderedConfig RenderHaproxyConfig(const HaproxyModel& m, const RenderOptions& o) {
  Writer w;
  const GlobalSettings& g = m.global;
  w.Line("", "# Written by Capstan; do not edit: every change of Services and Ingresses rewrites it.");
  w.Line("", "global");
  w.Line("", "  master-worker");
  w.Line("", "  stats socket " + o.stats_socket + " mode 600 level admin expose-fd listeners");
  w.Line("", "  hard-stop-after " + FormatDuration(g.hard_stop_after_ms));
  if (g.maxconn > 0) w.Line("", "  maxconn " + std::to_string(g.maxconn));
  if (g.threads > 0) w.Line("", "  nbthread " + std::to_string(g.threads));
  w.Block("ConfigMap global-snippet", g.global_snippet);
  w.Line("", "");
  w.Line("", "defaults");
  w.Line("", "  mode tcp");
  w.Line("", "  timeout connect " + FormatDuration(g.timeout_connect_ms));
  w.Line("", "  timeout client " + FormatDuration(g.timeout_client_ms));
  w.Line("", "  timeout server " + FormatDuration(g.timeout_server_ms));
  w.Line("", "  timeout http-request " + FormatDuration(g.timeout_http_request_ms));
  w.Line("", "  timeout http-keep-alive " + FormatDuration(g.timeout_http_keep_alive_ms));
  w.Line("", "  retries " + std::to_string(g.retries));
  w.Line("", "  option redispatch");
  w.Block("ConfigMap defaults-snippet", g.defaults_snippet);

  for (const Listener& l : m.listeners) {
    w.Line("", "");
    w.Line(l.source, "frontend " + l.name);
    w.Line(l.source, std::string("  mode ") + (l.http ? "http" : "tcp"));
    if (l.http) w.Line(l.source, "  option idle-close-on-response");
    w.Line(l.source, "  bind " + Bind(l.address, l.port));
    if (l.timeout_client_ms) w.Line(l.source, "  timeout client " + FormatDuration(*l.timeout_client_ms));
    w.Line(l.source, "  default_backend " + l.backend);
  }
  RenderedConfig files;
  const std::string crt_list = ServesTls(m.ingress, o) ? RenderCertificates(m.ingress, o, &files) : "";
  RenderIngress(w, m.ingress, o, crt_list);
  for (const Backend& b : m.backends) RenderBackend(w, b);
  RenderedConfig out = w.Take();
  out.files = std::move(files.files);
  out.file_sources = std::move(files.file_sources);
  for (const Listener& l : m.listeners) out.proxy_sources[l.name] = l.source;
  for (const Backend& b : m.backends) out.proxy_sources[b.name] = b.source;
  return out;
}

}  // namespace capstan::controller::haproxy
