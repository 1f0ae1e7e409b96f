#include "e2e/workload_scenario.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace capstan::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json Deployment(const EngineAdapter& a, int replicas, bool v2) {
  json env = json::array({json{{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
                          json{{"name", "VERSION"}, {"value", v2 ? "2" : "1"}}});
  for (const auto& [k, v] : a.env) env.push_back({{"name", k}, {"value", v}});
  json command = {a.busybox, "httpd", "-f", "-p", "127.0.0.1:$(PORT)", "-h", a.www};
  if (v2 && a.image_v2.empty()) command.push_back("-v");  // a new command: verbose
  json container = {
      {"name", "web"},
      {"image", v2 && !a.image_v2.empty() ? a.image_v2 : a.image_v1},
      {"command", command},
      {"env", env},
      {"ports", json::array({json{{"name", "http"}, {"containerPort", 8080}}})},
      {"readinessProbe", {{"httpGet", {{"path", "/index.html"}, {"port", "http"}}}, {"periodSeconds", 1}}},
      {"livenessProbe",
       {{"exec", {{"command", {a.busybox, "sh", "-c", "test ! -e " + a.www + "/dead-$POD_NAME"}}}},
        {"periodSeconds", 1},
        {"failureThreshold", 2}}},
      {"volumeMounts", json::array({json{{"name", "www"}, {"mountPath", a.www}}})}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec",
               {{"terminationGracePeriodSeconds", 2},
                {"containers", json::array({container})},
                {"volumes", json::array({json{{"name", "www"}, {"hostPath", {{"path", a.www}}}}})}}}}}}}};
}

struct Observed {
  std::vector<json> pods;  // not being deleted
  size_t all = 0;          // with those being deleted
  int ready = 0;
  int restarts = 0;
};

Observed Observe(ServerProcess& server) {
  Observed o;
  auto r = server.Capstan({"get", "pods", "-o", "json"});
  json list = r.exit_code == 0 ? json::parse(r.out, nullptr, false) : json();
  if (!list.is_object()) return o;
  for (const json& p : list.value("items", json::array())) {
    ++o.all;
    if (!p["metadata"].value("deletionTimestamp", "").empty()) continue;
    o.pods.push_back(p);
    for (const json& c : p["status"].value("conditions", json::array())) {
      if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ++o.ready;
    }
    for (const json& cs : p["status"].value("containerStatuses", json::array())) o.restarts += cs.value("restartCount", 0);
  }
  return o;
}

// Every listed pod answers on the host port its status records.
bool AllAnswer(const Observed& o) {
  for (const json& p : o.pods) {
    const json& mappings = p["status"].value("portMappings", json::array());
    if (mappings.empty()) return false;
    httplib::Client cli("127.0.0.1", mappings[0].value("hostPort", 0));
    cli.set_connection_timeout(2, 0);
    cli.set_read_timeout(2, 0);
    auto res = cli.Get("/index.html");
    if (!res || res->status != 200 || res->body.find("capstan e2e") == std::string::npos) return false;
  }
  return true;
}

std::string Describe(ServerProcess& server, const EngineAdapter& a) {
  Observed o = Observe(server);
  std::string s = std::to_string(o.pods.size()) + " pods, " + std::to_string(o.ready) + " ready, " +
                  std::to_string(a.workloads().size()) + " workloads in " + a.name + "\n";
  for (const json& p : o.pods) s += p["metadata"].value("name", "") + " " + p["status"].dump() + "\n";
  return s + "--- server log (tail) ---\n" + server.log().substr(server.log().size() > 6000 ? server.log().size() - 6000 : 0);
}

bool Settled(ServerProcess& server, const EngineAdapter& a, size_t n) {
  Observed o = Observe(server);
  return o.pods.size() == n && o.ready == static_cast<int>(n) && a.workloads().size() == n && AllAnswer(o);
}

}  // namespace

