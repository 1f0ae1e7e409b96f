#include "cli/describe_printer.h"

#include <gtest/gtest.h>

#include "cli/printers.h"

namespace capstan::cli {
namespace {

using nlohmann::json;

std::time_t At(const std::string& timestamp) {
  int64_t t = 0;
  EXPECT_TRUE(ParseTimestamp(timestamp, &t));
  return static_cast<std::time_t>(t);
}

const char* kDeployment = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "uid": "u1",
               "creationTimestamp": "2024-01-02T15:04:05Z",
               "labels": {"app": "web", "tier": "fe"},
               "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "core"}},
  "spec": {"replicas": 3, "minReadySeconds": 5, "selector": {"matchLabels": {"app": "web"}},
           "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                                "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}},
  "status": {"replicas": 3, "availableReplicas": 3,
             "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                             "message": "Deployment has minimum availability."}]}
})";

TEST(DescribePrinterTest, KubectlSectionsInOrder) {
  json events = json::array({
      json::parse(R"({"type":"Normal","reason":"ScalingReplicaSet","message":"Scaled up replica set web-1 to 3",
                      "source":{"component":"deployment-controller"},"count":2,
                      "firstTimestamp":"2024-01-02T15:04:05Z","lastTimestamp":"2024-01-02T15:09:05Z"})")});
  std::string text = DescribeObject(json::parse(kDeployment), {events[0]}, At("2024-01-02T15:14:05Z"));
  // Header block, aligned on one column.
  EXPECT_NE(text.find("Name:               web\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Namespace:          default\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Labels:             app=web\n                    tier=fe\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Annotations:        team: core\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("last-applied-configuration"), std::string::npos) << "kubectl hides it";
  EXPECT_NE(text.find("CreationTimestamp:  Tue, 02 Jan 2024 15:04:05 +0000\n"), std::string::npos) << text;
  // Spec fields, readable.
  EXPECT_NE(text.find("Min Ready Seconds:"), std::string::npos) << text;
  EXPECT_NE(text.find("Selector:\n  Match Labels:  app=web\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Status:\n  Available Replicas:  3\n  Replicas:            3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      nginx:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Image:  nginx:1.25"), std::string::npos) << text;
  EXPECT_NE(text.find("- containerPort=80, protocol=TCP"), std::string::npos) << text;
  // Conditions and events tables.
  EXPECT_NE(text.find("Conditions:\n  Type        Status   Reason                     Message\n"
                      "  ----        ------   ------                     -------\n"
                      "  Available   True     MinimumReplicasAvailable   Deployment has minimum availability.\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  Normal   ScalingReplicaSet   5m (x2 over 10m)   deployment-controller   Scaled up replica set web-1 to 3\n"),
            std::string::npos)
      << text;
  EXPECT_LT(text.find("Name:"), text.find("Conditions:"));
  EXPECT_LT(text.find("Conditions:"), text.find("Events:"));
}

TEST(DescribePrinterTest, NoEventsSaysNone) {
  std::string text = DescribeObject(json::parse(R"({"kind":"Namespace","metadata":{"name":"prod"}})"), {}, 0);
  EXPECT_NE(text.find("Labels:"), std::string::npos);
  EXPECT_NE(text.find("<none>"), std::string::npos);
  EXPECT_EQ(text.substr(text.rfind("Events:")), "Events:             <none>\n");
}

TEST(DescribePrinterTest, SecretValuesAreNotShown) {
  std::string text = DescribeObject(
      json::parse(R"({"kind":"Secret","metadata":{"name":"s"},"type":"Opaque","data":{"password":"c2VjcmV0MTI="}})"), {}, 0);
  EXPECT_EQ(text.find("c2VjcmV0MTI="), std::string::npos) << text;
  EXPECT_NE(text.find("password:  8 bytes"), std::string::npos) << text;
}

TEST(DescribePrinterTest, ServiceEndpointsFromItsSlices) {
  json slice = json::parse(R"({"kind":"EndpointSlice","addressType":"IPv4",
    "endpoints":[{"addresses":["127.0.0.1"],"conditions":{"ready":true,"serving":true,"terminating":false},
                  "nodeName":"node-1","targetRef":{"kind":"Pod","name":"web-1"}}],
    "ports":[{"name":"http","port":41001,"protocol":"TCP"}]})");
  json terminating = slice;
  terminating["endpoints"][0]["conditions"] = {{"ready", false}, {"serving", true}, {"terminating", true}};
  terminating["endpoints"][0]["targetRef"]["name"] = "web-2";
  terminating["ports"][0]["port"] = 41002;
  json svc = json::parse(R"({"kind":"Service","metadata":{"name":"web"},"spec":{"type":"ClusterIP"}})");
  std::string text = DescribeObject(svc, {}, 0, {ServiceEndpointsTable({slice, terminating})});
  EXPECT_NE(text.find("127.0.0.1:41001   http   true    true      false         node-1   web-1"), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.1:41002   http   false   true      true          node-1   web-2"), std::string::npos) << text;
  EXPECT_LT(text.find("Endpoints:"), text.find("Events:"));
  text = DescribeObject(svc, {}, 0, {ServiceEndpointsTable({})});
  EXPECT_NE(text.find("Endpoints:          <none>"), std::string::npos) << text;
}

TEST(DescribePrinterTest, ServiceLoadBalancerServers) {
  json status = json::parse(R"({"kind":"ServiceLoadBalancerStatus","enabled":true,"backends":[
    {"name":"default_web_80","port":80,"slots":8,"servers":[
      {"name":"s1","address":"127.0.0.1:24001","status":"UP","currentSessions":2,"weight":1,"checkStatus":"L7OK",
       "checkCode":200,"lastChangeSeconds":75},
      {"name":"s2","address":"127.0.0.1:24002","status":"DRAIN","currentSessions":0,"weight":1,"checkStatus":"L4CON"}]}]})");
  json svc = json::parse(R"({"kind":"Service","metadata":{"name":"web"},"spec":{"type":"ClusterIP"}})");
  std::string text = DescribeObject(svc, {}, 0, {ServiceLoadBalancerTable(status)});
  EXPECT_NE(text.find("HAProxy Servers:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("80     s1       127.0.0.1:24001   UP       2          L7OK 200   75s ago"), std::string::npos) << text;
  EXPECT_NE(text.find("80     s2       127.0.0.1:24002   DRAIN    0          L4CON      -"), std::string::npos) << text;
  json off = {{"enabled", false}, {"backends", json::array()}, {"message", "this server runs no load balancer"}};
  text = DescribeObject(svc, {}, 0, {ServiceLoadBalancerTable(off)});
  EXPECT_NE(text.find("HAProxy Servers:    <none> (this server runs no load balancer)"), std::string::npos) << text;
}

TEST(DescribePrinterTest, TitleCase) {
  EXPECT_EQ(TitleCase("minReadySeconds"), "Min Ready Seconds");
  EXPECT_EQ(TitleCase("podIP"), "Pod IP");
  EXPECT_EQ(TitleCase("hostIPs"), "Host IPs");
  EXPECT_EQ(TitleCase("replicas"), "Replicas");
}

}  // namespace
}  // namespace capstan::cli
