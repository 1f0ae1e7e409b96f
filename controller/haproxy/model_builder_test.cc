#include "controller/haproxy/model_builder.h"

#include <map>

#include <gtest/gtest.h>

#include "base/base64.h"
#include "controller/haproxy/ingress_builder.h"
#include "controller/haproxy/renderer.h"
#include "controller/haproxy/settings.h"
#include "controller/haproxy/tls_test_util.h"

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

std::shared_ptr<const json> Obj(json j) { return std::make_shared<const json>(std::move(j)); }

std::shared_ptr<const json> Service(const std::string& name, json ports, json extra_spec = json::object(),
                                    json annotations = json::object()) {
  json spec = {{"selector", {{"app", name}}}, {"ports", ports}};
  spec.update(extra_spec);
  return Obj({{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"annotations", annotations}}},
              {"spec", spec}});
}

std::shared_ptr<const json> Slice(const std::string& service, const std::string& port_name,
                                  std::vector<std::tuple<std::string, int, bool, bool>> endpoints) {
  // The slice's port is its first endpoint's: each Pod has its own host port, so each port set
  // gets a slice of its own.
  json eps = json::array();
  for (const auto& [addr, port, ready, terminating] : endpoints) {
    eps.push_back({{"addresses", {addr}},
                   {"conditions", {{"ready", ready}, {"serving", true}, {"terminating", terminating}}}});
  }
  const int port = endpoints.empty() ? 1 : std::get<1>(endpoints[0]);
  return Obj({{"apiVersion", "discovery.k8s.io/v1"},
              {"kind", "EndpointSlice"},
              {"metadata",
               {{"name", service + "-" + std::to_string(port)},
                {"namespace", "default"},
                {"labels", {{"kubernetes.io/service-name", service}}}}},
              {"addressType", "IPv4"},
              {"endpoints", eps},
              {"ports", {{{"name", port_name}, {"port", port}, {"protocol", "TCP"}}}}});
}

std::shared_ptr<const json> DefaultClass(bool is_default) {
  return Obj({{"kind", "IngressClass"},
              {"metadata",
               {{"name", "haproxy"},
                {"annotations", {{"ingressclass.kubernetes.io/is-default-class", is_default ? "true" : "false"}}}}},
              {"spec", {{"controller", kIngressController}}}});
}

ModelInputs WebInputs() {
  ModelInputs in;
  in.services = {Service("web", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}},
                         {{"type", "NodePort"}, {"sessionAffinity", "ClientIP"}}),
                 Service("db", {{{"name", "pg"}, {"port", 5432}, {"nodePort", 0}}})};
  in.endpoint_slices = {Slice("web", "http", {{"127.0.0.1", 20001, true, false}}),
                        Slice("web", "http", {{"127.0.0.1", 20002, true, false}}),
                        Slice("web", "http", {{"127.0.0.1", 20003, false, true}}),
                        Slice("web", "http", {{"127.0.0.1", 20004, false, false}})};
  in.ingress_classes = {DefaultClass(true)};
  return in;
}

