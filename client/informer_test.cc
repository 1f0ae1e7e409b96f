// Informer and SharedInformerFactory against FakeApiClient: paging, resume from bookmarks,
// 410 handling (as a Watch() error and as an ERROR event), backoff, handler order, indexes,
// Stop latency and the configuration rules.
#include "client/informer.h"

#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "client/informer_factory.h"
#include "client/informer_test_util.h"

namespace capstan::client {
namespace {

using namespace std::chrono_literals;
using testing::EventRecorder;
using testing::FakeApiClient;
using testing::QueryValue;
using testing::WaitUntil;

json Obj(const std::string& ns, const std::string& name, int rv, json extra = json::object()) {
  json o = {{"apiVersion", "v1"}, {"kind", "Pod"},
            {"metadata", {{"name", name}, {"resourceVersion", std::to_string(rv)}}}};
  if (!ns.empty()) o["metadata"]["namespace"] = ns;
  o.merge_patch(extra);
  return o;
}

json ListOf(int rv, std::vector<json> items, const std::string& cont = "") {
  json l = {{"apiVersion", "v1"}, {"kind", "PodList"}, {"metadata", {{"resourceVersion", std::to_string(rv)}}},
            {"items", json::array()}};
  for (auto& i : items) l["items"].push_back(std::move(i));
  if (!cont.empty()) l["metadata"]["continue"] = cont;
  return l;
}

json Event(const std::string& type, json obj) { return {{"type", type}, {"object", std::move(obj)}}; }

InformerOptions Fast() {
  InformerOptions o;
  o.backoff_initial = 5ms;
  o.backoff_max = 50ms;
  return o;
}

TEST(InformerTest, ListsInPagesThenWatchesFromTheListVersion) {
  FakeApiClient client;
  client.on_list = [](const Query& q) -> Result<json> {
    EXPECT_EQ(QueryValue(q, "limit"), "2");
    EXPECT_EQ(QueryValue(q, "labelSelector"), "app=web");
    const std::string cont = QueryValue(q, "continue");
    if (cont.empty()) return ListOf(10, {Obj("a", "p1", 3), Obj("a", "p2", 4)}, "page2");
    if (cont == "page2") return ListOf(10, {Obj("b", "p3", 5), Obj("", "node-x", 6)}, "page3");
    json last = ListOf(10, {Obj("b", "p4", 7)});
    last["items"][0].erase("kind");  // as Kubernetes sends list items: filled in from the list
    last["items"][0].erase("apiVersion");
    return last;
  };
  InformerOptions opts = Fast();
  opts.page_size = 2;
  opts.label_selector = "app=web";
  Informer informer(&client, "/api/v1/pods", opts);
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  EXPECT_FALSE(informer.HasSynced());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(5s));
  EXPECT_EQ(client.ListQueries().size(), 3u);
  EXPECT_EQ(informer.List().size(), 5u);
  EXPECT_EQ(rec.Count("add "), 5u);
  EXPECT_EQ(informer.LastSyncResourceVersion(), "10");
  ASSERT_NE(informer.Get("node-x"), nullptr);  // cluster-scoped key: the bare name
  ASSERT_NE(informer.Get("b/p4"), nullptr);
  EXPECT_EQ((*informer.Get("b/p4"))["kind"], "Pod");
  EXPECT_EQ((*informer.Get("b/p4"))["apiVersion"], "v1");
  EXPECT_EQ(informer.ListNamespace("b").size(), 2u);
  EXPECT_EQ(informer.ListNamespace("a").size(), 2u);
  EXPECT_EQ(informer.ListNamespace("").size(), 5u);