void RunWorkloadScenario(ServerProcess& server, const EngineAdapter& a) {
  std::filesystem::create_directories(a.www);
  std::ofstream(a.www + "/index.html") << "capstan e2e\n";
  auto apply = [&](int replicas, bool v2) {
    auto r = server.Capstan({"apply", "-f", "-"}, Deployment(a, replicas, v2).dump());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };

  // 1. Three replicas, each answering on its own allocated port once ready.
  ASSERT_NO_FATAL_FAILURE(apply(3, false));
  ASSERT_TRUE(WaitFor([&] { return Settled(server, a, 3); }, 90s)) << Describe(server, a);
  std::set<int> ports;
  for (const json& p : Observe(server).pods) ports.insert(p["status"]["portMappings"][0]["hostPort"].get<int>());
  EXPECT_EQ(ports.size(), 3u) << "each replica has its own host port";

  // 2. Killed from outside the engine: restarted, restartCount counts it.
  const std::set<std::string> before = a.workloads();
  ASSERT_FALSE(before.empty());
  ASSERT_TRUE(a.kill(*before.begin()));
  ASSERT_TRUE(WaitFor([&] { return Observe(server).restarts >= 1 && Settled(server, a, 3); }, 90s))
      << Describe(server, a);
  EXPECT_EQ(a.workloads().count(*before.begin()), 0u) << "the killed workload was replaced";

  // 3. A liveness probe that starts failing: that pod is restarted.
  {
    Observed o = Observe(server);
    const std::string victim = o.pods[0]["metadata"]["name"];
    const int restarts = o.pods[0]["status"]["containerStatuses"][0].value("restartCount", 0);
    std::ofstream(a.www + "/dead-" + victim) << "x";
    const bool restarted = WaitFor([&] {
      for (const json& p : Observe(server).pods) {
        if (p["metadata"]["name"] == victim) return p["status"]["containerStatuses"][0].value("restartCount", 0) > restarts;
      }
      return false;
    }, 60s);
    std::filesystem::remove(a.www + "/dead-" + victim);
    ASSERT_TRUE(restarted) << Describe(server, a);
    ASSERT_TRUE(WaitFor([&] { return Settled(server, a, 3); }, 90s)) << Describe(server, a);
  }

  // 4. Scale to 5 and to 1 (and back to 3 for the rollout).
  for (int n : {5, 1, 3}) {
    auto r = server.Capstan({"scale", "deployment", "web", "--replicas", std::to_string(n)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_TRUE(WaitFor([&] { return Settled(server, a, static_cast<size_t>(n)); }, 90s))
        << "scaled to " << n << ": " << Describe(server, a);
  }

  // 5. A rolling update, with the server killed -9 in the middle of it.
  ASSERT_NO_FATAL_FAILURE(apply(3, true));
  std::this_thread::sleep_for(1500ms);
  server.Stop(SIGKILL);
  ASSERT_TRUE(server.Start(a.server_flags)) << server.log();
  auto on_v2 = [&] {
    Observed o = Observe(server);
    for (const json& p : o.pods) {
      for (const json& e : p["spec"]["containers"][0]["env"]) {
        if (e.value("name", "") == "VERSION" && e.value("value", "") != "2") return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(WaitFor([&] { return on_v2() && Settled(server, a, 3); }, 120s)) << Describe(server, a);
  std::this_thread::sleep_for(2s);  // time to (wrongly) start anything twice
  EXPECT_EQ(a.workloads().size(), 3u) << "no duplicates and no orphans after the restart\n" << Describe(server, a);

  // 6. Deleted: nothing of ours left in the engine.
  auto r = server.Capstan({"delete", "deployment", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Gone for good: the agent deletes a Pod only once its run is removed from the engine.
  EXPECT_TRUE(WaitFor([&] { return Observe(server).all == 0 && a.workloads().empty(); }, 90s))
      << Describe(server, a);
}

}  // namespace capstan::e2e