TEST(ModelBuilderTest, ServicesBecomeBackendsAndListenersWithSlots) {
  ModelInputs in = WebInputs();
  json svc = *in.services[0];
  svc["spec"]["ports"][0]["nodePort"] = 30080;
  in.services[0] = Obj(svc);
  ModelResult r = BuildHaproxyModel(in);
  EXPECT_TRUE(r.problems.empty()) << r.problems[0].message;
  ASSERT_EQ(r.model.backends.size(), 2u);
  const Backend& db = r.model.backends[0];
  EXPECT_EQ(db.name, "default_db_5432");
  EXPECT_FALSE(db.http);
  EXPECT_TRUE(db.servers.empty());
  const Backend& web = r.model.backends[1];
  EXPECT_EQ(web.name, "default_web_8080");
  EXPECT_TRUE(web.http);  // port named "http"
  EXPECT_EQ(web.source, "Service default/web");
  EXPECT_EQ(web.slots, 8);
  EXPECT_EQ(web.settings.client_ip_affinity_seconds, 10800);
  ASSERT_EQ(web.servers.size(), 3u);  // the not-ready, not-terminating one is left out
  EXPECT_EQ(web.servers[0], (ServerSlot{1, "127.0.0.1", 20001, ServerState::kReady}));
  EXPECT_EQ(web.servers[2], (ServerSlot{3, "127.0.0.1", 20003, ServerState::kDrain}));
  ASSERT_EQ(r.model.listeners.size(), 3u);
  EXPECT_EQ(r.model.listeners[0].name, "default_db_5432_service");
  EXPECT_EQ(r.model.listeners[1].name, "default_web_8080_nodeport");
  EXPECT_EQ(r.model.listeners[1].address, "0.0.0.0");
  EXPECT_EQ(r.model.listeners[1].port, 30080);
  EXPECT_EQ(r.model.listeners[2].address, "127.0.0.1");
  EXPECT_EQ(r.model.listeners[2].port, 8080);
}

// Server lines get IP literals only (endpoint-only changes are written without `haproxy -c`).
TEST(ModelBuilderTest, EndpointsThatAreNotIpLiteralsAreLeftOut) {
  ModelInputs in = WebInputs();
  in.endpoint_slices = {Slice("web", "http", {{"127.0.0.1", 20001, true, false}}),
                        Slice("web", "http", {{"::1", 20002, true, false}}),
                        Slice("web", "http", {{"example.com", 20003, true, false}}),
                        Slice("web", "http", {{"127.0.0.1 backup", 20004, true, false}}),
                        Slice("web", "http", {{"127.0.0.1", 70000, true, false}})};
  ModelResult r = BuildHaproxyModel(in);
  const Backend& web = r.model.backends[1];
  ASSERT_EQ(web.servers.size(), 2u);
  EXPECT_EQ(web.servers[0].address, "127.0.0.1");
  EXPECT_EQ(web.servers[1].address, "::1");
}

TEST(ModelBuilderTest, EndpointsKeepTheirSlotsAndSlotsNeverShrink) {
  ModelInputs in = WebInputs();
  const ModelResult first = BuildHaproxyModel(in);
  // 20001 goes, 20005..20010 come: 20002 stays in slot 2, the new ones fill the never-used
  // slots 4..8 first and only then slot 1 (freed in this step, maybe still draining); seven
  // endpoints still fit in 8 slots.
  in.endpoint_slices = {Slice("web", "http", {{"127.0.0.1", 20002, true, false}})};
  for (int p = 20005; p <= 20010; ++p) in.endpoint_slices.push_back(Slice("web", "http", {{"127.0.0.1", p, true, false}}));
  in.previous = &first.model;
  const ModelResult second = BuildHaproxyModel(in);
  const Backend& web = second.model.backends[1];
  EXPECT_EQ(web.slots, 8);
  ASSERT_EQ(web.servers.size(), 7u);
  EXPECT_EQ(web.servers[0], (ServerSlot{1, "127.0.0.1", 20010, ServerState::kReady}));
  EXPECT_EQ(web.servers[1], (ServerSlot{2, "127.0.0.1", 20002, ServerState::kReady}));
  EXPECT_EQ(web.servers[2], (ServerSlot{4, "127.0.0.1", 20005, ServerState::kReady}));
  // Ten endpoints: 16 slots; then back to one: still 16.
  for (int p = 20011; p <= 20013; ++p) in.endpoint_slices.push_back(Slice("web", "http", {{"127.0.0.1", p, true, false}}));
  in.previous = &second.model;
  const ModelResult third = BuildHaproxyModel(in);
  EXPECT_EQ(third.model.backends[1].slots, 16);
  in.endpoint_slices.resize(1);
  in.previous = &third.model;
  EXPECT_EQ(BuildHaproxyModel(in).model.backends[1].slots, 16);
  // Deterministic: the same inputs give the same model and the same text.
  RenderOptions o;
  o.stats_socket = "/s";
  EXPECT_EQ(RenderHaproxyConfig(BuildHaproxyModel(in).model, o).text,
            RenderHaproxyConfig(BuildHaproxyModel(in).model, o).text);
}