  auto w = client.WaitForWatch(0);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(QueryValue(w->query(), "resourceVersion"), "10");
  EXPECT_EQ(QueryValue(w->query(), "allowWatchBookmarks"), "true");
  EXPECT_EQ(QueryValue(w->query(), "timeoutSeconds"), "300");
  EXPECT_EQ(QueryValue(w->query(), "labelSelector"), "app=web");
}

TEST(InformerTest, EventsReachHandlersInOrderAfterTheCache) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> { return ListOf(5, {Obj("ns", "a", 4)}); };
  Informer informer(&client, "/api/v1/pods", Fast());
  EventRecorder rec;
  std::vector<std::string> seen_in_cache;  // what Get() returned inside each callback
  ResourceEventHandler check;
  check.on_add = [&](const ObjectPtr& o) {
    auto cached = informer.Get(ObjectKey(*o));
    seen_in_cache.push_back(cached ? EventRecorder::Rv(*cached) : "none");
  };
  check.on_update = [&](const ObjectPtr&, const ObjectPtr& o) {
    auto cached = informer.Get(ObjectKey(*o));
    seen_in_cache.push_back(cached ? EventRecorder::Rv(*cached) : "none");
  };
  check.on_delete = [&](const ObjectPtr& o) {
    seen_in_cache.push_back(informer.Get(ObjectKey(*o)) ? "present" : "none");
  };
  // `check` first: once `rec` has seen an event, `check` has too.
  ASSERT_TRUE(informer.AddEventHandler(check).ok());
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  auto w = client.WaitForWatch(0);
  ASSERT_NE(w, nullptr);
  w->Push(Event("ADDED", Obj("ns", "b", 6)));
  w->Push(Event("MODIFIED", Obj("ns", "a", 7)));
  w->Push(Event("ADDED", Obj("ns", "b", 8)));      // ADDED for a known key: an update
  w->Push(Event("DELETED", Obj("ns", "zzz", 9)));  // unknown key: no callback
  w->Push(Event("DELETED", Obj("ns", "b", 10)));
  ASSERT_TRUE(rec.WaitForSize(5));
  EXPECT_EQ(rec.Events(), (std::vector<std::string>{"add ns/a 4", "add ns/b 6", "update ns/a 4->7",
                                                    "update ns/b 6->8", "delete ns/b"}));
  EXPECT_EQ(seen_in_cache, (std::vector<std::string>{"4", "6", "7", "8", "none"}));
  EXPECT_TRUE(WaitUntil([&] { return informer.LastSyncResourceVersion() == "10"; }));
  EXPECT_EQ(informer.List().size(), 1u);
}

