// Services end to end with real Pods: `capstan server --driver process` runs a Deployment behind a
// Service; the EndpointSlice controller lists each Pod at the node's address and its allocated
// host port, the containers get the Service's environment variables, and `capstan get` /
// `capstan describe` show it all. Processes are marked with a unique environment variable and
// killed at the end whatever happened.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kService = R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 18080, targetPort: http}
)";

class ServicesProcessTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    marker_ = std::to_string(rd()) + std::to_string(rd());
  }
  void TearDown() override {
    server_.Stop();
    for (pid_t p : MarkedProcesses("CAPSTAN_E2E_MARK=" + marker_)) ::kill(p, SIGKILL);
  }
  std::string Deployment() const {
    json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", "web"}}},
              {"spec",
               {{"replicas", 2},
                {"selector", {{"matchLabels", {{"app", "web"}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", "web"}}}}},
                  {"spec",
                   {{"terminationGracePeriodSeconds", 2},
                    {"containers",
                     {{{"name", "main"},
                       {"image", "none"},
                       {"command", {"/bin/sh", "-c", "echo host=$WEB_SERVICE_HOST port=$WEB_SERVICE_PORT_HTTP; exec sleep 600"}},
                       {"ports", {{{"name", "http"}, {"containerPort", 8080}}}},
                       {"env", {{{"name", "CAPSTAN_E2E_MARK"}, {"value", marker_}}}}}}}}}}}}}};
    return d.dump();
  }
  json List(const std::vector<std::string>& what) {
    std::vector<std::string> args = {"get"};
    args.insert(args.end(), what.begin(), what.end());
    args.insert(args.end(), {"-o", "json"});
    auto r = server_.Capstan(args);
    json list = json::parse(r.out, nullptr, false);
    return list.is_object() ? list.value("items", json::array()) : json::array();
  }

  ServerProcess server_;
  std::string marker_;
};

TEST_F(ServicesProcessTest, EndpointsAndEnvironmentFollowThePods) {
  ASSERT_TRUE(server_.Start({"--driver", "process", "--driver-config",
                             json{{"stateDir", server_.home() + "/driver-state"}}.dump(), "--node-name", "e2e-node"}))
      << server_.log();
  auto r = server_.Capstan({"apply", "-f", "-"}, kService);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = server_.Capstan({"apply", "-f", "-"}, Deployment());
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // Each running Pod's allocated host port, from its status.
  auto host_ports = [&] {
    std::set<std::string> out;
    for (const json& p : List({"pods"})) {
      if (p["status"].value("phase", "") != "Running" || p["metadata"].contains("deletionTimestamp")) continue;
      for (const json& m : p["status"].value("portMappings", json::array())) {
        out.insert("127.0.0.1:" + std::to_string(m.value("hostPort", 0)));
      }
    }
    return out;
  };
  auto ready_endpoints = [&] {
    std::set<std::string> out;
    for (const json& s : List({"endpointslices", "-l", "kubernetes.io/service-name=web"})) {
      for (const json& e : s["endpoints"]) {
        if (e["conditions"].value("ready", false)) {
          out.insert(e["addresses"][0].get<std::string>() + ":" + std::to_string(s["ports"][0].value("port", 0)));
        }
      }
    }
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return host_ports().size() == 2 && ready_endpoints() == host_ports(); }, 60s))
      << ::testing::PrintToString(host_ports()) << " vs " << ::testing::PrintToString(ready_endpoints()) << "\n"
      << server_.log();

  const json pods = List({"pods"});
  ASSERT_FALSE(pods.empty());
  r = server_.Capstan({"logs", pods[0]["metadata"]["name"].get<std::string>()});
  EXPECT_EQ(r.out, "host=127.0.0.1 port=18080\n") << r.err;

  r = server_.Capstan({"get", "svc", "web"});
  EXPECT_NE(r.out.find("127.0.0.1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("18080/TCP"), std::string::npos) << r.out;
  r = server_.Capstan({"describe", "service", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& endpoint : host_ports()) EXPECT_NE(r.out.find(endpoint), std::string::npos) << r.out;

  r = server_.Capstan({"apply", "-f", "-"}, R"({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
      "metadata": {"name": "web"}, "spec": {"rules": [{"host": "web.example.com", "http": {"paths": [
      {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = server_.Capstan({"get", "ingress"});
  for (const std::string col : {"NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE", "web.example.com"}) {
    EXPECT_NE(r.out.find(col), std::string::npos) << col << "\n" << r.out << r.err;
  }

  // Scaled to one: the endpoints follow.
  r = server_.Capstan({"scale", "deployment", "web", "--replicas", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] { return host_ports().size() == 1 && ready_endpoints() == host_ports(); }, 60s))
      << ::testing::PrintToString(ready_endpoints());
}

}  // namespace
}  // namespace capstan::e2e
