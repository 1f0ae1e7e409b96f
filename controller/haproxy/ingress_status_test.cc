#include "controller/haproxy/ingress_status.h"

#include <gtest/gtest.h>

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

std::shared_ptr<const json> Ingress(const std::string& name, const json& status = json::object()) {
  return std::make_shared<const json>(json{{"kind", "Ingress"},
                                           {"metadata", {{"namespace", "default"}, {"name", name}}},
                                           {"status", status}});
}

TEST(IngressStatusTest, ServedIngressesGetTheAddressOthersLoseOnlyOurs) {
  IngressModel served;
  Route main;
  main.source = "Ingress default/main";
  main.canary_source = "Ingress default/canary";
  served.routes.push_back(main);
  served.default_source = "Ingress default/fallback";
  const json ours = {{"loadBalancer", {{"ingress", json::array({{{"ip", "127.0.0.1"}}})}}}};
  const json theirs = {{"loadBalancer", {{"ingress", json::array({{{"ip", "10.0.0.9"}}})}}}};
  const ObjectList ingresses = {Ingress("main"), Ingress("canary", ours), Ingress("fallback", theirs),
                                Ingress("gone", ours), Ingress("foreign", theirs), Ingress("plain")};
  std::vector<StatusPatch> patches = IngressStatusPatches(ingresses, served, "127.0.0.1");
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(patches[0].path, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/main/status");
  EXPECT_EQ(patches[0].body, json({{"status", ours}}));
  EXPECT_EQ(patches[1].path, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/fallback/status");
  EXPECT_EQ(patches[2].path, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/gone/status");
  EXPECT_EQ(patches[2].body, json::parse(R"({"status":{"loadBalancer":{"ingress":null}}})"));
}

}  // namespace
}  // namespace capstan::controller::haproxy
