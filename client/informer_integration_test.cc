// Informers and InProcessApiClient against the real API handler over a RocksStore in a temporary
// directory: initial list, event order, indexes, watch resumption, 410 after compaction, Stop
// latency, and the Status codes of real server errors.
#include "client/informer.h"

#include <gtest/gtest.h>

#include "client/informer_factory.h"
#include "client/informer_test_util.h"

namespace capstan::client {
namespace {

using namespace std::chrono_literals;
using api::testing::ConfigMap;
using testing::EventRecorder;
using testing::GatedApiClient;
using testing::InProcessApiFixture;
using testing::WaitUntil;

constexpr char kConfigMaps[] = "/api/v1/namespaces/default/configmaps";

json Pod(const std::string& name, const std::string& owner_uid, const std::string& node = "") {
  json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", name},
              {"ownerReferences",
               {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "rs"}, {"uid", owner_uid}}}}}},
            {"spec", {{"containers", {{{"name", "app"}, {"image", "nginx:1.25"}}}}}}};
  if (!node.empty()) p["spec"]["nodeName"] = node;
  return p;
}

std::vector<std::string> Keys(const Informer& informer, const char* index, const std::string& value) {
  std::vector<std::string> out;
  auto r = informer.ByIndex(index, value);
  if (!r.ok()) return {"error: " + r.status().ToString()};
  for (const auto& o : *r) out.push_back(ObjectKey(*o));
  return out;
}

class InformerIntegrationTest : public InProcessApiFixture {
 protected:
  std::string MustCreate(const std::string& path, const json& obj) {
    auto r = client_->Create(path, obj);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? MetaString(*r, "resourceVersion") : "";
  }
};

TEST_F(InformerIntegrationTest, InitialListFillsTheCacheInPages) {
  MakeNamespace("other");
  for (int i = 0; i < 5; ++i) MustCreate(kConfigMaps, ConfigMap("cm-" + std::to_string(i)));
  for (int i = 0; i < 2; ++i) MustCreate("/api/v1/namespaces/other/configmaps", ConfigMap("o-" + std::to_string(i)));
  auto all = client_->List("/api/v1/configmaps");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  const size_t expected = (*all)["items"].size();
  ASSERT_GE(expected, 7u);

  GatedApiClient counting(client_.get());
  InformerOptions opts;
  opts.page_size = 2;
  Informer informer(&counting, "/api/v1/configmaps", opts);
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  EXPECT_TRUE(informer.HasSynced());
  EXPECT_EQ(informer.List().size(), expected);
  EXPECT_EQ(rec.Count("add "), expected);
  EXPECT_EQ(informer.ListNamespace("other").size(), 2u);
  EXPECT_GE(counting.lists(), static_cast<int>((expected + 1) / 2));
  EXPECT_EQ(informer.LastSyncResourceVersion(), MetaString(*all, "resourceVersion"));
  auto cm = informer.Get("default/cm-3");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ((*cm)["data"]["key"], "value");
  EXPECT_EQ((*cm)["kind"], "ConfigMap");
}

