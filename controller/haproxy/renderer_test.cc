#include "controller/haproxy/renderer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "controller/haproxy/config_check.h"
#include "controller/supervisor/run_command.h"

namespace capstan::controller::haproxy {
namespace {

RenderOptions Options(const std::string& dir = "/var/lib/capstan/haproxy") {
  RenderOptions o;
  o.stats_socket = dir + "/stats.sock";
  o.cert_dir = dir + "/certs";
  o.crt_list = dir + "/crt-list.txt";
  o.ingress_address = "127.0.0.1";
  o.ingress_http_port = 18480;
  o.ingress_https_port = 18443;
  return o;
}

Backend WebBackend() {
  Backend b;
  b.name = "default_web_80";
  b.source = "Service default/web";
  b.http = true;
  b.slots = 8;
  b.settings.check.http = true;
  b.settings.check.path = "/healthz";
  b.settings.check.interval_ms = 500;
  b.servers = {{1, "127.0.0.1", 20001, ServerState::kReady},
               {2, "127.0.0.1", 20002, ServerState::kDrain},
               {5, "127.0.0.1", 20005, ServerState::kReady}};
  return b;
}

HaproxyModel Model() {
  HaproxyModel m;
  m.backends.push_back(WebBackend());
  Backend db;
  db.name = "default_db_5432";
  db.source = "Service default/db";
  db.settings.balance = "leastconn";
  db.settings.client_ip_affinity_seconds = 10800;
  db.settings.maxconn_per_server = 100;
  db.settings.timeout_server_ms = 1500;
  m.backends.push_back(db);
  Backend canary = WebBackend();
  canary.name = "default_canary_80";
  canary.source = "Service default/canary";
  m.backends.push_back(canary);
  m.listeners.push_back({"default_db_5432_service", "Service default/db", "127.0.0.1", 15432, false, "default_db_5432", {}});
  m.listeners.push_back({"default_web_80_service", "Service default/web", "127.0.0.1", 18080, true, "default_web_80", 30000});
  Route exact{"shop.example.com", "/cart", PathType::kExact, "default_web_80", "Ingress default/shop"};
  Route prefix{"shop.example.com", "/api/", PathType::kPrefix, "default_web_80", "Ingress default/shop"};
  prefix.canary_backend = "default_canary_80";
  prefix.canary_weight = 10;
  prefix.canary_header = "X-Canary";
  prefix.canary_source = "Ingress default/shop-canary";
  Route wildcard{"*.example.com", "/", PathType::kPrefix, "default_web_80", "Ingress default/any"};
  m.ingress.routes = {exact, prefix, wildcard};
  return m;
}

TEST(RendererTest, SlotCountIsAPowerOfTwoWithAFloor) {
  EXPECT_EQ(SlotCount(0), 8);
  EXPECT_EQ(SlotCount(8), 8);
  EXPECT_EQ(SlotCount(9), 16);
  EXPECT_EQ(SlotCount(1000), 1024);
  EXPECT_EQ(SlotCount(3, 1), 4);
  EXPECT_EQ(FormatDuration(5000), "5s");
  EXPECT_EQ(FormatDuration(1500), "1500ms");
}

TEST(RendererTest, BackendSlotsServersAndSettings) {
  const RenderedConfig c = RenderHaproxyConfig(Model(), Options());
  const std::string& t = c.text;
  EXPECT_NE(t.find("  master-worker\n"), std::string::npos);
  EXPECT_NE(t.find("  stats socket /var/lib/capstan/haproxy/stats.sock mode 600 level admin expose-fd listeners\n"),
            std::string::npos);
  EXPECT_NE(t.find("  hard-stop-after 30s\n"), std::string::npos);
  EXPECT_EQ(t.find("nbthread"), std::string::npos) << "threads 0: HAProxy's own default";
  EXPECT_NE(t.find("  option redispatch\n"), std::string::npos);
  EXPECT_NE(t.find("  retries 3\n"), std::string::npos);
  EXPECT_NE(t.find("backend default_web_80\n  mode http\n  balance roundrobin\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  option httpchk\n  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("  default-server check inter 500ms fastinter 500ms downinter 500ms fall 3 rise 2\n"
                   "  server s1 127.0.0.1:20001\n"
                   "  server s2 127.0.0.1:20002 disabled\n"
                   "  server-template s 3-4 0.0.0.0:0 disabled\n"
                   "  server s5 127.0.0.1:20005\n"
                   "  server-template s 6-8 0.0.0.0:0 disabled\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("backend default_db_5432\n  mode tcp\n  balance leastconn\n  timeout server 1500ms\n"
                   "  stick-table type ip size 100k expire 10800s\n  stick on src\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("fall 3 rise 2 maxconn 100\n  server-template s 1-8 0.0.0.0:0 disabled\n"), std::string::npos) << t;
  EXPECT_NE(t.find("frontend default_web_80_service\n  mode http\n  option idle-close-on-response\n"
                   "  bind 127.0.0.1:18080\n  timeout client 30s\n  default_backend default_web_80\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("frontend default_db_5432_service\n  mode tcp\n  bind 127.0.0.1:15432\n"), std::string::npos) << t;
  // One source per line; blame finds the backend's object by its line and by its name.
  size_t lines = 0;
  for (char ch : t) lines += ch == '\n';
  ASSERT_EQ(c.line_sources.size(), lines);
  const size_t at = t.find("  balance leastconn");
  const size_t line = 1 + std::count(t.begin(), t.begin() + static_cast<long>(at), '\n');
  EXPECT_EQ(BlameSources("[ALERT]    (1) : config : parsing [/x/haproxy.cfg:" + std::to_string(line) + "] : oops", c),
            std::set<std::string>{"Service default/db"});
  EXPECT_EQ(BlameSources("[ALERT]    (1) : config : Proxy 'default_web_80_service': unable to find", c),
            std::set<std::string>{"Service default/web"});
  EXPECT_TRUE(BlameSources("[WARNING]  (1) : config : Proxy 'default_web_80_service': meh", c).empty());
}

TEST(RendererTest, ThreadsAreTheGlobalSectionsNbthread) {
  HaproxyModel m = Model();
  m.global.threads = 3;
  const std::string t = RenderHaproxyConfig(m, Options()).text;
  EXPECT_NE(t.find("global\n  master-worker\n"), std::string::npos) << t;
  const size_t nbthread = t.find("  nbthread 3\n");
  ASSERT_NE(nbthread, std::string::npos) << t;
  EXPECT_LT(nbthread, t.find("\ndefaults\n")) << "a global setting";
}

TEST(RendererTest, IngressRoutesCanariesAndDefaultBackend) {
  const std::string t = RenderHaproxyConfig(Model(), Options()).text;
  const std::string host = "{ req.hdr(host),field(1,:),lower -m str shop.example.com }";
  EXPECT_NE(t.find("frontend ingress\n  mode http\n  option idle-close-on-response\n  bind 127.0.0.1:18480\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("  use_backend default_web_80 if " + host + " { path -m str /cart }\n"), std::string::npos) << t;
  // Prefix "/api/" matches /api and /api/x, not /apix; the canary by header, then by weight.
  EXPECT_NE(t.find("  use_backend default_canary_80 if " + host + " { path -m str /api } { req.hdr(X-Canary) -m str always } || " +
                   host + " { path -m beg /api/ } { req.hdr(X-Canary) -m str always }\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("  use_backend default_canary_80 if " + host + " { path -m str /api } { rand(100) lt 10 } || "),
            std::string::npos) << t;
  EXPECT_NE(t.find("  use_backend default_web_80 if { req.hdr(host),field(1,:),lower -m reg ^[^.]+\\\\.example\\\\.com$ }\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("  default_backend ingress_not_found\n"), std::string::npos);
  EXPECT_EQ(t.find("}  {"), std::string::npos);  // one space between conditions
  EXPECT_NE(t.find("backend ingress_not_found\n"), std::string::npos);
  EXPECT_EQ(t.find("ssl crt-list"), std::string::npos);  // no certificates: no HTTPS bind
}

// A wildcard TLS host is redirected to HTTPS by pattern, as its routes match it.
TEST(RendererTest, HttpsRedirectMatchesHostsAsRoutesDo) {
  HaproxyModel m = Model();
  m.ingress.certificates.push_back({"default_shop-tls.pem", "PEM\n", {"*.example.com", "shop.example.com"}, "Secret default/shop-tls"});
  m.ingress.redirect_hosts = {"*.example.com", "shop.example.com"};
  const std::string t = RenderHaproxyConfig(m, Options()).text;
  EXPECT_NE(t.find(" code 308 if !{ ssl_fc } { req.hdr(host),field(1,:),lower -m reg ^[^.]+\\\\.example\\\\.com$ } || !{ ssl_fc } "
                   "{ req.hdr(host),field(1,:),lower -m str shop.example.com }\n"),
            std::string::npos) << t;
}

TEST(RendererTest, SameModelSameBytes) {
  const HaproxyModel m = Model();
  const RenderedConfig a = RenderHaproxyConfig(m, Options());
  const RenderedConfig b = RenderHaproxyConfig(HaproxyModel(m), Options());
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.files, b.files);
  HaproxyModel changed = m;
  changed.backends[0].servers[0].port = 20009;
  EXPECT_NE(RenderHaproxyConfig(changed, Options()).text, a.text);
}

TEST(RendererTest, SnippetsAreBlamedOnTheConfigMap) {
  HaproxyModel m;
  m.global.defaults_snippet = "option httplog\n\n  no-such-keyword 1\n";
  const RenderedConfig c = RenderHaproxyConfig(m, Options());
  EXPECT_NE(c.text.find("  option httplog\n  no-such-keyword 1\n"), std::string::npos) << c.text;
  const size_t at = c.text.find("  no-such-keyword");
  const size_t line = 1 + std::count(c.text.begin(), c.text.begin() + static_cast<long>(at), '\n');
  EXPECT_EQ(BlameSources("[ALERT]    (7) : config : parsing [h.cfg:" + std::to_string(line) + "] : unknown keyword", c),
            std::set<std::string>{"ConfigMap defaults-snippet"});
  EXPECT_EQ(AlertSummary("[NOTICE]   (7) : haproxy version\n[ALERT]    (7) : config : parsing [h.cfg:9] : unknown keyword "
                         "'x' in 'defaults' section\n[ALERT]    (7) : config : Fatal errors found in configuration.\n"),
            "parsing [h.cfg:9] : unknown keyword 'x' in 'defaults' section");
}

// The real HAProxy accepts what the renderer writes, TLS included.
TEST(RendererTest, HaproxyAcceptsTheRenderedConfig) {
  if (::access("/usr/sbin/haproxy", X_OK) != 0) GTEST_SKIP() << "haproxy is not installed";
  char tmpl[] = "/tmp/capstan-render-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  HaproxyModel m = Model();
  m.global.threads = 2;
  auto cert = supervisor::RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                                      "/CN=shop.example.com", "-days", "1", "-keyout", dir + "/k.pem", "-out",
                                      dir + "/c.pem"});
  const bool tls = cert.ok() && cert->exit_code == 0;
  if (tls) {
    std::ifstream c(dir + "/c.pem"), k(dir + "/k.pem");
    std::string pem((std::istreambuf_iterator<char>(c)), {});
    pem.append((std::istreambuf_iterator<char>(k)), {});
    m.ingress.certificates.push_back({"default_shop-tls.pem", pem, {"shop.example.com"}, "Secret default/shop-tls"});
    m.ingress.redirect_hosts = {"*.example.com", "shop.example.com"};
  }
  m.ingress.default_backend = "default_web_80";
  m.ingress.default_source = "Ingress default/shop";
  const RenderedConfig c = RenderHaproxyConfig(m, Options(dir));
  std::filesystem::create_directories(dir + "/certs");
  for (const auto& [path, content] : c.files) std::ofstream(path) << content;
  std::ofstream(dir + "/haproxy.cfg") << c.text;
  auto check = CheckHaproxyConfig("/usr/sbin/haproxy", dir + "/haproxy.cfg");
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(check->valid) << check->output << "\n" << c.text;
  if (tls) {
    // Files are named by their content: certs/default_shop-tls-<hash>.pem, crt-list-<hash>.txt.
    ASSERT_EQ(c.files.size(), 2u);
    const std::string pem_path = c.files.begin()->first, list_path = std::next(c.files.begin())->first;
    EXPECT_EQ(pem_path.rfind(dir + "/certs/default_shop-tls-", 0), 0u) << pem_path;
    EXPECT_EQ(list_path.rfind(dir + "/crt-list-", 0), 0u) << list_path;
    EXPECT_NE(c.text.find("  bind 127.0.0.1:18443 ssl crt-list " + list_path + "\n"), std::string::npos);
    EXPECT_NE(c.text.find("http-request redirect location \"https://%[req.hdr(host),field(1,:)]:18443%[capture.req.uri]\" "
                          "code 308 if !{ ssl_fc }"),
              std::string::npos) << c.text;
    EXPECT_EQ(c.files.at(list_path), pem_path + " shop.example.com\n");
    EXPECT_EQ(c.file_sources.at(pem_path), "Secret default/shop-tls");
    // Another certificate, another file: the one the running config reads is never rewritten.
    HaproxyModel renewed = m;
    renewed.ingress.certificates[0].pem += "\n";
    const RenderedConfig r = RenderHaproxyConfig(renewed, Options(dir));
    for (const auto& [path, content] : r.files) EXPECT_EQ(c.files.count(path), 0u) << path;
    // A certificate HAProxy cannot load is blamed on its Secret.
    EXPECT_EQ(BlameSources("[ALERT]    (1) : config : parsing [" + list_path + ":1] : unable to load certificate from file '" +
                               pem_path + "'.",
                           c),
              std::set<std::string>{"Secret default/shop-tls"});
  }
  // And rejects a broken snippet, which blame pins on the ConfigMap.
  m.global.defaults_snippet = "no-such-keyword 1";
  const RenderedConfig bad = RenderHaproxyConfig(m, Options(dir));
  std::ofstream(dir + "/bad.cfg") << bad.text;
  check = CheckHaproxyConfig("/usr/sbin/haproxy", dir + "/bad.cfg");
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->valid);
  EXPECT_EQ(BlameSources(check->output, bad), std::set<std::string>{"ConfigMap defaults-snippet"}) << check->output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace capstan::controller::haproxy