TEST(ModelBuilderTest, InvalidObjectsAreLeftOutAndReportedTheRestApplies) {
  ModelInputs in = WebInputs();
  in.services.push_back(Service("bad", {{{"port", 9000}}}, json::object(), {{"haproxy.capstan.io/balance", "fastest"}}));
  in.services.push_back(Service("clash", {{{"port", 8080}}}));  // web has 127.0.0.1:8080 (sorted: after)
  in.services.push_back(Service("udp", {{{"port", 53}, {"protocol", "UDP"}}}));
  in.defaults = Obj({{"kind", "ConfigMap"},
                     {"metadata", {{"name", "capstan-haproxy-defaults"}, {"namespace", "kube-system"}}},
                     {"data", {{"balance", "leastconn"}, {"retries", "x"}, {"hard-stop-after", "1m"}}}});
  ModelResult r = BuildHaproxyModel(in);
  std::map<std::string, std::string> problems;
  for (const Problem& p : r.problems) problems[SourceName(*p.object)] += p.message;
  EXPECT_EQ(problems["Service default/bad"],
            "metadata.annotations[haproxy.capstan.io/balance]: Invalid value: \"fastest\": must be one of roundrobin, "
            "leastconn, source, first, uri, random or hdr(HEADER-NAME)");
  EXPECT_EQ(problems["Service default/web"],
            "spec.ports[0].port: port 8080 on 127.0.0.1 is already served for Service default/clash");
  EXPECT_NE(problems["Service default/udp"].find("spec.ports[0].protocol"), std::string::npos);
  EXPECT_NE(problems["ConfigMap kube-system/capstan-haproxy-defaults"].find("data[retries]"), std::string::npos);
  std::vector<std::string> names;
  for (const Backend& b : r.model.backends) names.push_back(b.name);
  EXPECT_EQ(names, (std::vector<std::string>{"default_clash_8080", "default_db_5432"}));
  EXPECT_EQ(r.model.backends[1].settings.balance, "leastconn");  // from the ConfigMap
  EXPECT_EQ(r.model.global.hard_stop_after_ms, 60000);
  EXPECT_EQ(r.model.global.retries, 3);
}

TEST(ModelBuilderTest, ThreadsComeFromTheDefaultsConfigMapOverTheServersDefault) {
  ModelInputs in = WebInputs();
  in.threads = 2;
  EXPECT_EQ(BuildHaproxyModel(in).model.global.threads, 2);
  auto defaults = [](const std::string& threads) {
    return Obj({{"kind", "ConfigMap"},
                {"metadata", {{"name", "capstan-haproxy-defaults"}, {"namespace", "kube-system"}}},
                {"data", {{"threads", threads}, {"retries", "5"}}}});
  };
  in.defaults = defaults("4");
  ModelResult r = BuildHaproxyModel(in);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.model.global.threads, 4);
  for (const std::string bad : {"0", "65", "two", "-1", ""}) {
    in.defaults = defaults(bad);
    r = BuildHaproxyModel(in);
    ASSERT_EQ(r.problems.size(), 1u) << bad;
    EXPECT_NE(r.problems[0].message.find("data[threads]: invalid value \"" + bad + "\""), std::string::npos)
        << r.problems[0].message;
    EXPECT_EQ(r.model.global.threads, 2) << "a bad value leaves the server's default: " << bad;
    EXPECT_EQ(r.model.global.retries, 5) << "and the rest of the ConfigMap applies: " << bad;
  }
}

