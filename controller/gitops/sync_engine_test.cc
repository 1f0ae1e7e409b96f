// The sync engine against a real API (RocksDB store, in-process client): the transaction, the
// order, ownership labels, prune's guards and drift.
#include "controller/gitops/sync_engine.h"

#include <functional>
#include <set>
#include <utility>

#include <gtest/gtest.h>

#include "client/informer_test_util.h"
#include "controller/gitops/live_state.h"

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

// The real API, with a hook run just before each DELETE goes out: what a user or another Sync does
// between prune's checks and its delete.
class BeforeDeleteApi : public client::ApiClient {
 public:
  BeforeDeleteApi(client::ApiClient* api, std::function<void(const std::string&)> hook) : api_(api), hook_(std::move(hook)) {}
  Result<json> Get(const std::string& p, const client::Query& q) override { return api_->Get(p, q); }
  Result<json> List(const std::string& p, const client::Query& q) override { return api_->List(p, q); }
  Result<json> Create(const std::string& p, const json& b, const client::Query& q) override { return api_->Create(p, b, q); }
  Result<json> Update(const std::string& p, const json& b, const client::Query& q) override { return api_->Update(p, b, q); }
  Result<json> Patch(const std::string& p, client::PatchType t, const json& b, const client::Query& q) override {
    return api_->Patch(p, t, b, q);
  }
  Result<json> Delete(const std::string& p, const json& o, const client::Query& q) override {
    if (hook_) std::exchange(hook_, nullptr)(p);  // once
    return api_->Delete(p, o, q);
  }
  Result<std::unique_ptr<client::WatchEvents>> Watch(const std::string& p, const client::Query& q) override {
    return api_->Watch(p, q);
  }

 private:
  client::ApiClient* api_;
  std::function<void(const std::string&)> hook_;
};

// The real API, counting the requests by method ("LIST" for lists) and query (dryRun).
class CountingApi : public client::ApiClient {
 public:
  explicit CountingApi(client::ApiClient* api) : api_(api) {}
  Result<json> Get(const std::string& p, const client::Query& q) override { Count("GET", q);
    return api_->Get(p, q); }
  Result<json> List(const std::string& p, const client::Query& q) override { Count("LIST", q);
    return api_->List(p, q); }
  Result<json> Create(const std::string& p, const json& b, const client::Query& q) override {
    Count("POST", q);
    return api_->Create(p, b, q);
  }
  Result<json> Update(const std::string& p, const json& b, const client::Query& q) override {
    Count("PUT", q);
    return api_->Update(p, b, q);
  }
  Result<json> Patch(const std::string& p, client::PatchType t, const json& b, const client::Query& q) override {
    Count("PATCH", q);
    return api_->Patch(p, t, b, q);
  }
  Result<json> Delete(const std::string& p, const json& o, const client::Query& q) override {
    Count("DELETE", q);
    return api_->Delete(p, o, q);
  }
  Result<std::unique_ptr<client::WatchEvents>> Watch(const std::string& p, const client::Query& q) override {
    return api_->Watch(p, q);
  }
  // Writes and dry-runs: every POST, PUT, PATCH and DELETE.
  int Writes() const { return counts_.count("POST") + counts_.count("PUT") + counts_.count("PATCH") + counts_.count("DELETE"); }
  int Of(const std::string& what) const { return static_cast<int>(counts_.count(what)); }
  void Reset() { counts_.clear(); }

 private:
  void Count(const std::string& method, const client::Query& q) {
    counts_.insert(method);
    for (const auto& [k, v] : q) {
      if (k == "dryRun") counts_.insert("DRYRUN");
    }
  }
  client::ApiClient* api_;
  std::multiset<std::string> counts_;
};

