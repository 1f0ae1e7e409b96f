// Service admission over a real ResourceService and RocksStore: clusterIP, nodePort allocation
// and range, LoadBalancer status, listener claims (conflicts, release, races), the default
// IngressClass.
#include "api/service_admission.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/object_meta.h"

namespace capstan::api {
namespace {

class ServiceAdmissionTest : public testing::ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    options_.node_port_min = 30000;
    options_.node_port_max = 30009;
    service_->AddAdmissionPlugin(NewServiceAdmission(options_));
  }

  const KindInfo& Services() { return Kind("", "services"); }

  static json Service(const std::string& name, const std::string& type, std::vector<int> ports) {
    json s = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", name}}},
              {"spec", {{"type", type}, {"selector", {{"app", name}}}, {"ports", json::array()}}}};
    for (size_t i = 0; i < ports.size(); ++i) {
      s["spec"]["ports"].push_back({{"name", "p" + std::to_string(i)}, {"port", ports[i]}});
    }
    return s;
  }

  Result<json> Create(const json& s, const std::string& ns = "default") {
    return service_->Create(Services(), ns, s, WriteOptions{});
  }

  // The first cause of a 422.

  ServiceNetworkOptions options_;
};

TEST_F(ServiceAdmissionTest, ClusterIpIsTheServiceAddress) {
  auto out = Create(Service("web", "ClusterIP", {80}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["spec"]["clusterIP"], "127.0.0.1");
  EXPECT_EQ((*out)["spec"]["clusterIPs"], json::array({"127.0.0.1"}));
  EXPECT_EQ((*out)["spec"]["ipFamilies"], json::array({"IPv4"}));
  EXPECT_FALSE((*out)["spec"]["ports"][0].contains("nodePort"));
  EXPECT_EQ((*out)["status"]["loadBalancer"], json::object());

  json other = Service("other", "ClusterIP", {81});
  other["spec"]["clusterIP"] = "10.0.0.1";
  auto refused = Create(other);
  ASSERT_EQ(refused.status().code(), Code::kInvalid);
  EXPECT_NE(refused.status().ToString().find("spec.clusterIP"), std::string::npos) << refused.status().ToString();

  json headless = Service("headless", "ClusterIP", {80});
  headless["spec"]["clusterIP"] = "None";
  auto h = Create(headless);
  ASSERT_TRUE(h.ok()) << h.status().ToString();  // no listener, so port 80 is no conflict
  EXPECT_EQ((*h)["spec"]["clusterIP"], "None");
}

TEST_F(ServiceAdmissionTest, NodePortsAllocatedKeptAndRangeChecked) {
  auto out = Create(Service("np", "NodePort", {80, 81}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  int64_t a = (*out)["spec"]["ports"][0]["nodePort"];
  int64_t b = (*out)["spec"]["ports"][1]["nodePort"];
  EXPECT_GE(a, 30000);
  EXPECT_LE(a, 30009);
  EXPECT_GE(b, 30000);
  EXPECT_NE(a, b);
  EXPECT_EQ((*out)["spec"]["externalTrafficPolicy"], "Cluster");

  // An update without nodePorts (a PUT of the user's manifest) keeps them.
  json next = Service("np", "NodePort", {80, 81});
  next["spec"]["clusterIP"] = "127.0.0.1";
  auto updated = service_->Update(Services(), "default", "np", "", next, WriteOptions{});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*updated)["spec"]["ports"][0]["nodePort"], a);
  EXPECT_EQ((*updated)["spec"]["ports"][1]["nodePort"], b);

  // Back to ClusterIP with the allocated nodePorts still in the body (kubectl apply patches the
  // type only): they are dropped, as Kubernetes does.
  json back = *updated;
  back["spec"]["type"] = "ClusterIP";
  ASSERT_TRUE(back["spec"].contains("externalTrafficPolicy"));  // the NodePort's default, kept by the patch
  auto cluster = service_->Update(Services(), "default", "np", "", back, WriteOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_FALSE((*cluster)["spec"]["ports"][0].contains("nodePort"));
  EXPECT_FALSE((*cluster)["spec"].contains("externalTrafficPolicy"));

  // A PUT without spec.clusterIP (kubectl replace of the original manifest) keeps the address.
  json replaced = Service("np", "ClusterIP", {80, 81});
  replaced["spec"].erase("clusterIP");
  auto kept = service_->Update(Services(), "default", "np", "", replaced, WriteOptions{});
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ((*kept)["spec"]["clusterIP"], "127.0.0.1");
  json sneaky = *cluster;
  sneaky["spec"]["ports"][0]["nodePort"] = 30005;  // a new one on a ClusterIP Service: refused
  EXPECT_EQ(service_->Update(Services(), "default", "np", "", sneaky, WriteOptions{}).status().code(), Code::kInvalid);

  json outside = Service("outside", "NodePort", {80});
  outside["spec"]["ports"][0]["nodePort"] = 31000;
  auto refused = Create(outside);
  ASSERT_EQ(refused.status().code(), Code::kInvalid);
  const std::string text = refused.status().ToString();
  EXPECT_NE(text.find("spec.ports[0].nodePort"), std::string::npos) << text;
  EXPECT_NE(text.find("30000-30009"), std::string::npos) << text;

  // The range holds 10 and none is in use any more (np is a ClusterIP Service now): 10 fit, the
  // 11th is refused.
  for (int i = 0; i < 10; ++i) {
    json s = Service("fill" + std::to_string(i), "NodePort", {1000 + i});
    ASSERT_TRUE(Create(s).ok()) << i;
  }
  auto full = Create(Service("full", "NodePort", {2000}));
  ASSERT_EQ(full.status().code(), Code::kInvalid);
  EXPECT_NE(full.status().ToString().find("is full"), std::string::npos) << full.status().ToString();
}

TEST_F(ServiceAdmissionTest, TakenListenerIsRefusedNamingTheField) {
  ASSERT_TRUE(Create(Service("web", "ClusterIP", {8080})).ok());
  auto refused = Create(Service("copy", "ClusterIP", {9090, 8080}));
  ASSERT_EQ(refused.status().code(), Code::kInvalid);
  std::string text = refused.status().ToString();
  EXPECT_NE(text.find("spec.ports[1].port"), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.1:8080 is already used by Service default/web"), std::string::npos) << text;
  // Another namespace shares the listener space too.
  ASSERT_TRUE(CreateNamespace("team").ok());
  EXPECT_EQ(Create(Service("copy", "ClusterIP", {8080}), "team").status().code(), Code::kInvalid);

  // The Ingress ports on the public address are not for Services.
  auto lb = Create(Service("lb", "LoadBalancer", {443}));
  ASSERT_EQ(lb.status().code(), Code::kInvalid);
  EXPECT_NE(lb.status().ToString().find("spec.ports[0].port"), std::string::npos) << lb.status().ToString();

  // A released listener (port changed, Service deleted) can be taken.
  json moved = Service("web", "ClusterIP", {8081});
  moved["spec"]["clusterIP"] = "127.0.0.1";
  ASSERT_TRUE(service_->Update(Services(), "default", "web", "", moved, WriteOptions{}).ok());
  ASSERT_TRUE(Create(Service("takes8080", "ClusterIP", {8080})).ok());
  ASSERT_TRUE(service_->Delete(Services(), "default", "web", DeleteOptions{}).ok());
  ASSERT_TRUE(Create(Service("takes8081", "ClusterIP", {8081})).ok());
  // A dry run checks as well and claims nothing.
  WriteOptions dry;
  dry.dry_run = true;
  EXPECT_EQ(service_->Create(Services(), "default", Service("dry", "ClusterIP", {8081}), dry).status().code(),
            Code::kInvalid);
  EXPECT_TRUE(service_->Create(Services(), "default", Service("dry", "ClusterIP", {7000}), dry).ok());
  EXPECT_TRUE(Create(Service("real", "ClusterIP", {7000})).ok());
}

// With --lb-advertise-address (or a wildcard public address replaced by this host's address),
// status.loadBalancer reports that address while the listeners stay on the public one.
class ServiceAdvertiseTest : public ServiceAdmissionTest {
 protected:
  void SetUp() override {
    options_.advertise_address = "192.0.2.7";
    ServiceAdmissionTest::SetUp();
  }
};

TEST_F(ServiceAdvertiseTest, LoadBalancerStatusReportsTheAdvertisedAddress) {
  auto out = Create(Service("lb", "LoadBalancer", {8443}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["status"]["loadBalancer"]["ingress"], json::parse(R"([{"ip":"192.0.2.7"}])"));
  auto listeners = ServiceListeners(*out, options_);
  ASSERT_EQ(listeners.size(), 3u);
  EXPECT_EQ(listeners[2].address, "0.0.0.0");
  ServiceNetworkOptions bad = options_;
  bad.advertise_address = "lb.example";
  EXPECT_EQ(CheckServiceNetworkOptions(bad).code(), Code::kInvalid);
  EXPECT_TRUE(CheckServiceNetworkOptions(options_).ok());
}

TEST_F(ServiceAdmissionTest, LoadBalancerStatusAndListeners) {
  auto out = Create(Service("lb", "LoadBalancer", {8443}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["status"]["loadBalancer"]["ingress"], json::parse(R"([{"ip":"0.0.0.0"}])"));
  auto listeners = ServiceListeners(*out, options_);
  ASSERT_EQ(listeners.size(), 3u);
  EXPECT_EQ(listeners[0].address + ":" + std::to_string(listeners[0].port), "127.0.0.1:8443");
  EXPECT_TRUE(listeners[1].node_port);
  EXPECT_EQ(listeners[1].field, "spec.ports[0].nodePort");
  EXPECT_EQ(listeners[2].address + ":" + std::to_string(listeners[2].port), "0.0.0.0:8443");
  // A NodePort Service cannot take the LoadBalancer's public port as its nodePort either.
  json np = Service("np", "NodePort", {9000});
  np["spec"]["ports"][0]["nodePort"] = (*out)["spec"]["ports"][0]["nodePort"];
  auto refused = Create(np);
  ASSERT_EQ(refused.status().code(), Code::kInvalid);
  EXPECT_NE(refused.status().ToString().find("spec.ports[0].nodePort"), std::string::npos);
}

TEST_F(ServiceAdmissionTest, ConcurrentCreatesOfOneListenerAdmitExactlyOne) {
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        auto r = Create(Service("race" + std::to_string(round) + "x" + std::to_string(t), "ClusterIP", {6000 + round}));
        if (r.ok()) ++ok;
        else EXPECT_TRUE(r.status().code() == Code::kInvalid || r.status().code() == Code::kConflict)
            << r.status().ToString();
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
  }
}

TEST_F(ServiceAdmissionTest, DefaultIngressClass) {
  ASSERT_TRUE(EnsureDefaultIngressClass(service_.get()).ok());
  ASSERT_TRUE(EnsureDefaultIngressClass(service_.get()).ok());  // idempotent
  auto ic = service_->Get(Kind("networking.k8s.io", "ingressclasses"), "", "haproxy");
  ASSERT_TRUE(ic.ok()) << ic.status().ToString();
  EXPECT_EQ((*ic)["spec"]["controller"], "haproxy.capstan.io/ingress-controller");
  EXPECT_EQ((*ic)["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"], "true");
}

TEST(ServiceNetworkOptionsTest, Checked) {
  ServiceNetworkOptions o;
  EXPECT_TRUE(CheckServiceNetworkOptions(o).ok());
  o.public_address = "localhost";
  EXPECT_FALSE(CheckServiceNetworkOptions(o).ok());
  o = ServiceNetworkOptions{};
  o.node_port_min = 40000;
  o.node_port_max = 30000;
  EXPECT_FALSE(CheckServiceNetworkOptions(o).ok());
  o = ServiceNetworkOptions{};
  o.ingress_https_port = 80;
  EXPECT_FALSE(CheckServiceNetworkOptions(o).ok());
}

}  // namespace
}  // namespace capstan::api
