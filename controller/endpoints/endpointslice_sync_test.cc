#include "controller/endpoints/endpointslice_sync.h"

#include <gtest/gtest.h>

namespace capstan::controller::endpoints {
namespace {

ObjectPtr Ptr(json j) { return std::make_shared<const json>(std::move(j)); }

json Service(json ports = json::array({{{"name", "http"}, {"port", 80}, {"targetPort", "http"}}})) {
  return {{"apiVersion", "v1"}, {"kind", "Service"},
          {"metadata", {{"name", "web"}, {"namespace", "default"}, {"uid", "svc-uid"}}},
          {"spec", {{"selector", {{"app", "web"}}}, {"ports", ports}}}};
}

// A scheduled Pod serving containerPort 8080 (named http) on `host_port`.
json Pod(const std::string& name, int host_port, bool ready = true, const std::string& node = "node-1") {
  json pod = {{"metadata", {{"name", name}, {"namespace", "default"}, {"uid", name + "-uid"}, {"labels", {{"app", "web"}}}}},
              {"spec", {{"nodeName", node}}},
              {"status",
               {{"phase", "Running"},
                {"conditions", json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})},
                {"portMappings", json::array({{{"container", "app"}, {"name", "http"}, {"containerPort", 8080},
                                               {"hostPort", host_port}, {"protocol", "TCP"}}})}}}};
  return pod;
}

std::map<std::string, ObjectPtr> Nodes() {
  return {{"node-1", Ptr({{"metadata", {{"name", "node-1"}}},
                          {"status", {{"addresses", json::array({{{"type", "Hostname"}, {"address", "node-1"}},
                                                                  {{"type", "InternalIP"}, {"address", "127.0.0.1"}}})}}}})}};
}

// The plan's created slices, as if the API had stored them with these names.
std::vector<ObjectPtr> Stored(const EndpointSlicePlan& plan) {
  std::vector<ObjectPtr> out;
  int n = 0;
  for (json s : plan.create) {
    s["metadata"]["name"] = "web-" + std::to_string(n++);
    s["metadata"]["uid"] = "slice-" + std::to_string(n);
    s["metadata"].erase("generateName");
    out.push_back(Ptr(s));
  }
  return out;
}