TEST(InformerTest, ResumesFromTheLastEventOrBookmarkWithoutRelisting) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> { return ListOf(5, {}); };
  Informer informer(&client, "/api/v1/pods", Fast());
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  auto w0 = client.WaitForWatch(0);
  ASSERT_NE(w0, nullptr);
  w0->Push(Event("ADDED", Obj("ns", "a", 11)));
  w0->End();
  auto w1 = client.WaitForWatch(1);
  ASSERT_NE(w1, nullptr);
  EXPECT_EQ(QueryValue(w1->query(), "resourceVersion"), "11");
  w1->Push(Event("BOOKMARK", {{"kind", "Pod"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", "15"}}}}));
  w1->End();
  auto w2 = client.WaitForWatch(2);
  ASSERT_NE(w2, nullptr);
  EXPECT_EQ(QueryValue(w2->query(), "resourceVersion"), "15");
  EXPECT_EQ(informer.LastSyncResourceVersion(), "15");
  EXPECT_EQ(client.ListQueries().size(), 1u);
  EXPECT_EQ(rec.Events(), std::vector<std::string>{"add ns/a 11"});
}

// A 410 as an ERROR event: re-list, then add/update/delete for the differences; unchanged
// objects still get an update (resync).
TEST(InformerTest, ExpiredErrorEventRelistsAndReconciles) {
  FakeApiClient client;
  std::atomic<int> lists{0};
  client.on_list = [&](const Query&) -> Result<json> {
    if (lists++ == 0) return ListOf(5, {Obj("ns", "keep", 2), Obj("ns", "gone", 3), Obj("ns", "changed", 4)});
    return ListOf(20, {Obj("ns", "keep", 2), Obj("ns", "changed", 18), Obj("ns", "new", 19)});
  };
  Informer informer(&client, "/api/v1/pods", Fast());
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  auto w0 = client.WaitForWatch(0);
  ASSERT_NE(w0, nullptr);
  rec.Clear();
  w0->Push(Event("ERROR", {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                           {"reason", "Expired"}, {"code", 410}, {"message", "too old resource version"}}));
  auto w1 = client.WaitForWatch(1);
  ASSERT_NE(w1, nullptr);
  EXPECT_EQ(QueryValue(w1->query(), "resourceVersion"), "20");
  EXPECT_EQ(rec.Events(), (std::vector<std::string>{"update ns/changed 4->18", "delete ns/gone", "update ns/keep 2->2",
                                                    "add ns/new 19"}));
  EXPECT_EQ(informer.Get("ns/gone"), nullptr);
  EXPECT_EQ(informer.LastSyncResourceVersion(), "20");
}

// A 410 answered to the WATCH request itself (as an HTTP error) also re-lists.
TEST(InformerTest, ExpiredWatchRequestRelists) {
  FakeApiClient client;
  std::atomic<int> lists{0};
  client.on_list = [&](const Query&) -> Result<json> {
    return lists++ == 0 ? ListOf(5, {Obj("ns", "a", 3)}) : ListOf(9, {});
  };
  std::atomic<int> watches{0};
  client.on_watch = [&](const Query&) {
    return watches++ == 0 ? Status::Expired("too old resource version: 5 (8)") : Status::Ok();
  };
  Informer informer(&client, "/api/v1/pods", Fast());
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  auto w = client.WaitForWatch(0);  // the first one that was not refused
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(QueryValue(w->query(), "resourceVersion"), "9");
  EXPECT_EQ(lists.load(), 2);
  EXPECT_EQ(rec.Events(), (std::vector<std::string>{"add ns/a 3", "delete ns/a"}));
}

TEST(InformerTest, ListErrorsRetryWithBackoff) {
  FakeApiClient client;
  std::atomic<int> lists{0};
  client.on_list = [&](const Query&) -> Result<json> {
    if (lists++ < 2) return Status::Unavailable("not yet");
    return ListOf(5, {Obj("ns", "a", 3)});
  };
  Informer informer(&client, "/api/v1/pods", Fast());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(5s));
  EXPECT_EQ(lists.load(), 3);
  // A failing watch is retried from the same version, without a re-list.
  auto w0 = client.WaitForWatch(0);
  ASSERT_NE(w0, nullptr);
  w0->End(Status::Internal("boom"));
  auto w1 = client.WaitForWatch(1);
  ASSERT_NE(w1, nullptr);
  EXPECT_EQ(QueryValue(w1->query(), "resourceVersion"), "5");
  EXPECT_EQ(lists.load(), 3);
}

TEST(InformerTest, StopIsPromptWithAnIdleWatch) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> { return ListOf(5, {}); };
  Informer informer(&client, "/api/v1/pods", Fast());
  informer.Start();
  auto w = client.WaitForWatch(0);
  ASSERT_NE(w, nullptr);
  auto start = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(w->cancelled());
}

TEST(InformerTest, StopEndsWaitForSyncAndBackoff) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> { return Status::Unavailable("never"); };
  InformerOptions opts;
  opts.backoff_initial = 10s;  // Stop() must cut the backoff sleep short
  Informer informer(&client, "/api/v1/pods", opts);
  informer.Start();
  ASSERT_TRUE(WaitUntil([&] { return client.ListQueries().size() == 1; }));
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    informer.Stop();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(informer.WaitForSync(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  stopper.join();
  EXPECT_FALSE(informer.HasSynced());
}

TEST(InformerTest, HandlerExceptionsAreContained) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> { return ListOf(5, {Obj("ns", "a", 3)}); };
  Informer informer(&client, "/api/v1/pods", Fast());
  ResourceEventHandler thrower;
  thrower.on_add = [](const ObjectPtr&) { throw std::runtime_error("handler bug"); };
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(thrower).ok());
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(5s));
  auto w = client.WaitForWatch(0);
  ASSERT_NE(w, nullptr);
  w->Push(Event("ADDED", Obj("ns", "b", 6)));
  ASSERT_TRUE(rec.WaitForSize(2));
  EXPECT_EQ(rec.Events(), (std::vector<std::string>{"add ns/a 3", "add ns/b 6"}));
}