TEST_F(InformerIntegrationTest, ClientWritesReachHandlersInOrderAfterTheCache) {
  Informer informer(client_.get(), kConfigMaps);
  EventRecorder rec;
  std::vector<std::string> cache_at_callback;
  ResourceEventHandler check;
  auto cached_rv = [&](const ObjectPtr& o) {
    auto c = informer.Get(ObjectKey(*o));
    cache_at_callback.push_back(c ? EventRecorder::Rv(*c) : "none");
  };
  check.on_add = cached_rv;
  check.on_update = [&](const ObjectPtr&, const ObjectPtr& o) { cached_rv(o); };
  check.on_delete = cached_rv;
  // `check` first: once `rec` has seen an event, `check` has too.
  ASSERT_TRUE(informer.AddEventHandler(check).ok());
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));

  auto created = client_->Create(kConfigMaps, ConfigMap("a"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  json changed = *created;
  changed["data"]["key"] = "v2";
  auto updated = client_->Update(std::string(kConfigMaps) + "/a", changed);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  auto patched = client_->Patch(std::string(kConfigMaps) + "/a", PatchType::kMerge, {{"data", {{"key", "v3"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  ASSERT_TRUE(client_->Delete(std::string(kConfigMaps) + "/a").ok());

  ASSERT_TRUE(rec.WaitForSize(4));
  const std::string r1 = EventRecorder::Rv(*created), r2 = EventRecorder::Rv(*updated), r3 = EventRecorder::Rv(*patched);
  EXPECT_EQ(rec.Events(), (std::vector<std::string>{"add default/a " + r1, "update default/a " + r1 + "->" + r2,
                                                    "update default/a " + r2 + "->" + r3, "delete default/a"}));
  EXPECT_EQ(cache_at_callback, (std::vector<std::string>{r1, r2, r3, "none"}));
  EXPECT_EQ(informer.Get("default/a"), nullptr);
}

TEST_F(InformerIntegrationTest, IndexesFollowUpdatesAndDeletes) {
  MakeNamespace("other");
  Informer informer(client_.get(), "/api/v1/pods");
  ASSERT_TRUE(informer.AddIndexer(kNamespaceIndex, IndexByNamespace).ok());
  ASSERT_TRUE(informer.AddIndexer(kOwnerUidIndex, IndexByOwnerUid).ok());
  ASSERT_TRUE(informer.AddIndexer(kNodeNameIndex, IndexByNodeName).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));

  MustCreate("/api/v1/namespaces/default/pods", Pod("p1", "u1"));
  MustCreate("/api/v1/namespaces/other/pods", Pod("p2", "u2", "node-1"));
  using V = std::vector<std::string>;
  ASSERT_TRUE(WaitUntil([&] { return informer.List().size() == 2; }));
  EXPECT_EQ(Keys(informer, kOwnerUidIndex, "u1"), V{"default/p1"});
  EXPECT_EQ(Keys(informer, kOwnerUidIndex, "u2"), V{"other/p2"});
  EXPECT_EQ(Keys(informer, kNodeNameIndex, "node-1"), V{"other/p2"});
  EXPECT_EQ(Keys(informer, kNamespaceIndex, "other"), V{"other/p2"});

  // Bind p1 (an update of spec.nodeName), then move it to another owner.
  auto p1 = client_->Get("/api/v1/namespaces/default/pods/p1");
  ASSERT_TRUE(p1.ok());
  json bound = *p1;
  bound["spec"]["nodeName"] = "node-1";
  auto updated = client_->Update("/api/v1/namespaces/default/pods/p1", bound);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return Keys(informer, kNodeNameIndex, "node-1").size() == 2; }));
  EXPECT_EQ(Keys(informer, kNodeNameIndex, "node-1"), (V{"default/p1", "other/p2"}));

  json owners = Pod("p1", "u2")["metadata"]["ownerReferences"];
  auto patched = client_->Patch("/api/v1/namespaces/default/pods/p1", PatchType::kMerge,
                                {{"metadata", {{"ownerReferences", owners}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return Keys(informer, kOwnerUidIndex, "u1").empty(); }));
  EXPECT_EQ(Keys(informer, kOwnerUidIndex, "u2"), (V{"default/p1", "other/p2"}));

  // Bound to a node, p2 would be deleted gracefully (marked, then removed by its node agent):
  // grace 0 removes it now.
  ASSERT_TRUE(client_->Delete("/api/v1/namespaces/other/pods/p2", json{{"gracePeriodSeconds", 0}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return informer.List().size() == 1; }));
  EXPECT_EQ(Keys(informer, kOwnerUidIndex, "u2"), V{"default/p1"});
  EXPECT_EQ(Keys(informer, kNodeNameIndex, "node-1"), V{"default/p1"});
  EXPECT_TRUE(Keys(informer, kNamespaceIndex, "other").empty());
  EXPECT_EQ(informer.IndexValues(kNamespaceIndex), V{"default"});
}

// Watches that the server ends every second are resumed from the last resourceVersion: every
// object arrives exactly once, and no re-list is needed.
TEST_F(InformerIntegrationTest, EndedWatchesResumeWithoutDuplicatesOrLosses) {
  GatedApiClient counting(client_.get());
  InformerOptions opts;
  opts.watch_timeout = 1s;
  Informer informer(&counting, kConfigMaps, opts);
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  const int watches_at_start = counting.watches();
  for (int i = 0; i < 6; ++i) {
    MustCreate(kConfigMaps, ConfigMap("r-" + std::to_string(i)));
    std::this_thread::sleep_for(400ms);  // spread over several 1 s watches
  }
  ASSERT_TRUE(WaitUntil([&] { return informer.List().size() == 6; }));
  ASSERT_TRUE(WaitUntil([&] { return counting.watches() >= watches_at_start + 3; }));
  EXPECT_EQ(rec.Count("add "), 6u);
  EXPECT_EQ(rec.Count("update "), 0u);
  EXPECT_EQ(rec.Count("delete "), 0u);
  EXPECT_EQ(counting.lists(), 1);
}

// The watch is down while objects change and the store compacts its log past the informer's
// revision: the next watch gets 410, the informer re-lists, and the object deleted meanwhile
// gets its delete callback.
TEST_F(InformerIntegrationTest, ExpiredRevisionRelistsAndDeletesWhatWentAway) {
  GatedApiClient gated(client_.get());
  InformerOptions opts;
  opts.backoff_initial = 10ms;
  opts.backoff_max = 100ms;
  Informer informer(&gated, kConfigMaps, opts);
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  const std::string keep_rv = MustCreate(kConfigMaps, ConfigMap("keep"));
  MustCreate(kConfigMaps, ConfigMap("gone"));
  const std::string changed_rv = MustCreate(kConfigMaps, ConfigMap("changed"));
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  ASSERT_TRUE(WaitUntil([&] { return gated.watches() >= 1; }));
  ASSERT_EQ(rec.Size(), 3u);
  rec.Clear();

  gated.Block();
  ASSERT_TRUE(client_->Delete(std::string(kConfigMaps) + "/gone").ok());
  auto changed = client_->Patch(std::string(kConfigMaps) + "/changed", PatchType::kMerge, {{"data", {{"key", "v2"}}}});
  ASSERT_TRUE(changed.ok());
  const std::string new_rv = MustCreate(kConfigMaps, ConfigMap("new"));
  ASSERT_TRUE(store_->Compact(store_->CurrentRevision()).ok());
  ASSERT_GT(store_->CompactedRevision(), std::stoll(informer.LastSyncResourceVersion()));
  EXPECT_EQ(informer.Get("default/new"), nullptr);  // nothing came through the cut watch
  gated.Unblock();

  ASSERT_TRUE(WaitUntil([&] { return informer.Get("default/new") != nullptr && rec.Size() >= 4; }));
  EXPECT_EQ(rec.Events(), (std::vector<std::string>{"update default/changed " + changed_rv + "->" +
                                                        EventRecorder::Rv(*changed),
                                                    "delete default/gone", "update default/keep " + keep_rv + "->" + keep_rv,
                                                    "add default/new " + new_rv}));
  EXPECT_EQ(informer.Get("default/gone"), nullptr);
  EXPECT_EQ(gated.lists(), 2);
}

TEST_F(InformerIntegrationTest, StopIsPromptWithAnIdleWatch) {
  GatedApiClient counting(client_.get());
  Informer informer(&counting, kConfigMaps);  // timeoutSeconds 300: the watch stays open
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  ASSERT_TRUE(WaitUntil([&] { return counting.watches() >= 1; }));
  std::this_thread::sleep_for(50ms);  // let the informer block in Next()
  auto start = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(InformerIntegrationTest, FactorySharesInformersOverTheRealServer) {
  SharedInformerFactory factory(client_.get());
  Informer* cms = factory.ForResource(kConfigMaps);
  ASSERT_EQ(factory.ForResource(kConfigMaps), cms);
  Informer* pods = factory.ForResource("/api/v1/pods");
  factory.StartAll();
  ASSERT_TRUE(factory.WaitForSyncAll(10s));
  EXPECT_TRUE(pods->HasSynced());
  MustCreate(kConfigMaps, ConfigMap("shared"));
  EXPECT_TRUE(WaitUntil([&] { return cms->Get("default/shared") != nullptr; }));
  auto start = std::chrono::steady_clock::now();
  factory.StopAll();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

class InProcessApiClientIntegrationTest : public InProcessApiFixture {};

TEST_F(InProcessApiClientIntegrationTest, ServerErrorsKeepTheirCodeAndMessage) {
  const std::string missing = std::string(kConfigMaps) + "/missing";
  auto got = client_->Get(missing);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_EQ(got.status().message(), api::testing::BodyOf(Do("GET", missing))["message"]);

  auto first = client_->Create(kConfigMaps, ConfigMap("dup"));
  ASSERT_TRUE(first.ok());
  auto again = client_->Create(kConfigMaps, ConfigMap("dup"));
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_NE(again.status().message().find("dup"), std::string::npos) << again.status().message();

  json stale = *first;
  ASSERT_TRUE(client_->Patch(std::string(kConfigMaps) + "/dup", PatchType::kMerge, {{"data", {{"k", "2"}}}}).ok());
  auto conflict = client_->Update(std::string(kConfigMaps) + "/dup", stale);
  EXPECT_EQ(conflict.status().code(), Code::kConflict) << conflict.status().ToString();

  auto invalid = client_->Create(kConfigMaps, ConfigMap("Not_A_Valid_Name"));
  EXPECT_EQ(invalid.status().code(), Code::kInvalid) << invalid.status().ToString();
  EXPECT_NE(invalid.status().message().find("Not_A_Valid_Name"), std::string::npos) << invalid.status().message();

  InProcessApiClient stranger([this](const api::HttpRequest& r) { return handler_->Handle(r); }, "wrong-token");
  EXPECT_EQ(stranger.Get(kConfigMaps).status().code(), Code::kUnauthorized);
  InProcessApiClient viewer([this](const api::HttpRequest& r) { return handler_->Handle(r); },
                            api::testing::kViewToken);
  EXPECT_TRUE(viewer.List(kConfigMaps).ok());
  EXPECT_EQ(viewer.Create(kConfigMaps, ConfigMap("v")).status().code(), Code::kForbidden);
}

TEST_F(InProcessApiClientIntegrationTest, WatchFromACompactedRevisionIsExpired) {
  const std::string rv = MetaString(*client_->Create(kConfigMaps, ConfigMap("a")), "resourceVersion");
  ASSERT_TRUE(client_->Create(kConfigMaps, ConfigMap("b")).ok());
  ASSERT_TRUE(client_->Create(kConfigMaps, ConfigMap("c")).ok());
  // Before compaction: the events after `rv`.
  auto watch = client_->Watch(kConfigMaps, {{"resourceVersion", rv}, {"timeoutSeconds", "1"}});
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto b = (*watch)->Next(5s);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((**b)["object"]["metadata"]["name"], "b");
  // The server ends it after timeoutSeconds.
  std::vector<std::string> seen;
  auto start = std::chrono::steady_clock::now();
  while (!(*watch)->Ended() && std::chrono::steady_clock::now() - start < 5s) {
    auto e = (*watch)->Next(5s);
    ASSERT_TRUE(e.ok());
    if (e->has_value()) seen.push_back((**e)["object"]["metadata"]["name"]);
  }
  EXPECT_TRUE((*watch)->Ended());
  EXPECT_EQ(seen, std::vector<std::string>{"c"});

  ASSERT_TRUE(store_->Compact(store_->CurrentRevision()).ok());
  auto expired = client_->Watch(kConfigMaps, {{"resourceVersion", rv}});
  ASSERT_TRUE(expired.ok());  // Kubernetes answers 200 and an ERROR event
  auto e = (*expired)->Next(5s);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kExpired);
}

}  // namespace
}  // namespace capstan::client