TEST(ModelBuilderTest, DefaultThreadsAreHalfTheCpusAtLeastOne) {
  EXPECT_EQ(DefaultHaproxyThreads(1), 1);
  EXPECT_EQ(DefaultHaproxyThreads(2), 1);
  EXPECT_EQ(DefaultHaproxyThreads(3), 1);
  EXPECT_EQ(DefaultHaproxyThreads(4), 2);
  EXPECT_EQ(DefaultHaproxyThreads(16), 8);
  EXPECT_EQ(DefaultHaproxyThreads(512), kMaxHaproxyThreads);
  EXPECT_EQ(DefaultHaproxyThreads(0), 1);
  EXPECT_GE(UsableCpus(), 1);
}

TEST(ModelBuilderTest, AnnotationsAndReadinessProbeSetTheHealthCheck) {
  ModelInputs in = WebInputs();
  json pod = {{"spec",
               {{"containers",
                 {{{"name", "main"},
                   {"readinessProbe", {{"httpGet", {{"path", "/ready"}, {"port", 8080}}}, {"periodSeconds", 5}}}}}}}}};
  HealthCheck from_probe;
  ASSERT_TRUE(CheckFromPod(pod, &from_probe));
  EXPECT_EQ(from_probe.path, "/ready");
  EXPECT_EQ(from_probe.interval_ms, 1000);
  in.probe_checks["default/web"] = from_probe;
  in.probe_checks["default/db"] = from_probe;
  json db = *in.services[1];
  db["metadata"]["annotations"] = {{"haproxy.capstan.io/check-path", "/healthz"},
                                   {"haproxy.capstan.io/check-interval", "3s"},
                                   {"haproxy.capstan.io/maxconn", "50"},
                                   {"haproxy.capstan.io/timeout-server", "90s"}};
  in.services[1] = Obj(db);
  ModelResult r = BuildHaproxyModel(in);
  ASSERT_TRUE(r.problems.empty()) << r.problems[0].message;
  EXPECT_EQ(r.model.backends[0].settings.check.path, "/healthz");  // the annotation wins
  EXPECT_EQ(r.model.backends[0].settings.check.interval_ms, 3000);
  EXPECT_EQ(r.model.backends[0].settings.maxconn_per_server, 50);
  EXPECT_EQ(*r.model.backends[0].settings.timeout_server_ms, 90000);
  EXPECT_EQ(r.model.backends[1].settings.check.path, "/ready");
  EXPECT_TRUE(r.model.backends[1].settings.check.http);
}

TEST(ModelBuilderTest, ReadinessProbeChecksOnlyThePortItProbes) {
  json container = {{"name", "main"},
                    {"ports", {{{"name", "web"}, {"containerPort", 8080}}, {{"name", "metrics"}, {"containerPort", 9090}}}},
                    {"readinessProbe", {{"httpGet", {{"path", "/ready"}, {"port", "web"}}}}}};
  HealthCheck from_probe;
  ASSERT_TRUE(CheckFromPod({{"spec", {{"containers", {container}}}}}, &from_probe));
  EXPECT_EQ(from_probe.probe_port, 8080);
  EXPECT_EQ(from_probe.probe_port_name, "web");
  ModelInputs in = WebInputs();
  in.services = {Service("web", {{{"name", "http"}, {"port", 80}, {"targetPort", "web"}},
                                 {{"name", "metrics"}, {"port", 9090}, {"targetPort", 9090}}})};
  in.probe_checks["default/web"] = from_probe;
  ModelResult r = BuildHaproxyModel(in);
  ASSERT_EQ(r.model.backends.size(), 2u);
  for (const Backend& b : r.model.backends) {
    const bool http_port = b.name == "default_web_80";
    EXPECT_EQ(b.settings.check.http, http_port) << b.name;  // metrics keeps the TCP check
  }
  // An HTTPS probe is not turned into a plain-HTTP check.
  container["readinessProbe"]["httpGet"]["scheme"] = "HTTPS";
  HealthCheck https;
  EXPECT_FALSE(CheckFromPod({{"spec", {{"containers", {container}}}}}, &https));
}