TEST(InformerTest, IndexesFollowEvents) {
  FakeApiClient client;
  json owned = {{"metadata", {{"ownerReferences", {{{"uid", "u1"}}, {{"uid", "u2"}}}}}},
                {"spec", {{"nodeName", "n1"}}}};
  client.on_list = [&](const Query&) -> Result<json> { return ListOf(5, {Obj("ns", "a", 3, owned)}); };
  Informer informer(&client, "/api/v1/pods", Fast());
  ASSERT_TRUE(informer.AddIndexer(kNamespaceIndex, IndexByNamespace).ok());
  ASSERT_TRUE(informer.AddIndexer(kOwnerUidIndex, IndexByOwnerUid).ok());
  ASSERT_TRUE(informer.AddIndexer(kNodeNameIndex, IndexByNodeName).ok());
  EXPECT_EQ(informer.AddIndexer(kNodeNameIndex, IndexByNodeName).code(), Code::kAlreadyExists);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(5s));
  auto keys = [&](const char* index, const std::string& value) {
    std::vector<std::string> out;
    auto r = informer.ByIndex(index, value);
    EXPECT_TRUE(r.ok());
    if (r.ok()) {
      for (const auto& o : *r) out.push_back(ObjectKey(*o));
    }
    return out;
  };
  EXPECT_EQ(keys(kOwnerUidIndex, "u1"), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(keys(kOwnerUidIndex, "u2"), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(keys(kNodeNameIndex, "n1"), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(informer.ByIndex("nope", "x").status().code(), Code::kNotFound);

  auto w = client.WaitForWatch(0);
  ASSERT_NE(w, nullptr);
  w->Push(Event("MODIFIED", Obj("ns", "a", 7, {{"metadata", {{"ownerReferences", {{{"uid", "u3"}}}}}},
                                               {"spec", {{"nodeName", "n2"}}}})));
  ASSERT_TRUE(WaitUntil([&] { return informer.LastSyncResourceVersion() == "7"; }));
  EXPECT_TRUE(keys(kOwnerUidIndex, "u1").empty());
  EXPECT_EQ(keys(kOwnerUidIndex, "u3"), std::vector<std::string>{"ns/a"});
  EXPECT_TRUE(keys(kNodeNameIndex, "n1").empty());
  EXPECT_EQ(informer.IndexValues(kNodeNameIndex), std::vector<std::string>{"n2"});
  // An update that moves no index entry (a status change): the indexes give the new version.
  w->Push(Event("MODIFIED", Obj("ns", "a", 8, {{"metadata", {{"ownerReferences", {{{"uid", "u3"}}}}}},
                                               {"spec", {{"nodeName", "n2"}}},
                                               {"status", {{"phase", "Running"}}}})));
  ASSERT_TRUE(WaitUntil([&] { return informer.LastSyncResourceVersion() == "8"; }));
  auto by_owner = informer.ByIndex(kOwnerUidIndex, "u3");
  ASSERT_TRUE(by_owner.ok());
  ASSERT_EQ(by_owner->size(), 1u);
  EXPECT_EQ((*by_owner)[0]->at("status").value("phase", ""), "Running");
  EXPECT_EQ(keys(kNodeNameIndex, "n2"), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(keys(kNamespaceIndex, "ns"), std::vector<std::string>{"ns/a"});
  w->Push(Event("DELETED", Obj("ns", "a", 9)));
  ASSERT_TRUE(WaitUntil([&] { return informer.LastSyncResourceVersion() == "9"; }));
  EXPECT_TRUE(informer.IndexValues(kOwnerUidIndex).empty());
  EXPECT_TRUE(informer.IndexValues(kNodeNameIndex).empty());
  EXPECT_TRUE(informer.IndexValues(kNamespaceIndex).empty());
}

// One informer shared by parts of a process that start at different times (the node agent and
// the load balancer): what is added late sees every object once, whatever the informer is doing.
TEST(InformerTest, HandlersAndIndexesAddedAfterStartSeeEveryObjectOnce) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> {
    return ListOf(5, {Obj("ns", "a", 3, {{"spec", {{"nodeName", "n1"}}}}), Obj("ns", "b", 4)});
  };
  Informer informer(&client, "/api/v1/pods", Fast());
  EventRecorder early;
  ASSERT_TRUE(informer.AddEventHandler(early.Handler()).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(5s));
  auto w = client.WaitForWatch(0);
  ASSERT_NE(w, nullptr);

  // Events keep arriving while the late handler is added: each reaches it exactly once, either
  // in its replay of the cache (as an add) or afterwards (as the event itself).
  std::thread feeder([&] {
    for (int i = 0; i < 200; ++i) w->Push(Event("ADDED", Obj("ns", "c" + std::to_string(i), 10 + i)));
  });
  std::mutex mu;
  std::map<std::string, int> adds;  // key -> adds seen by the late handler
  ResourceEventHandler late;
  late.on_add = [&](const ObjectPtr& o) {
    std::lock_guard<std::mutex> lock(mu);
    ++adds[ObjectKey(*o)];
  };
  ASSERT_TRUE(informer.AddEventHandler(late).ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(adds.count("ns/a"), 1u) << "the replay ran before AddEventHandler returned";
    EXPECT_EQ(adds.count("ns/b"), 1u);
  }
  feeder.join();
  ASSERT_TRUE(WaitUntil([&] { return informer.LastSyncResourceVersion() == "209"; }));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(adds.size(), 202u);
    for (const auto& [key, n] : adds) EXPECT_EQ(n, 1) << key;
  }
  EXPECT_EQ(early.Count("add "), 202u);

  // A late index is built from the cache, then follows events like any other.
  ASSERT_TRUE(informer.AddIndexer(kNodeNameIndex, IndexByNodeName).ok());
  EXPECT_EQ(informer.AddIndexer(kNodeNameIndex, IndexByNodeName).code(), Code::kAlreadyExists);
  auto on_n1 = informer.ByIndex(kNodeNameIndex, "n1");
  ASSERT_TRUE(on_n1.ok());
  ASSERT_EQ(on_n1->size(), 1u);
  EXPECT_EQ(ObjectKey(*(*on_n1)[0]), "ns/a");
  w->Push(Event("MODIFIED", Obj("ns", "b", 300, {{"spec", {{"nodeName", "n1"}}}})));
  ASSERT_TRUE(WaitUntil([&] { return informer.LastSyncResourceVersion() == "300"; }));
  EXPECT_EQ(informer.ByIndex(kNodeNameIndex, "n1")->size(), 2u);
}

TEST(InformerTest, RemovedHandlersAreNeverCalledAgain) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> { return ListOf(5, {Obj("ns", "a", 3)}); };
  Informer informer(&client, "/api/v1/pods", Fast());
  int owner_a = 0, owner_b = 0;  // their addresses tag the handlers
  EventRecorder a, b, forever;
  ResourceEventHandler ha = a.Handler(), hb = b.Handler();
  ha.owner = &owner_a;
  hb.owner = &owner_b;
  ASSERT_TRUE(informer.AddEventHandler(ha).ok());
  ASSERT_TRUE(informer.AddEventHandler(hb).ok());
  ASSERT_TRUE(informer.AddEventHandler(forever.Handler()).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(5s));
  auto w = client.WaitForWatch(0);
  ASSERT_NE(w, nullptr);
  w->Push(Event("ADDED", Obj("ns", "b", 6)));
  ASSERT_TRUE(forever.WaitForSize(2));
  informer.RemoveEventHandlers(&owner_a);
  informer.RemoveEventHandlers(nullptr);  // removes nothing: null is "no owner"
  w->Push(Event("ADDED", Obj("ns", "c", 7)));
  ASSERT_TRUE(forever.WaitForSize(3));
  ASSERT_TRUE(b.WaitForSize(3));
  EXPECT_EQ(a.Events(), (std::vector<std::string>{"add ns/a 3", "add ns/b 6"}));
}