class SyncEngineTest : public client::testing::InProcessApiFixture {
 protected:
  SyncRequest Request(std::vector<ManifestFile> files) {
    SyncRequest r;
    r.sync_namespace = "flux";
    r.sync_name = "apps";
    r.files = std::move(files);
    r.prune = true;
    r.previous_inventory = inventory_;
    r.previous_versions = versions_;
    return r;
  }
  SyncOutcome Run(std::vector<ManifestFile> files, bool prune = true) {
    SyncRequest r = Request(std::move(files));
    r.prune = prune;
    SyncOutcome out = RunSync(*client_, r);
    inventory_ = out.inventory;
    versions_ = out.versions;
    return out;
  }
  bool Exists(const std::string& path) { return client_->Get(path).ok(); }

  std::vector<ObjectRef> inventory_;
  ResourceVersions versions_;
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
  auto drift = DetectDrift(*client_, "flux.apps", objects, &versions_);
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->empty()) << "just applied";
  // A field added by someone else is not drift; a declared field changed is.
  ASSERT_TRUE(client_->Patch("/api/v1/namespaces/team/configmaps/cfg", client::PatchType::kMerge,
                             json{{"data", {{"extra", "x"}}}}).ok());
  drift = DetectDrift(*client_, "flux.apps", objects, &versions_);
  ASSERT_TRUE(drift.ok());
  EXPECT_TRUE(drift->empty());
  ASSERT_TRUE(client_->Patch("/api/v1/namespaces/team/configmaps/cfg", client::PatchType::kMerge,
                             json{{"data", {{"a", "changed"}}}}).ok());
  drift = DetectDrift(*client_, "flux.apps", objects, &versions_);
  ASSERT_TRUE(drift.ok());
  ASSERT_EQ(drift->size(), 1u);
  EXPECT_EQ((*drift)[0].ref.Display(), "ConfigMap/team/cfg");
  EXPECT_NE((*drift)[0].patch.find("\"a\":\"b\""), std::string::npos) << (*drift)[0].patch;
}

TEST_F(SyncEngineTest, ANamespaceIsKeptForAForeignObjectBeyondTheFirstListPage) {
  const std::string ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n";
  ASSERT_TRUE(Run({{"ns.yaml", ns}}).ok);
  // Four objects owned by another object (not foreign) sort before the hand-made one: with pages
  // of 2 it is on the third page.
  for (int i = 1; i <= 4; ++i) {
    json owned = {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                  {"metadata", {{"name", "a-owned-" + std::to_string(i)},
                                {"ownerReferences", json::array({{{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                                                                  {"name", "x"}, {"uid", "u-1"}}})}}}};
    ASSERT_TRUE(client_->Create("/api/v1/namespaces/shop/configmaps", owned).ok());
  }
  json by_hand = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "z-by-hand"}}}};
  ASSERT_TRUE(client_->Create("/api/v1/namespaces/shop/configmaps", by_hand).ok());

  SyncRequest r = Request({});
  r.allow_empty = true;
  r.list_page_size = 2;
  SyncOutcome out = RunSync(*client_, r);
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_NE(out.message.find("kept Namespace/shop"), std::string::npos) << out.message;
  auto shop = client_->Get("/api/v1/namespaces/shop");
  ASSERT_TRUE(shop.ok());
  EXPECT_FALSE((*shop)["metadata"].contains("deletionTimestamp"));
  EXPECT_TRUE(Exists("/api/v1/namespaces/shop/configmaps/z-by-hand"));
}

TEST_F(SyncEngineTest, PruneNeverDeletesAnObjectRecreatedBetweenItsCheckAndTheDelete) {
  MakeNamespace("shop");
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {a: b}\n";
  const std::string other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}\n";
  ASSERT_TRUE(Run({{"cm.yaml", cm}, {"other.yaml", other}}).ok);
  // Between prune's GET and its DELETE, cfg is deleted and recreated by hand (without the label).
  BeforeDeleteApi racing(client_.get(), [this](const std::string& path) {
    ASSERT_TRUE(client_->Delete(path).ok());
    json by_hand = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cfg"}}}, {"data", {{"by", "hand"}}}};
    ASSERT_TRUE(client_->Create("/api/v1/namespaces/shop/configmaps", by_hand).ok());
  });
  SyncOutcome out = RunSync(racing, Request({{"other.yaml", other}}));
  ASSERT_TRUE(out.ok) << out.reason << ": " << out.message;
  auto cfg = client_->Get("/api/v1/namespaces/shop/configmaps/cfg");
  ASSERT_TRUE(cfg.ok()) << "the recreated object was deleted";
  EXPECT_EQ((*cfg)["data"]["by"], "hand");
  EXPECT_EQ(out.pruned, 0);
  ASSERT_EQ(out.inventory.size(), 1u) << "taken over: it leaves the inventory";
  EXPECT_EQ(out.inventory[0].name, "other");
}