// A Ready endpoint whose Pod's readinessProbe is the backend's check has passed that check
// (ServerSlot::probed); not when an annotation changes the path, nor for a port the probe does
// not serve, nor for a Pod whose own probe differs.
TEST(ModelBuilderTest, AReadyServerWhosePodPassedTheCheckIsProbed) {
  json container = {{"name", "main"},
                    {"ports", {{{"name", "web"}, {"containerPort", 8080}}}},
                    {"readinessProbe", {{"httpGet", {{"path", "/ready"}, {"port", "web"}}}}}};
  HealthCheck from_probe;
  ASSERT_TRUE(CheckFromPod({{"spec", {{"containers", {container}}}}}, &from_probe));
  auto with_pods = [](std::shared_ptr<const json> slice, std::vector<std::string> uids) {
    json s = *slice;
    for (size_t i = 0; i < uids.size(); ++i) s["endpoints"][i]["targetRef"] = {{"kind", "Pod"}, {"name", "pod-" + uids[i]}, {"uid", uids[i]}};
    return Obj(s);
  };
  ModelInputs in;
  in.services = {Service("web", {{{"name", "http"}, {"port", 80}, {"targetPort", "web"}},
                                 {{"name", "metrics"}, {"port", 9090}, {"targetPort", 9090}}})};
  in.endpoint_slices = {with_pods(Slice("web", "http", {{"127.0.0.1", 20001, true, false}}), {"uid-a"}),
                        with_pods(Slice("web", "http", {{"127.0.0.1", 20002, true, false}}), {"uid-b"}),
                        with_pods(Slice("web", "metrics", {{"127.0.0.1", 20003, true, false}}), {"uid-a"})};
  in.probe_checks["default/web"] = from_probe;
  in.probe_checked_pods["default/web"] = {"uid-a"};  // uid-b's Pod has another probe, or is not Ready
  ModelResult r = BuildHaproxyModel(in);
  ASSERT_EQ(r.model.backends.size(), 2u);
  std::map<int, bool> probed;
  for (const Backend& b : r.model.backends) {
    for (const ServerSlot& s : b.servers) probed[s.port] = s.probed;
  }
  EXPECT_TRUE(probed.at(20001));
  EXPECT_FALSE(probed.at(20002)) << "its Pod's probe is not the check";
  EXPECT_FALSE(probed.at(20003)) << "the probe does not serve the metrics port";
  // A check path from an annotation is another check: HAProxy's own first check decides.
  in.services = {Service("web", {{{"name", "http"}, {"port", 80}, {"targetPort", "web"}}}, json::object(),
                         {{"haproxy.capstan.io/check-path", "/healthz"}})};
  r = BuildHaproxyModel(in);
  ASSERT_FALSE(r.model.backends.empty());
  for (const ServerSlot& s : r.model.backends[0].servers) EXPECT_FALSE(s.probed) << s.port;
}

std::shared_ptr<const json> Ingress(const std::string& name, json spec, json annotations = json::object()) {
  return Obj({{"apiVersion", "networking.k8s.io/v1"},
              {"kind", "Ingress"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"annotations", annotations}}},
              {"spec", spec}});
}

json Path(const std::string& path, const std::string& type, const std::string& svc, json port) {
  return {{"path", path}, {"pathType", type}, {"backend", {{"service", {{"name", svc}, {"port", port}}}}}};
}