TEST(InformerTest, ReadyMadeIndexFunctions) {
  EXPECT_EQ(IndexByNamespace(Obj("ns", "a", 1)), std::vector<std::string>{"ns"});
  EXPECT_TRUE(IndexByNamespace(Obj("", "node", 1)).empty());
  EXPECT_TRUE(IndexByNodeName(Obj("ns", "a", 1)).empty());
  EXPECT_TRUE(IndexByNodeName(json("not an object")).empty());
  EXPECT_TRUE(IndexByOwnerUid(Obj("ns", "a", 1, {{"metadata", {{"ownerReferences", "junk"}}}})).empty());
  EXPECT_EQ(ObjectKey(Obj("ns", "a", 1)), "ns/a");
  EXPECT_EQ(ObjectKey(Obj("", "a", 1)), "a");
}

TEST(SharedInformerFactoryTest, SharesOneInformerPerResource) {
  FakeApiClient client;
  client.on_list = [](const Query&) -> Result<json> { return ListOf(5, {Obj("ns", "a", 3)}); };
  SharedInformerFactory factory(&client, Fast());
  Informer* pods = factory.ForResource("/api/v1/pods");
  EXPECT_EQ(factory.ForResource("/api/v1/pods"), pods);
  Informer* labelled = factory.ForResource("/api/v1/pods", "app=web");
  EXPECT_NE(labelled, pods);
  EXPECT_EQ(labelled->options().label_selector, "app=web");
  Informer* rs = factory.ForResource("/apis/apps/v1/replicasets");
  EXPECT_NE(rs, pods);
  EXPECT_FALSE(factory.WaitForSyncAll(10ms));
  factory.StartAll();
  factory.StartAll();  // idempotent
  EXPECT_TRUE(factory.WaitForSyncAll(5s));
  EXPECT_EQ(client.ListQueries().size(), 3u);
  EXPECT_NE(pods->Get("ns/a"), nullptr);
  auto start = std::chrono::steady_clock::now();
  factory.StopAll();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace capstan::client
