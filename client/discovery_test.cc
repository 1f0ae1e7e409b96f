#include "client/discovery.h"

#include <gtest/gtest.h>

#include "client/fake_api_server.h"

namespace capstan::client {
namespace {

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    Connection connection;
    connection.server = server_.url();
    auto client = RestClient::Create(connection);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    discovery_ = std::make_unique<Discovery>(client_.get());
  }

  std::string ResolvedAs(const std::string& typed) {
    Result<ResourceInfo> info = discovery_->Resolve(typed);
    if (!info.ok()) return info.status().ToString();
    return info->ApiVersion() + " " + info->plural + " " + info->kind + (info->namespaced ? " namespaced" : " cluster");
  }

  testing::FakeApiServer server_;
  std::unique_ptr<RestClient> client_;
  std::unique_ptr<Discovery> discovery_;
};

TEST_F(DiscoveryTest, ResolvesWhatKubectlAccepts) {
  for (const char* typed : {"deploy", "deployments", "deployment", "Deployment", "DEPLOYMENTS", "deployment.apps",
                            "deployments.apps", "deployments.v1.apps"}) {
    EXPECT_EQ(ResolvedAs(typed), "apps/v1 deployments Deployment namespaced") << typed;
  }
  EXPECT_EQ(ResolvedAs("po"), "v1 pods Pod namespaced");
  EXPECT_EQ(ResolvedAs("pod"), "v1 pods Pod namespaced");
  EXPECT_EQ(ResolvedAs("ns"), "v1 namespaces Namespace cluster");
  EXPECT_EQ(ResolvedAs("cm"), "v1 configmaps ConfigMap namespaced");
  EXPECT_EQ(ResolvedAs("ev"), "v1 events Event namespaced");
  EXPECT_EQ(ResolvedAs("rs"), "apps/v1 replicasets ReplicaSet namespaced");
}

TEST_F(DiscoveryTest, UnknownTypesAndSubresourcesAreNotFound) {
  for (const char* typed : {"frobnicators", "pods/status", "status", "deployments.batch", "deployments.v2.apps"}) {
    Result<ResourceInfo> info = discovery_->Resolve(typed);
    ASSERT_FALSE(info.ok()) << typed;
    EXPECT_TRUE(info.status().IsNotFound());
  }
  EXPECT_EQ(discovery_->Resolve("frobnicators").status().message(),
            "the server doesn't have a resource type \"frobnicators\"");
}

TEST_F(DiscoveryTest, ResolvesManifestKinds) {
  Result<ResourceInfo> deployment = discovery_->ResolveKind("apps/v1", "Deployment");
  ASSERT_TRUE(deployment.ok());
  EXPECT_EQ(deployment->plural, "deployments");
  EXPECT_EQ(deployment->DisplayKind(), "deployment.apps");
  Result<ResourceInfo> ns = discovery_->ResolveKind("v1", "Namespace");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->DisplayKind(), "namespace");
  EXPECT_FALSE(ns->namespaced);

  Result<ResourceInfo> typo = discovery_->ResolveKind("apps/v1", "Deploymnt");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().message(), "no matches for kind \"Deploymnt\" in version \"apps/v1\"");
  EXPECT_TRUE(discovery_->ResolveKind("batch/v1", "Job").status().IsNotFound());
}

TEST_F(DiscoveryTest, CachesDiscoveryDocuments) {
  ASSERT_TRUE(discovery_->Resolve("deploy").ok());
  size_t after_first = server_.Requests().size();
  ASSERT_TRUE(discovery_->Resolve("po").ok());
  ASSERT_TRUE(discovery_->ResolveKind("apps/v1", "Deployment").ok());
  EXPECT_EQ(server_.Requests().size(), after_first);
}

TEST_F(DiscoveryTest, ListsPreferredResourcesCoreFirst) {
  Result<std::vector<ResourceInfo>> all = discovery_->ServerPreferredResources();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 7u);
  EXPECT_EQ(all->front().group, "");
  EXPECT_EQ(all->back().group, "apps");
  EXPECT_EQ(all->front().short_names, std::vector<std::string>{"po"});
  EXPECT_TRUE(all->front().HasVerb("watch"));
}

TEST(DiscoveryPathsTest, BuildsKubernetesPaths) {
  ResourceInfo pods{"", "v1", "pods", "pod", "Pod", true, {}, {}};
  ResourceInfo deployments{"apps", "v1", "deployments", "deployment", "Deployment", true, {}, {}};
  ResourceInfo namespaces{"", "v1", "namespaces", "namespace", "Namespace", false, {}, {}};
  EXPECT_EQ(ObjectPath(pods, "default", "web"), "/api/v1/namespaces/default/pods/web");
  EXPECT_EQ(CollectionPath(deployments, "prod"), "/apis/apps/v1/namespaces/prod/deployments");
  EXPECT_EQ(CollectionPath(deployments, ""), "/apis/apps/v1/deployments");
  EXPECT_EQ(ObjectPath(namespaces, "ignored", "prod"), "/api/v1/namespaces/prod");
  EXPECT_EQ(CollectionPath(namespaces, ""), "/api/v1/namespaces");
  EXPECT_EQ(deployments.DisplayResource(), "deployments.apps");
  EXPECT_EQ(pods.DisplayResource(), "pods");
}

}  // namespace
}  // namespace capstan::client
