// The sync engine against a real API (RocksDB store, in-process client): the transaction, the
// order, ownership labels, prune's guards and drift.
#include "controller/gitops/sync_engine.h"

#include <gtest/gtest.h>

#include "client/informer_test_util.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;

constexpr char kDeployment[] = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: IMAGE}]}
)";

std::string Deployment(const std::string& image) {
  std::string text = kDeployment;
  text.replace(text.find("IMAGE"), 5, image);
  return text;
}

class SyncEngineTest : public client::testing::InProcessApiFixture {
 protected:
  SyncRequest Request(std::vector<ManifestFile> files) {
    SyncRequest r;
    r.sync_namespace = "flux";
    r.sync_name = "apps";
    r.files = std::move(files);
    r.prune = true;
    r.previous_inventory = inventory_;
    return r;
  }
  SyncOutcome Run(std::vector<ManifestFile> files, bool prune = true) {
    SyncRequest r = Request(std::move(files));
    r.prune = prune;
    SyncOutcome out = RunSync(*client_, r);
    inventory_ = out.inventory;
    return out;
  }
  bool Exists(const std::string& path) { return client_->Get(path).ok(); }

  std::vector<ObjectRef> inventory_;
};

TEST_F(SyncEngineTest, AppliesInOrderLabelsAndRecordsTheInventory) {
  // The Deployment's file sorts first; its Namespace must still be created before it.
  SyncOutcome out = Run({{"apps/a-web.yaml", Deployment("nginx:1")},
                         {"apps/b-ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"},
                         {"apps/c-cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {a: b}\n"}});
  ASSERT_TRUE(out.ok) << out.reason << ": " << out.message;
  EXPECT_EQ(out.created, 3);
  ASSERT_EQ(out.inventory.size(), 3u);
  auto web = client_->Get("/apis/apps/v1/namespaces/shop/deployments/web");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ((*web)["metadata"]["labels"][kSyncLabel], "flux.apps");
  // A second run of the same commit changes nothing.
  out = Run({{"apps/a-web.yaml", Deployment("nginx:1")},
             {"apps/b-ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"},
             {"apps/c-cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {a: b}\n"}});
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.unchanged, 3);
}

TEST_F(SyncEngineTest, ABadDocumentOrUnknownFieldAppliesNothingAndNamesTheFileLineAndField) {
  MakeNamespace("shop");
  SyncOutcome out = Run({{"apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: shop}\n"},
                         {"apps/web.yaml", "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two, namespace: shop}\n---\nkind: [\n"}});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.reason, "BuildFailed");
  EXPECT_NE(out.message.find("apps/web.yaml"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("line"), std::string::npos) << out.message;
  EXPECT_FALSE(Exists("/api/v1/namespaces/shop/configmaps/one"));

  std::string bad = Deployment("nginx:1");
  bad.replace(bad.find("  replicas: 1"), 12, "  replicas: 1\n  replicaz: 2");
  out = Run({{"apps/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: shop}\n"},
             {"apps/web.yaml", bad}});
  EXPECT_EQ(out.reason, "ValidationFailed") << out.message;
  EXPECT_NE(out.message.find("apps/web.yaml: document 1 (line 1)"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("replicaz"), std::string::npos) << out.message;
  EXPECT_FALSE(Exists("/api/v1/namespaces/shop/configmaps/one")) << "dry-run first: nothing applied";

  out = Run({{"apps/x.yaml", "apiVersion: v1\nkind: Gadget\nmetadata: {name: g}\n"}});
  EXPECT_EQ(out.reason, "ValidationFailed");
  EXPECT_NE(out.message.find("apps/x.yaml"), std::string::npos) << out.message;
}

TEST_F(SyncEngineTest, PruneDeletesOnlyWhatItOwnsAndNeverEverything) {
  const std::string ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n";
  const std::string keep = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, namespace: shop, annotations: {gitops.capstan.io/prune: disabled}}\n";
  SyncOutcome out = Run({{"ns.yaml", ns}, {"web.yaml", Deployment("nginx:1")}, {"keep.yaml", keep},
                         {"cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n"}});
  ASSERT_TRUE(out.ok) << out.message;
  json by_hand = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "by-hand"}}}};
  ASSERT_TRUE(client_->Create("/api/v1/namespaces/shop/configmaps", by_hand).ok());

  // An empty render is refused and prunes nothing.
  out = Run({});
  EXPECT_EQ(out.reason, "BuildFailed");
  EXPECT_TRUE(Exists("/apis/apps/v1/namespaces/shop/deployments/web"));

  // Everything but the namespace removed from the commit.
  out = Run({{"ns.yaml", ns}});
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_FALSE(Exists("/apis/apps/v1/namespaces/shop/deployments/web"));
  EXPECT_FALSE(Exists("/api/v1/namespaces/shop/configmaps/cfg"));
  EXPECT_TRUE(Exists("/api/v1/namespaces/shop/configmaps/keep")) << "prune: disabled";
  EXPECT_TRUE(Exists("/api/v1/namespaces/shop/configmaps/by-hand"));

  // The namespace itself removed: kept, because it holds an object this Sync does not manage.
  SyncRequest r = Request({});
  r.allow_empty = true;
  out = RunSync(*client_, r);
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_NE(out.message.find("kept Namespace/shop"), std::string::npos) << out.message;
  auto shop = client_->Get("/api/v1/namespaces/shop");
  ASSERT_TRUE(shop.ok());
  EXPECT_FALSE((*shop)["metadata"].contains("deletionTimestamp"));
}

TEST_F(SyncEngineTest, TargetNamespaceAndDriftThroughTheThreeWayMerge) {
  MakeNamespace("team");
  SyncRequest r = Request({{"cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n"}});
  r.target_namespace = "team";
  SyncOutcome out = RunSync(*client_, r);
  ASSERT_TRUE(out.ok) << out.message;
  std::vector<DesiredObject> objects;
  SyncOutcome failure;
  ASSERT_TRUE(BuildObjects(*client_, r, &objects, &failure));
  auto drift = DetectDrift(*client_, objects);
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->empty()) << "just applied";
  // A field added by someone else is not drift; a declared field changed is.
  ASSERT_TRUE(client_->Patch("/api/v1/namespaces/team/configmaps/cfg", client::PatchType::kMerge,
                             json{{"data", {{"extra", "x"}}}}).ok());
  drift = DetectDrift(*client_, objects);
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->empty());
  ASSERT_TRUE(client_->Patch("/api/v1/namespaces/team/configmaps/cfg", client::PatchType::kMerge,
                             json{{"data", {{"a", "changed"}}}}).ok());
  drift = DetectDrift(*client_, objects);
  ASSERT_TRUE(drift.ok());
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_EQ((*drift)[0].ref.Display(), "ConfigMap/team/cfg");
  EXPECT_NE((*drift)[0].patch.find("\"a\":\"b\""), std::string::npos) << (*drift)[0].patch;
}

}  // namespace
}  // namespace capstan::controller::gitops
