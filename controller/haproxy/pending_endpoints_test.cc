#include "controller/haproxy/pending_endpoints.h"

#include <gtest/gtest.h>

#include "controller/endpoints/endpointslice_sync.h"

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;
using Clock = PendingEndpoints::Clock;
using Ptr = std::shared_ptr<const json>;

Ptr Service(const std::string& name, json selector) {
  return std::make_shared<const json>(
      json{{"kind", "Service"},
           {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "svc-" + name}}},
           {"spec", {{"selector", std::move(selector)}, {"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}}}}}}});
}

// A running Pod labelled app=web on node n1, its container port 8080 on host port `host_port`.
json Pod(const std::string& name, bool ready, int host_port) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}, {"labels", {{"app", "web"}}}}},
          {"spec", {{"nodeName", "n1"}, {"containers", {{{"name", "c"}, {"ports", {{{"name", "http"}, {"containerPort", 8080}}}}}}}}},
          {"status",
           {{"phase", "Running"},
            {"hostIP", "127.0.0.1"},
            {"portMappings", {{{"name", "http"}, {"containerPort", 8080}, {"hostPort", host_port}}}},
            {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}

const PendingEndpoints::NodeMap kNodes = {
    {"n1", std::make_shared<const json>(json{{"status", {{"addresses", {{{"type", "InternalIP"}, {"address", "127.0.0.2"}}}}}}})}};

// The slices the EndpointSlice controller writes for `service` over `pods`, named.
ObjectList SlicesOf(const Ptr& service, const std::vector<json>& pods) {
  std::vector<Ptr> pod_ptrs;
  for (const json& p : pods) pod_ptrs.push_back(std::make_shared<const json>(p));
  endpoints::EndpointSlicePlan plan = endpoints::PlanEndpointSlices(*service, pod_ptrs, kNodes, {});
  ObjectList out;
  int n = 0;
  for (json& s : plan.create) {
    s["metadata"]["name"] = (*service)["metadata"]["name"].get<std::string>() + "-" + std::to_string(n++);
    out.push_back(std::make_shared<const json>(std::move(s)));
  }
  return out;
}

// "<pod>@<address>:<port>" -> "ready" | "serving" | "not" for the entries of Service `service`.
std::map<std::string, std::string> Entries(const ObjectList& slices, const std::string& service) {
  std::map<std::string, std::string> out;
  for (const Ptr& s : slices) {
    if ((*s)["metadata"]["labels"].value(endpoints::kServiceNameLabel, "") != service) continue;
    const int port = (*s)["ports"][0]["port"];
    for (const json& e : (*s)["endpoints"]) {
      const json& c = e["conditions"];
      const std::string state = c.value("ready", false) ? "ready" : c.value("serving", false) ? "serving" : "not";
      out[e["targetRef"]["name"].get<std::string>() + "@" + e["addresses"][0].get<std::string>() + ":" + std::to_string(port)] = state;
    }
  }
  return out;
}

TEST(PendingEndpointsTest, APodTurnedReadyIsReadyAheadOfItsSliceUntilTheSliceSaysSo) {
  const Ptr web = Service("web", {{"app", "web"}});
  const json a = Pod("a", true, 30001), b_old = Pod("b", false, 30002), b = Pod("b", true, 30002);
  const ObjectList behind = SlicesOf(web, {a, b_old});
  ASSERT_EQ(Entries(behind, "web")["b@127.0.0.2:30002"], "not");
  PendingEndpoints pending;
  ASSERT_TRUE(PendingEndpoints::MayMoveEndpoint(b_old, b));
  const auto t0 = Clock::now();
  pending.Note(std::make_shared<const json>(b), false, {"default/web"}, t0);

  const ObjectList ahead = pending.Overlay({web}, behind, kNodes, t0);
  const auto got = Entries(ahead, "web");
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"a@127.0.0.2:30001", "ready"}, {"b@127.0.0.2:30002", "ready"}}));
  EXPECT_EQ(pending.size(), 1u) << "still ahead of the slices";
  EXPECT_EQ(Entries(pending.Overlay({web}, behind, kNodes, t0), "web"), got) << "the same on the next pass";

  // The slice writer caught up: the slices pass through as they are, and the Pod is forgotten.
  const ObjectList caught_up = SlicesOf(web, {a, b});
  const ObjectList after = pending.Overlay({web}, caught_up, kNodes, t0);
  ASSERT_EQ(after.size(), caught_up.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i], caught_up[i]);
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingEndpointsTest, ADeletedPodLeavesAheadOfItsSlice) {
  const Ptr web = Service("web", {{"app", "web"}});
  const json a = Pod("a", true, 30001), b = Pod("b", true, 30002);
  const ObjectList behind = SlicesOf(web, {a, b});
  PendingEndpoints pending;
  pending.Note(std::make_shared<const json>(b), true, {"default/web"}, Clock::now());
  EXPECT_EQ(Entries(pending.Overlay({web}, behind, kNodes, Clock::now()), "web"),
            (std::map<std::string, std::string>{{"a@127.0.0.2:30001", "ready"}}));
  pending.Overlay({web}, SlicesOf(web, {a}), kNodes, Clock::now());
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingEndpointsTest, ATerminatingPodServesAheadOfItsSliceAsTheSliceWillSay) {
  const Ptr web = Service("web", {{"app", "web"}});
  const json a = Pod("a", true, 30001);
  json leaving = a;
  leaving["metadata"]["deletionTimestamp"] = "2026-11-24T00:00:00Z";
  ASSERT_TRUE(PendingEndpoints::MayMoveEndpoint(a, leaving));
  PendingEndpoints pending;
  pending.Note(std::make_shared<const json>(leaving), false, {"default/web"}, Clock::now());
  const ObjectList ahead = pending.Overlay({web}, SlicesOf(web, {a}), kNodes, Clock::now());
  EXPECT_EQ(Entries(ahead, "web"), Entries(SlicesOf(web, {leaving}), "web"));
  EXPECT_EQ(Entries(ahead, "web")["a@127.0.0.2:30001"], "serving");
}