TEST(EndpointSliceSyncTest, OneSlicePerPortSetWithConditionsAndOwner) {
  std::vector<ObjectPtr> pods = {Ptr(Pod("web-b", 41002, false)), Ptr(Pod("web-a", 41001)),
                                 Ptr(Pod("other", 41003)), Ptr(Pod("unscheduled", 41004, true, ""))};
  json other = Pod("other", 41003);
  other["metadata"]["labels"]["app"] = "api";
  pods[2] = Ptr(other);
  json terminating = Pod("web-c", 41005);
  terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  pods.push_back(Ptr(terminating));
  json no_port = Pod("web-d", 41006);
  no_port["status"].erase("portMappings");
  pods.push_back(Ptr(no_port));

  EndpointSlicePlan plan = PlanEndpointSlices(Service(), pods, Nodes(), {});
  ASSERT_EQ(plan.create.size(), 3u);  // web-a, web-b, web-c: each Pod has its own host port
  EXPECT_TRUE(plan.update.empty());
  EXPECT_TRUE(plan.remove.empty());
  const json& a = plan.create[0];
  EXPECT_EQ(a["metadata"]["generateName"], "web-");
  EXPECT_EQ(a["metadata"]["labels"][kServiceNameLabel], "web");
  EXPECT_EQ(a["metadata"]["labels"][kManagedByLabel], "endpointslice-controller.capstan.io");
  EXPECT_EQ(a["metadata"]["ownerReferences"][0]["uid"], "svc-uid");
  EXPECT_EQ(a["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(a["addressType"], "IPv4");
  EXPECT_EQ(a["ports"], json::parse(R"([{"name":"http","protocol":"TCP","port":41001}])"));
  ASSERT_EQ(a["endpoints"].size(), 1u);
  EXPECT_EQ(a["endpoints"][0]["addresses"], json::array({"127.0.0.1"}));
  EXPECT_EQ(a["endpoints"][0]["nodeName"], "node-1");
  EXPECT_EQ(a["endpoints"][0]["targetRef"]["name"], "web-a");
  EXPECT_EQ(a["endpoints"][0]["conditions"], json::parse(R"({"ready":true,"serving":true,"terminating":false})"));
  EXPECT_EQ(plan.create[1]["endpoints"][0]["conditions"],
            json::parse(R"({"ready":false,"serving":false,"terminating":false})"));
  EXPECT_EQ(plan.create[2]["endpoints"][0]["conditions"],
            json::parse(R"({"ready":false,"serving":true,"terminating":true})"));

  // Stored as planned, the next sync writes nothing.
  EXPECT_TRUE(PlanEndpointSlices(Service(), pods, Nodes(), Stored(plan)).empty());
}

TEST(EndpointSliceSyncTest, TargetPortByNumberAndSharedPortsPackUpTo100) {
  json svc = Service(json::array({{{"port", 80}, {"targetPort", 8080}}}));
  std::vector<ObjectPtr> pods;
  for (int i = 0; i < 250; ++i) {
    // Fixed host ports (the same on every Pod) let endpoints share a slice.
    char name[16];
    std::snprintf(name, sizeof(name), "web-%03d", i);
    pods.push_back(Ptr(Pod(name, 30000)));
  }
  EndpointSlicePlan plan = PlanEndpointSlices(svc, pods, Nodes(), {});
  ASSERT_EQ(plan.create.size(), 3u);
  EXPECT_EQ(plan.create[0]["endpoints"].size(), 100u);
  EXPECT_EQ(plan.create[1]["endpoints"].size(), 100u);
  EXPECT_EQ(plan.create[2]["endpoints"].size(), 50u);
  EXPECT_EQ(plan.create[0]["ports"][0]["name"], "");
  EXPECT_EQ(plan.create[0]["endpoints"][0]["targetRef"]["name"], "web-000");
  EXPECT_EQ(plan.create[2]["endpoints"][49]["targetRef"]["name"], "web-249");
}

TEST(EndpointSliceSyncTest, ReplacedPodReusesTheSliceAndGoneOnesAreDeleted) {
  std::vector<ObjectPtr> pods = {Ptr(Pod("web-a", 41001)), Ptr(Pod("web-b", 41002))};
  auto existing = Stored(PlanEndpointSlices(Service(), pods, Nodes(), {}));
  ASSERT_EQ(existing.size(), 2u);
  // web-b replaced by web-c (a rolling update): one update, no create or delete.
  pods[1] = Ptr(Pod("web-c", 41003));
  EndpointSlicePlan plan = PlanEndpointSlices(Service(), pods, Nodes(), existing);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_TRUE(plan.remove.empty());
  ASSERT_EQ(plan.update.size(), 1u);
  EXPECT_EQ(plan.update[0]["metadata"]["name"], "web-1");
  EXPECT_EQ(plan.update[0]["ports"][0]["port"], 41003);
  // Scaled to one: the other slice goes.
  plan = PlanEndpointSlices(Service(), {pods[0]}, Nodes(), existing);
  EXPECT_TRUE(plan.create.empty() && plan.update.empty());
  ASSERT_EQ(plan.remove.size(), 1u);
  EXPECT_EQ(plan.remove[0]["metadata"]["name"], "web-1");
  // A Service without a selector keeps no managed slices.
  json no_selector = Service();
  no_selector["spec"].erase("selector");
  EXPECT_EQ(PlanEndpointSlices(no_selector, pods, Nodes(), existing).remove.size(), 2u);
}

TEST(EndpointSliceSyncTest, AddressFallbacksAndPublishNotReady) {
  json svc = Service();
  svc["spec"]["publishNotReadyAddresses"] = true;
  json pod = Pod("web-a", 41001, false, "unknown-node");
  pod["status"]["hostIP"] = "::1";
  EndpointSlicePlan plan = PlanEndpointSlices(svc, {Ptr(pod)}, Nodes(), {});
  ASSERT_EQ(plan.create.size(), 1u);
  EXPECT_EQ(plan.create[0]["addressType"], "IPv6");
  EXPECT_EQ(plan.create[0]["endpoints"][0]["addresses"][0], "::1");
  EXPECT_EQ(plan.create[0]["endpoints"][0]["conditions"]["ready"], true);
  pod["status"].erase("hostIP");
  EXPECT_TRUE(PlanEndpointSlices(svc, {Ptr(pod)}, Nodes(), {}).empty());  // no address at all
  EXPECT_EQ(NodeAddress(*Nodes()["node-1"]), "127.0.0.1");
}

}  // namespace
}  // namespace capstan::controller::endpoints
