#include "controller/haproxy/probe_checks.h"

#include <gtest/gtest.h>

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

std::shared_ptr<const json> Service(const std::string& name, json selector) {
  return std::make_shared<const json>(json{{"kind", "Service"},
                                           {"metadata", {{"name", name}, {"namespace", "default"}}},
                                           {"spec", {{"selector", std::move(selector)}}}});
}

// A Pod labelled app=web with an httpGet readinessProbe on /health of port 8080 (period 1 s).
json Pod(const std::string& name, const std::string& ready) {
  json pod = {{"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}, {"labels", {{"app", "web"}}}}},
              {"spec",
               {{"containers",
                 {{{"name", "c"},
                   {"ports", {{{"name", "http"}, {"containerPort", 8080}}}},
                   {"readinessProbe", {{"periodSeconds", 1}, {"httpGet", {{"path", "/health"}, {"port", 8080}}}}}}}}}},
              {"status", json::object()}};
  if (!ready.empty()) pod["status"]["conditions"] = {{{"type", "Ready"}, {"status", ready}}};
  return pod;
}

// Every Pod is an endpoint of Service "web" (one slice, the Pods in reverse order: the order of
// a slice says nothing) and of nothing else.
ProbeChecks For(const ObjectList& services, const std::vector<json>& pods) {
  std::map<std::string, std::shared_ptr<const json>> by_key;
  json endpoints = json::array();
  for (auto it = pods.rbegin(); it != pods.rend(); ++it) {
    const std::string name = (*it)["metadata"]["name"];
    by_key["default/" + name] = std::make_shared<const json>(*it);
    endpoints.push_back({{"addresses", {"127.0.0.1"}}, {"targetRef", {{"kind", "Pod"}, {"namespace", "default"}, {"name", name}}}});
  }
  endpoints.push_back({{"addresses", {"127.0.0.1"}}, {"targetRef", {{"kind", "Pod"}, {"name", "gone"}}}});
  const ObjectList slices = {std::make_shared<const json>(
      json{{"metadata", {{"name", "web-abc"}, {"namespace", "default"}, {"labels", {{"kubernetes.io/service-name", "web"}}}}},
           {"endpoints", endpoints}})};
  return ProbeChecksFor(services, slices, [&](const std::string& key) -> std::shared_ptr<const json> {
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  });
}

TEST(ProbeChecksTest, ReadyPodsWhoseOwnProbeIsTheChecksPassedIt) {
  json terminating = Pod("d", "True");
  terminating["metadata"]["deletionTimestamp"] = "2026-11-24T00:00:00Z";
  json other_host = Pod("e", "True");
  other_host["spec"]["containers"][0]["readinessProbe"]["httpGet"]["host"] = "10.0.0.9";
  json other_path = Pod("f", "True");
  other_path["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/other";
  json unselected = Pod("g", "True");
  unselected["metadata"]["labels"]["app"] = "db";
  const ProbeChecks got = For({Service("web", {{"app", "web"}})},
                              {Pod("a", "True"), Pod("b", "False"), Pod("c", ""), terminating, other_host, other_path, unselected});
  ASSERT_EQ(got.checks.count("default/web"), 1u);
  const HealthCheck& check = got.checks.at("default/web");
  EXPECT_TRUE(check.http);
  EXPECT_EQ(check.path, "/health");
  EXPECT_EQ(check.probe_port, 8080);
  EXPECT_EQ(check.interval_ms, 200);
  // Not b (Ready False), c (no Ready yet), d (terminating), e (probed elsewhere), f (another
  // check than the Service's), g (not selected).
  EXPECT_EQ(got.passed.at("default/web"), std::set<std::string>{"uid-a"});
}

TEST(ProbeChecksTest, TheFirstPodWithAProbeSetsTheCheck) {
  json first = Pod("a", "False");
  first["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/ready";
  const ProbeChecks got = For({Service("web", {{"app", "web"}})}, {first, Pod("b", "True")});
  EXPECT_EQ(got.checks.at("default/web").path, "/ready");
  EXPECT_EQ(got.passed.count("default/web"), 0u);  // b's probe is another check
}

TEST(ProbeChecksTest, ServicesWithoutSelectorsOrProbesGetNothing) {
  json no_probe = Pod("a", "True");
  no_probe["spec"]["containers"][0].erase("readinessProbe");
  EXPECT_TRUE(For({Service("web", {{"app", "web"}})}, {no_probe}).checks.empty());
  EXPECT_TRUE(For({Service("web", json::object())}, {Pod("a", "True")}).checks.empty());  // no selector: manual slices
  EXPECT_TRUE(For({Service("other", {{"app", "web"}})}, {Pod("a", "True")}).checks.empty());  // not its slices
  const auto no_spec = std::make_shared<const json>(json{{"metadata", {{"name", "web"}, {"namespace", "default"}}}});
  EXPECT_TRUE(For({no_spec}, {Pod("a", "True")}).checks.empty());
}

TEST(ProbeChecksTest, PassedItsOwnProbeNeedsReadyTrue) {
  EXPECT_TRUE(PassedItsOwnProbe(Pod("a", "True")));
  EXPECT_FALSE(PassedItsOwnProbe(Pod("a", "False")));
  EXPECT_FALSE(PassedItsOwnProbe(Pod("a", "")));
  EXPECT_FALSE(PassedItsOwnProbe(json::object()));
  EXPECT_FALSE(PassedItsOwnProbe(json::array()));  // malformed input never throws
}

}  // namespace
}  // namespace capstan::controller::haproxy
