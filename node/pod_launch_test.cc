#include "node/pod_launch.h"

#include <gtest/gtest.h>

namespace capstan::node {
namespace {

using json = nlohmann::json;

json TwoContainerPod() {
  return json::parse(R"json({
    "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "labels": {"app": "web"}},
    "spec": {"nodeName": "n1", "containers": [
      {"name": "app", "image": "busybox:1",
       "command": ["httpd", "-p", "$(PORT)", "-x", "$$(PORT)", "$(NOPE)"],
       "args": ["--metrics=$(CAPSTAN_PORT_METRICS)"],
       "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090},
                 {"containerPort": 53, "hostPort": 5353, "protocol": "UDP"}],
       "env": [{"name": "GREETING", "value": "hello on $(PORT)"},
               {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
               {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
               {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
               {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}}},
               {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "token"}}},
               {"name": "MAYBE", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "x", "optional": true}}}],
       "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}]},
      {"name": "sidecar", "image": "busybox:1", "ports": [{"name": "admin", "containerPort": 7000}]}]}})json");
}

Result<json> Lookup(const std::string& kind, const std::string& name, const std::string& key) {
  json data;
  if (kind == "ConfigMap" && name == "cfg") data = {{"level", "debug"}, {"mode", "fast"}};
  if (kind == "Secret" && name == "sec") data = {{"token", "s3cret"}};
  if (data.is_null()) return Status::NotFound(kind + " " + name + " not found");
  if (key.empty()) return data;
  if (!data.contains(key)) return Status::NotFound("no key " + key);
  return data[key];
}

std::string EnvOf(const json& c, const std::string& name) {
  for (const json& e : c["env"]) {
    if (e["name"] == name) return e["value"];
  }
  return "<unset>";
}

TEST(PodLaunchTest, MapsPortsInOrderAndKeepsGivenHostPorts) {
  json pod = TwoContainerPod();
  EXPECT_EQ(PortsToAllocate(pod), 3u);
  EXPECT_FALSE(MapPorts(pod, {20000}).ok()) << "too few ports";
  auto ports = MapPorts(pod, {20000, 20001, 20002});
  ASSERT_TRUE(ports.ok());
  ASSERT_EQ(ports->size(), 4u);
  EXPECT_EQ((*ports)[0].host_port, 20000);
  EXPECT_EQ((*ports)[1].host_port, 20001);
  EXPECT_EQ((*ports)[2].host_port, 5353);
  EXPECT_EQ((*ports)[2].protocol, "UDP");
  EXPECT_EQ((*ports)[3].container, "sidecar");
  EXPECT_EQ((*ports)[3].host_port, 20002);

  json status_pod = {{"status", {{"portMappings", PortMappingsJson(*ports)}}}};
  auto back = PortMappingsFromStatus(status_pod);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[1].name, "metrics");
  EXPECT_EQ(back[3].host_port, 20002);

  EXPECT_EQ(HostPortFor(*ports, "app", "http"), 20000);
  EXPECT_EQ(HostPortFor(*ports, "app", 9090), 20001);
  EXPECT_EQ(HostPortFor(*ports, "app", "admin"), 20002) << "a neighbour's named port";
  EXPECT_EQ(HostPortFor(*ports, "app", 1234), 1234) << "an undeclared number is a host port";
  EXPECT_EQ(HostPortFor(*ports, "app", "8080"), 20000);
  EXPECT_EQ(HostPortFor(*ports, "app", "nope"), std::nullopt);
}

TEST(PodLaunchTest, ResolvesTheEnvironmentAndExpandsReferences) {
  json pod = TwoContainerPod();
  auto ports = MapPorts(pod, {20000, 20001, 20002});
  ASSERT_TRUE(ports.ok());
  auto launched = LaunchPod(pod, *ports, LaunchContext{"127.0.0.1", Lookup});
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  const json& app = (*launched)["spec"]["containers"][0];
  EXPECT_EQ(EnvOf(app, "PORT"), "20000");
  EXPECT_EQ(EnvOf(app, "CAPSTAN_PORT_HTTP"), "20000");
  EXPECT_EQ(EnvOf(app, "CAPSTAN_PORT_METRICS"), "20001");
  EXPECT_EQ(EnvOf(app, "CAPSTAN_PORT_ADMIN"), "20002");
  EXPECT_EQ(EnvOf(app, "GREETING"), "hello on 20000");
  EXPECT_EQ(EnvOf(app, "POD"), "web-1");
  EXPECT_EQ(EnvOf(app, "APP"), "web");
  EXPECT_EQ(EnvOf(app, "IP"), "127.0.0.1");
  EXPECT_EQ(EnvOf(app, "LEVEL"), "debug");
  EXPECT_EQ(EnvOf(app, "TOKEN"), "s3cret");
  EXPECT_EQ(EnvOf(app, "CFG_mode"), "fast") << "keys as written, after the prefix";
  EXPECT_EQ(EnvOf(app, "MAYBE"), "<unset>") << "an optional missing reference is skipped";
  EXPECT_EQ(app["command"], json({"httpd", "-p", "20000", "-x", "$(PORT)", "$(NOPE)"}));
  EXPECT_EQ(app["args"], json({"--metrics=20001"}));
  EXPECT_EQ(app["ports"][0]["hostPort"], 20000);
  EXPECT_EQ(app["ports"][2]["hostPort"], 5353);
  EXPECT_FALSE(app.contains("envFrom"));
  const json& sidecar = (*launched)["spec"]["containers"][1];
  EXPECT_EQ(EnvOf(sidecar, "PORT"), "20002") << "each container's own first port";
  EXPECT_EQ(pod["spec"]["containers"][0]["command"][2], "$(PORT)") << "the input is not changed";
}

TEST(PodLaunchTest, AMissingReferenceNamesTheContainerAndVariable) {
  json pod = TwoContainerPod();
  pod["spec"]["containers"][0]["env"].push_back(
      {{"name", "DB"}, {"valueFrom", {{"secretKeyRef", {{"name", "db"}, {"key", "password"}}}}}});
  auto launched = LaunchPod(pod, {}, LaunchContext{"127.0.0.1", Lookup});
  ASSERT_FALSE(launched.ok());
  EXPECT_TRUE(launched.status().IsNotFound());
  EXPECT_NE(launched.status().message().find("container app: env DB"), std::string::npos) << launched.status().message();
}

TEST(PodLaunchTest, ExpandVarsFollowsKubernetesRules) {
  auto lookup = [](const std::string& n) -> std::optional<std::string> {
    if (n == "A") return "1";
    return std::nullopt;
  };
  EXPECT_EQ(ExpandVars("$(A)-$(B)-$$(A)-$$-$-$(A", lookup), "1-$(B)-$(A)-$-$-$(A");
  EXPECT_EQ(ExpandVars("", lookup), "");
  EXPECT_EQ(ExpandVars("$", lookup), "$");
}

}  // namespace
}  // namespace capstan::node
