#include "controller/haproxy/lb_status.h"

#include <gtest/gtest.h>

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

ServerStat Row(const std::string& backend, const std::string& server, const std::string& status,
               const std::string& address) {
  ServerStat s;
  s.backend = backend;
  s.server = server;
  s.status = status;
  s.address = address;
  s.weight = 1;
  return s;
}

json Web() {
  return json::parse(R"({"kind":"Service","metadata":{"namespace":"default","name":"web"},
    "spec":{"clusterIP":"127.0.0.1","ports":[{"name":"http","port":80,"protocol":"TCP"},{"name":"admin","port":9000}]}})");
}

TEST(LoadBalancerViewTest, FilledSlotsOfTheServicesBackendsOnly) {
  ServerStat up = Row("default_web_80", "s1", "UP", "127.0.0.1:24001");
  up.current_sessions = 3;
  up.check_status = "L7OK";
  up.check_code = 200;
  up.last_change_seconds = 42;
  ServerStat draining = Row("default_web_80", "s2", "DRAIN", "127.0.0.1:24002");
  draining.last_check = "Connection refused";
  const std::vector<ServerStat> stats = {up, draining, Row("default_web_80", "s3", "MAINT", "0.0.0.0:0"),
                                         Row("default_webx_80", "s1", "UP", "127.0.0.1:25000"),
                                         Row("default_web_9000", "s1", "MAINT", "0.0.0.0:0")};
  json view = ServiceLoadBalancerView(Web(), stats);
  ASSERT_EQ(view["backends"].size(), 2u) << view.dump(2);
  const json& http = view["backends"][0];
  EXPECT_EQ(http["name"], "default_web_80");
  EXPECT_EQ(http["port"], 80);
  EXPECT_EQ(http["slots"], 3);
  ASSERT_EQ(http["servers"].size(), 2u);
  EXPECT_EQ(http["servers"][0], json::parse(R"({"name":"s1","address":"127.0.0.1:24001","status":"UP",
    "currentSessions":3,"weight":1,"checkStatus":"L7OK","checkCode":200,"lastChangeSeconds":42})"));
  EXPECT_EQ(http["servers"][1]["status"], "DRAIN");
  EXPECT_EQ(http["servers"][1]["lastCheck"], "Connection refused");
  EXPECT_TRUE(view["backends"][1]["servers"].empty());
  EXPECT_FALSE(view.contains("message"));
}

TEST(LoadBalancerViewTest, NoBackendOrHeadlessSaysWhy) {
  json view = ServiceLoadBalancerView(Web(), {Row("other_web_80", "s1", "UP", "127.0.0.1:1")});
  EXPECT_TRUE(view["backends"].empty());
  EXPECT_NE(view.value("message", "").find("no backend"), std::string::npos) << view.dump();
  json headless = Web();
  headless["spec"]["clusterIP"] = "None";
  view = ServiceLoadBalancerView(headless, {Row("default_web_80", "s1", "UP", "127.0.0.1:1")});
  EXPECT_TRUE(view["backends"].empty());
  EXPECT_NE(view.value("message", "").find("headless"), std::string::npos) << view.dump();
}

TEST(LoadBalancerViewTest, StatusWithoutHaproxyIsAnError) {
  HaproxyLoadBalancerStatus status("/nonexistent/master.sock", std::chrono::milliseconds(200));
  EXPECT_FALSE(status.ServiceStatus(Web()).ok());
}

}  // namespace
}  // namespace capstan::controller::haproxy