TEST_F(SyncEngineTest, PruneChecksAgainAnObjectThatOnlyChangedAndThenDeletesIt) {
  MakeNamespace("shop");
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n";
  const std::string other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}\n";
  ASSERT_TRUE(Run({{"cm.yaml", cm}, {"other.yaml", other}}).ok);
  // An unrelated update between check and delete: the resourceVersion moved, the object is still
  // this Sync's; checked again, it is pruned.
  BeforeDeleteApi updating(client_.get(), [this](const std::string& path) {
    ASSERT_TRUE(client_->Patch(path, client::PatchType::kMerge, json{{"data", {{"x", "y"}}}}).ok());
  });
  SyncOutcome out = RunSync(updating, Request({{"other.yaml", other}}));
  ASSERT_TRUE(out.ok) << out.reason << ": " << out.message;
  EXPECT_EQ(out.pruned, 1);
  EXPECT_FALSE(Exists("/api/v1/namespaces/shop/configmaps/cfg"));
}

TEST_F(SyncEngineTest, AManifestMovingToAnotherVersionOfItsKindIsNotPruned) {
  MakeNamespace("shop");
  // The inventory recorded the ConfigMap at another version of its group (as after a manifest's
  // apiVersion moved): the same object, never pruned as one that left the commit.
  inventory_ = {{"v1beta1", "ConfigMap", "shop", "cfg"}};
  SyncOutcome out = Run({{"cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n"}});
  ASSERT_TRUE(out.ok) << out.reason << ": " << out.message;
  EXPECT_EQ(out.pruned, 0);
  EXPECT_TRUE(Exists("/api/v1/namespaces/shop/configmaps/cfg"));
  ASSERT_EQ(out.inventory.size(), 1u);
  EXPECT_EQ(out.inventory[0].api_version, "v1") << "recorded at the version applied";

  // Another group with the same kind and name is another object.
  EXPECT_TRUE((ObjectRef{"a.example/v1", "ConfigMap", "shop", "cfg"} < ObjectRef{"v1", "ConfigMap", "shop", "cfg"}) ||
              (ObjectRef{"v1", "ConfigMap", "shop", "cfg"} < ObjectRef{"a.example/v1", "ConfigMap", "shop", "cfg"}));
  EXPECT_EQ((ObjectRef{"apps/v1", "Deployment", "s", "w"}), (ObjectRef{"apps/v1beta2", "Deployment", "s", "w"}));
}

}  // namespace
}  // namespace capstan::controller::gitops

namespace capstan::controller::gitops {
namespace {

TEST_F(SyncEngineTest, ANoOpRunSendsNoDryRunAndNoApplyOnlyOneListPerKindAndNamespace) {
  const std::vector<ManifestFile> files = {
      {"ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"},
      {"web.yaml", Deployment("nginx:1")},
      {"a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {k: v}\n"},
      {"b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\ndata: {k: v}\n"}};
  ASSERT_TRUE(Run(files).ok);
  ASSERT_EQ(versions_.size(), 4u) << "every applied object's resourceVersion is recorded";
  CountingApi counting(client_.get());
  auto run = [&](std::vector<ManifestFile> f) {
    SyncRequest r = Request(std::move(f));
    counting.Reset();
    SyncOutcome out = RunSync(counting, r);
    inventory_ = out.inventory;
    versions_ = out.versions;
    return out;
  };
  SyncOutcome out = run(files);
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.unchanged, 4);
  EXPECT_EQ(counting.Writes(), 0) << "no dry-run, no apply";
  EXPECT_EQ(counting.Of("LIST"), 3) << "Namespaces, Deployments in shop, ConfigMaps in shop";