TEST(ModelBuilderTest, IngressRoutesCanariesTlsAndProblems) {
  const auto pair = testing::SelfSigned("shop.example.com");
  if (!pair) GTEST_SKIP() << "the openssl tool cannot make a certificate";
  const auto& [crt, key] = *pair;
  ModelInputs in = WebInputs();
  in.services.push_back(Service("web-v2", {{{"name", "web"}, {"port", 8080}}}, {{"clusterIP", "None"}}));
  in.services.push_back(Service("api", {{{"name", "grpc"}, {"port", 9090}}}));
  in.secrets = {Obj({{"kind", "Secret"},
                     {"metadata", {{"name", "shop-tls"}, {"namespace", "default"}}},
                     {"type", "kubernetes.io/tls"},
                     {"data", {{"tls.crt", Base64Encode(crt)}, {"tls.key", Base64Encode(key)}}}})};
  in.ingresses = {
      Ingress("shop", {{"rules", {{{"host", "shop.example.com"},
                                   {"http", {{"paths", {Path("/", "Prefix", "web", {{"name", "http"}}),
                                                        Path("/api", "Exact", "api", {{"number", 9090}}),
                                                        Path("/x", "Prefix", "missing", {{"number", 1}})}}}}}}},
                       {"tls", {{{"hosts", {"shop.example.com"}}, {"secretName", "shop-tls"}}}},
                       {"defaultBackend", {{"service", {{"name", "db"}, {"port", {{"number", 5432}}}}}}}}),
      Ingress("shop-canary",
              {{"rules", {{{"host", "shop.example.com"}, {"http", {{"paths", {Path("/", "Prefix", "api", {{"number", 9090}})}}}}}}}},
              {{"haproxy.capstan.io/canary", "true"}, {"haproxy.capstan.io/canary-weight", "20"},
               {"haproxy.capstan.io/canary-by-header", "X-Canary"}}),
      Ingress("other", {{"ingressClassName", "nginx"}, {"rules", {{{"http", {{"paths", {Path("/", "Prefix", "web", {{"number", 8080}})}}}}}}}}),
      Ingress("shop-dup", {{"rules", {{{"host", "shop.example.com"}, {"http", {{"paths", {Path("/", "Prefix", "db", {{"number", 5432}})}}}}}}}})};
  ModelResult r = BuildHaproxyModel(in);
  std::map<std::string, std::string> problems;
  for (const Problem& p : r.problems) problems[SourceName(*p.object)] += p.message + ";";
  EXPECT_EQ(problems["Ingress default/shop"], "spec.rules[0].http.paths[2].backend: Service default/missing not found;");
  EXPECT_EQ(problems["Ingress default/shop-dup"],
            "spec.rules[0].http.paths[0]: host \"shop.example.com\" path \"/\" is already routed by Ingress default/shop;");
  EXPECT_EQ(problems.count("Ingress default/other"), 0u);  // not ours: ignored, not a problem
  const IngressModel& ing = r.model.ingress;
  ASSERT_EQ(ing.routes.size(), 2u);
  EXPECT_EQ(ing.routes[0].path, "/api");  // Exact before Prefix
  EXPECT_EQ(ing.routes[0].type, PathType::kExact);
  EXPECT_EQ(ing.routes[1].backend, "default_web_8080");
  EXPECT_EQ(ing.routes[1].canary_backend, "default_api_9090");
  EXPECT_EQ(ing.routes[1].canary_weight, 20);
  EXPECT_EQ(ing.routes[1].canary_header, "X-Canary");
  EXPECT_EQ(ing.default_backend, "default_db_5432");
  ASSERT_EQ(ing.certificates.size(), 1u);
  EXPECT_EQ(ing.certificates[0].pem, crt + key);
  EXPECT_EQ(ing.certificates[0].hosts, std::vector<std::string>{"shop.example.com"});
  EXPECT_EQ(ing.redirect_hosts, std::vector<std::string>{"shop.example.com"});
  // Every backend an Ingress routes to is HTTP, whatever its port is called.
  for (const Backend& b : r.model.backends) EXPECT_TRUE(b.http) << b.name;
}

