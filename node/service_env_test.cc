#include "node/service_env.h"

#include <gtest/gtest.h>

#include "node/pod_launch.h"

namespace capstan::node {
namespace {

using json = nlohmann::json;

std::shared_ptr<const json> Svc(const std::string& name, const std::string& ip, json ports) {
  return std::make_shared<const json>(
      json{{"metadata", {{"name", name}}}, {"spec", {{"clusterIP", ip}, {"ports", std::move(ports)}}}});
}

TEST(ServiceEnvTest, KubernetesNamesForEveryPort) {
  auto vars = ServiceEnvVars({Svc("web-api", "127.0.0.1",
                                  json::parse(R"([{"name":"http","port":80,"protocol":"TCP"},
                                                  {"name":"admin-ui","port":9090}])")),
                              Svc("headless", "None", json::parse(R"([{"port":80}])")),
                              Svc("db", "::1", json::parse(R"([{"port":5432,"protocol":"TCP"}])"))});
  std::vector<std::pair<std::string, std::string>> want = {
      {"DB_SERVICE_HOST", "::1"},
      {"DB_SERVICE_PORT", "5432"},
      {"DB_PORT", "tcp://[::1]:5432"},
      {"DB_PORT_5432_TCP", "tcp://[::1]:5432"},
      {"DB_PORT_5432_TCP_PROTO", "tcp"},
      {"DB_PORT_5432_TCP_PORT", "5432"},
      {"DB_PORT_5432_TCP_ADDR", "::1"},
      {"WEB_API_SERVICE_HOST", "127.0.0.1"},
      {"WEB_API_SERVICE_PORT", "80"},
      {"WEB_API_SERVICE_PORT_HTTP", "80"},
      {"WEB_API_SERVICE_PORT_ADMIN_UI", "9090"},
      {"WEB_API_PORT", "tcp://127.0.0.1:80"},
      {"WEB_API_PORT_80_TCP", "tcp://127.0.0.1:80"},
      {"WEB_API_PORT_80_TCP_PROTO", "tcp"},
      {"WEB_API_PORT_80_TCP_PORT", "80"},
      {"WEB_API_PORT_80_TCP_ADDR", "127.0.0.1"},
      {"WEB_API_PORT_9090_TCP", "tcp://127.0.0.1:9090"},
      {"WEB_API_PORT_9090_TCP_PROTO", "tcp"},
      {"WEB_API_PORT_9090_TCP_PORT", "9090"},
      {"WEB_API_PORT_9090_TCP_ADDR", "127.0.0.1"},
  };
  EXPECT_EQ(vars, want);
  EXPECT_TRUE(ServiceEnvVars({Svc("noip", "", json::parse(R"([{"port":80}])"))}).empty());
}

std::string EnvOf(const json& c, const std::string& name) {
  for (const json& e : c["env"]) {
    if (e["name"] == name) return e["value"];
  }
  return "<unset>";
}

TEST(ServiceEnvTest, LaunchPodPutsThemFirstAndHonoursEnableServiceLinks) {
  json pod = json::parse(R"j({"metadata": {"name": "p", "namespace": "default"},
    "spec": {"containers": [{"name": "app", "image": "x", "command": ["run", "$(WEB_SERVICE_PORT)"],
                             "env": [{"name": "WEB_SERVICE_HOST", "value": "override"}]}]}})j");
  LaunchContext ctx;
  ctx.services = {Svc("web", "127.0.0.1", json::parse(R"([{"port":8080,"protocol":"TCP"}])"))};
  auto launched = LaunchPod(pod, {}, ctx);
  ASSERT_TRUE(launched.ok()) << launched.status().ToString();
  const json& c = (*launched)["spec"]["containers"][0];
  EXPECT_EQ(EnvOf(c, "WEB_SERVICE_PORT"), "8080");
  EXPECT_EQ(EnvOf(c, "WEB_SERVICE_HOST"), "override");  // the Pod's own env wins
  EXPECT_EQ(c["command"][1], "8080");                    // and $(VAR) sees them
  pod["spec"]["enableServiceLinks"] = false;
  launched = LaunchPod(pod, {}, ctx);
  ASSERT_TRUE(launched.ok());
  EXPECT_EQ(EnvOf((*launched)["spec"]["containers"][0], "WEB_SERVICE_PORT"), "<unset>");
}

}  // namespace
}  // namespace capstan::node