  // A hand edit moves the resourceVersion: compared again, reverted by the apply (one dry-run, one patch).
  ASSERT_TRUE(client_->Patch("/api/v1/namespaces/shop/configmaps/a", client::PatchType::kMerge, json{{"data", {{"k", "hand"}}}}).ok());
  auto moved = MovedSinceSeen(*client_, "flux.apps", inventory_, versions_);
  ASSERT_TRUE(moved.ok());
  ASSERT_EQ(moved->size(), 1u);
  EXPECT_EQ((*moved)[0].Display(), "ConfigMap/shop/a");
  out = run(files);
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.configured, 1);
  EXPECT_EQ(out.unchanged, 3);
  EXPECT_EQ(counting.Of("DRYRUN"), 1);
  EXPECT_EQ(counting.Of("PATCH"), 2) << "the dry-run and the apply of the edited object only";
  EXPECT_EQ((*client_->Get("/api/v1/namespaces/shop/configmaps/a"))["data"]["k"], "v");

  // A field written by someone else moves the resourceVersion but is no change: nothing sent, the
  // new version recorded so the next check is free.
  ASSERT_TRUE(client_->Patch("/api/v1/namespaces/shop/configmaps/b", client::PatchType::kMerge, json{{"data", {{"extra", "x"}}}}).ok());
  out = run(files);
  EXPECT_EQ(counting.Writes(), 0);
  moved = MovedSinceSeen(*client_, "flux.apps", inventory_, versions_);
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(moved->empty());

  // One manifest changed: one dry-run and one apply; deleted by hand: created again.
  std::vector<ManifestFile> next = files;
  next[2].text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {k: w}\n";
  ASSERT_TRUE(client_->Delete("/api/v1/namespaces/shop/configmaps/b").ok());
  moved = MovedSinceSeen(*client_, "flux.apps", inventory_, versions_);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->size(), 1u) << "a deleted object counts as moved";
  out = run(next);
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.configured, 1);
  EXPECT_EQ(out.created, 1);
  EXPECT_EQ(counting.Of("DRYRUN"), 2);
  EXPECT_EQ(counting.Writes(), 4);
}

TEST_F(SyncEngineTest, HealthIsReadWithOneListPerNamespaceAndKind) {
  std::string second = Deployment("nginx:1");
  second.replace(second.find("name: web"), 9, "name: api");
  ASSERT_TRUE(Run({{"ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"},
                   {"web.yaml", Deployment("nginx:1")}, {"api.yaml", second},
                   {"cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n"}}).ok);
  CountingApi counting(client_.get());
  Result<std::string> unhealthy = FirstUnhealthy(counting, inventory_);
  ASSERT_TRUE(unhealthy.ok());
  EXPECT_EQ(*unhealthy, "Deployment/shop/api: 0 of 1 replicas available") << "no controller runs here";
  EXPECT_EQ(counting.Of("LIST"), 1);
  EXPECT_EQ(counting.Of("GET"), 0);
  std::vector<ObjectRef> gone = {{"apps/v1", "Deployment", "shop", "missing"}};
  unhealthy = FirstUnhealthy(*client_, gone);
  ASSERT_TRUE(unhealthy.ok());
  EXPECT_EQ(*unhealthy, "Deployment/shop/missing: not found");
  unhealthy = FirstUnhealthy(*client_, {{"v1", "ConfigMap", "shop", "cfg"}});
  ASSERT_TRUE(unhealthy.ok());
  EXPECT_EQ(*unhealthy, "") << "other kinds are healthy once they exist";
}

}  // namespace
}  // namespace capstan::controller::gitops