// Classless Ingresses are ours only while our class is the default; the old class annotation counts.
TEST(ModelBuilderTest, IngressClassFieldAnnotationAndDefault) {
  auto ing = [](json spec, json annotations) {
    return json{{"kind", "Ingress"}, {"metadata", {{"name", "x"}, {"annotations", annotations}}}, {"spec", spec}};
  };
  const ObjectList ours_default = {DefaultClass(true)}, ours_not_default = {DefaultClass(false)};
  const json none = json::object();
  EXPECT_TRUE(OwnsIngress(ing(none, none), ours_default));
  EXPECT_FALSE(OwnsIngress(ing(none, none), ours_not_default));
  EXPECT_FALSE(OwnsIngress(ing(none, none), {}));
  EXPECT_FALSE(OwnsIngress(ing(none, {{"kubernetes.io/ingress.class", "nginx"}}), ours_default));
  EXPECT_TRUE(OwnsIngress(ing(none, {{"kubernetes.io/ingress.class", "haproxy"}}), ours_not_default));
  EXPECT_TRUE(OwnsIngress(ing({{"ingressClassName", "haproxy"}}, none), ours_not_default));
  EXPECT_FALSE(OwnsIngress(ing({{"ingressClassName", "nginx"}}, none), ours_default));
}

// HAProxy refuses a whole configuration over one unreadable certificate: a Secret that does not
// hold a matching PEM pair is the Ingress's problem, and the rest (its routes too) applies.
TEST(ModelBuilderTest, ATlsSecretWithoutAValidPemPairIsAProblemAndLeftOut) {
  const auto pair = testing::SelfSigned("shop.example.com");
  const auto other = testing::SelfSigned("other.example.com");
  if (!pair || !other) GTEST_SKIP() << "the openssl tool cannot make a certificate";
  auto secret = [](const std::string& name, const std::string& crt, const std::string& key) {
    return Obj({{"kind", "Secret"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"data", {{"tls.crt", Base64Encode(crt)}, {"tls.key", Base64Encode(key)}}}});
  };
  ModelInputs in = WebInputs();
  in.secrets = {secret("garbage", "not a certificate", "not a key"), secret("nokey", pair->first, "junk\n"),
                secret("mismatch", pair->first, other->second), secret("good", pair->first, pair->second)};
  auto ingress = [](const std::string& name, const std::string& host, const std::string& secret_name) {
    return Ingress(name, {{"rules", {{{"host", host}, {"http", {{"paths", {Path("/", "Prefix", "web", {{"name", "http"}})}}}}}}},
                          {"tls", {{{"hosts", {host}}, {"secretName", secret_name}}}}});
  };
  in.ingresses = {ingress("a", "a.example.com", "garbage"), ingress("b", "b.example.com", "nokey"),
                  ingress("c", "c.example.com", "mismatch"), ingress("d", "d.example.com", "good")};
  ModelResult r = BuildHaproxyModel(in);
  std::map<std::string, std::string> problems;
  for (const Problem& p : r.problems) problems[SourceName(*p.object)] += p.message + ";";
  EXPECT_EQ(problems["Ingress default/a"], "spec.tls[0].secretName: Secret default/garbage: tls.crt is not a PEM certificate;");
  EXPECT_EQ(problems["Ingress default/b"],
            "spec.tls[0].secretName: Secret default/nokey: tls.key is not a PEM private key (or is encrypted);");
  EXPECT_EQ(problems["Ingress default/c"],
            "spec.tls[0].secretName: Secret default/mismatch: tls.key does not match the certificate in tls.crt;");
  EXPECT_EQ(problems.count("Ingress default/d"), 0u);
  ASSERT_EQ(r.model.ingress.certificates.size(), 1u);
  EXPECT_EQ(r.model.ingress.certificates[0].source, "Secret default/good");
  EXPECT_EQ(r.model.ingress.routes.size(), 4u);  // the routes of the Ingresses at fault still apply
  EXPECT_EQ(r.model.ingress.redirect_hosts, std::vector<std::string>{"d.example.com"});
}

}  // namespace
}  // namespace capstan::controller::haproxy