TEST(PendingEndpointsTest, ARelabelledPodLeavesTheServiceThatNoLongerSelectsIt) {
  const Ptr web = Service("web", {{"app", "web"}}), canary = Service("canary", {{"app", "canary"}});
  const json a = Pod("a", true, 30001);
  json moved = a;
  moved["metadata"]["labels"]["app"] = "canary";
  ObjectList behind = SlicesOf(web, {a});
  PendingEndpoints pending;
  // Noted with the Service that selects it now: the one it left is found by its slices.
  pending.Note(std::make_shared<const json>(moved), false, {"default/canary"}, Clock::now());
  const ObjectList ahead = pending.Overlay({web, canary}, behind, kNodes, Clock::now());
  EXPECT_TRUE(Entries(ahead, "web").empty());
  EXPECT_EQ(Entries(ahead, "canary"), (std::map<std::string, std::string>{{"a@127.0.0.2:30001", "ready"}}));
}

TEST(PendingEndpointsTest, HandWrittenSlicesOfAServiceWithoutSelectorAreNeverTouched) {
  const Ptr manual = Service("manual", json::object());
  // A slice naming the Pod, without the EndpointSlice controller's managed-by label.
  const json slice = {{"metadata", {{"name", "manual-1"}, {"namespace", "default"}, {"labels", {{endpoints::kServiceNameLabel, "manual"}}}}},
                      {"addressType", "IPv4"},
                      {"ports", {{{"name", "http"}, {"port", 9000}}}},
                      {"endpoints",
                       {{{"addresses", {"127.0.0.1"}}, {"conditions", {{"ready", true}}},
                         {"targetRef", {{"kind", "Pod"}, {"name", "a"}, {"uid", "uid-a"}}}}}}};
  const ObjectList slices = {std::make_shared<const json>(slice)};
  PendingEndpoints pending;
  pending.Note(std::make_shared<const json>(Pod("a", false, 30001)), true, {}, Clock::now());
  const ObjectList got = pending.Overlay({manual}, slices, kNodes, Clock::now());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], slices[0]);
  EXPECT_EQ(pending.size(), 0u) << "no Service with a selector: nothing to run ahead of";
}

TEST(PendingEndpointsTest, ANotedPodIsForgottenAfterMaxAgeEvenIfTheSlicesNeverCatchUp) {
  const Ptr web = Service("web", {{"app", "web"}});
  const ObjectList behind = SlicesOf(web, {Pod("a", false, 30001)});
  PendingEndpoints pending(std::chrono::seconds(5));
  const auto t0 = Clock::now();
  pending.Note(std::make_shared<const json>(Pod("a", true, 30001)), false, {"default/web"}, t0);
  EXPECT_EQ(Entries(pending.Overlay({web}, behind, kNodes, t0 + std::chrono::seconds(4)), "web")["a@127.0.0.2:30001"], "ready");
  const ObjectList later = pending.Overlay({web}, behind, kNodes, t0 + std::chrono::seconds(6));
  EXPECT_EQ(later[0], behind[0]);
  EXPECT_EQ(later.size(), behind.size());
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingEndpointsTest, OnlyChangesThatCanMoveAnEndpointCount) {
  const json a = Pod("a", true, 30001);
  json restarted = a;
  restarted["status"]["containerStatuses"] = {{{"name", "c"}, {"restartCount", 1}}};
  restarted["metadata"]["resourceVersion"] = "9";
  EXPECT_FALSE(PendingEndpoints::MayMoveEndpoint(a, restarted));
  json remapped = a;
  remapped["status"]["portMappings"][0]["hostPort"] = 30009;
  EXPECT_TRUE(PendingEndpoints::MayMoveEndpoint(a, remapped));
  EXPECT_TRUE(PendingEndpoints::MayMoveEndpoint(a, Pod("a", false, 30001)));
  json failed = a;
  failed["status"]["phase"] = "Failed";
  EXPECT_TRUE(PendingEndpoints::MayMoveEndpoint(a, failed));
}

}  // namespace
}  // namespace capstan::controller::haproxy
