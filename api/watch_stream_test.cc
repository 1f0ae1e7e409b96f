// Watches through ApiHandler (and WatchStream directly for bookmark timing), read the way the
// HTTP server reads them: SetNotify, then Read whenever notified, until done.
#include "api/watch_stream.h"

#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/decoded_event_cache.h"
#include "api/object_meta.h"
#include "api/stored_object_memo.h"

namespace capstan::api {
namespace {

using namespace std::chrono_literals;
using testing::ApiTest;
using testing::ConfigMap;
using testing::StreamReader;

constexpr char kConfigMaps[] = "/api/v1/namespaces/default/configmaps";

class WatchTest : public ApiTest {
 protected:
  std::unique_ptr<StreamReader> Watch(const std::string& query, bool as_objects = false) {
    HttpResponse r = Do("GET", std::string(kConfigMaps) + query);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.stream, nullptr) << r.body;
    if (!r.stream) return nullptr;
    return std::make_unique<StreamReader>(r.stream, as_objects);
  }
  json Create(const std::string& name, const json& labels = json::object()) {
    return MustCreate(ConfigMaps(), "default", ConfigMap(name, labels));
  }
  json SetLabels(const std::string& name, const json& labels) {
    auto r = service_->Patch(ConfigMaps(), "default", name, "", PatchType::kMerge,
                             json{{"metadata", {{"labels", labels}}}}, WriteOptions{});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }
  static std::vector<std::string> Summary(const std::vector<json>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.push_back(e["type"].get<std::string>() + " " + e["object"]["metadata"].value("name", ""));
    }
    return out;
  }
};

using V = std::vector<std::string>;

TEST_F(WatchTest, FromResourceVersionStreamsLaterChangesInOrder) {
  json a = Create("a");
  std::string rv = MetaString(a, "resourceVersion");
  auto b = service_->Patch(ConfigMaps(), "default", "a", "", PatchType::kMerge, json{{"data", {{"k", "2"}}}},
                           WriteOptions{});
  ASSERT_TRUE(b.ok());
  auto w = Watch("?watch=1&resourceVersion=" + rv);
  ASSERT_NE(w, nullptr);
  Create("c");
  ASSERT_TRUE(service_->Delete(ConfigMaps(), "default", "a", DeleteOptions{}).ok());
  auto events = w->ReadEvents(3);
  EXPECT_EQ(Summary(events), (V{"MODIFIED a", "ADDED c", "DELETED a"}));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["object"]["data"]["k"], "2");
  EXPECT_EQ(events[0]["object"]["metadata"]["resourceVersion"], MetaString(*b, "resourceVersion"));
  int64_t last = 0;
  for (const auto& e : events) {
    int64_t v = ParseResourceVersion(e["object"]["metadata"]["resourceVersion"]);
    EXPECT_GT(v, last);
    last = v;
  }
}

TEST_F(WatchTest, WithoutResourceVersionStartsWithAdded) {
  Create("x");
  Create("y");
  auto w = Watch("?watch=1");
  ASSERT_NE(w, nullptr);
  auto first = w->ReadEvents(2);
  EXPECT_EQ(Summary(first), (V{"ADDED x", "ADDED y"}));
  Create("z");
  EXPECT_EQ(Summary(w->ReadEvents(1)), (V{"ADDED z"}));
  // Objects in other namespaces are not part of this watch.
  ASSERT_TRUE(CreateNamespace("other").ok());
  MustCreate(ConfigMaps(), "other", ConfigMap("elsewhere"));
  Create("zz");
  EXPECT_EQ(Summary(w->ReadEvents(1)), (V{"ADDED zz"}));
}

TEST_F(WatchTest, LabelSelectorTransitions) {
  Create("m", {{"app", "web"}});
  Create("n", {{"app", "db"}});
  auto w = Watch("?watch=1&labelSelector=app%3Dweb");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(Summary(w->ReadEvents(1)), (V{"ADDED m"}));
  SetLabels("m", {{"app", "db"}});   // stops matching
  SetLabels("n", {{"app", "web"}});  // starts matching
  SetLabels("n", {{"app", "web"}, {"v", "2"}});
  Create("o", {{"app", "db"}});      // never matches
  ASSERT_TRUE(service_->Delete(ConfigMaps(), "default", "n", DeleteOptions{}).ok());
  auto events = w->ReadEvents(4);
  EXPECT_EQ(Summary(events), (V{"DELETED m", "ADDED n", "MODIFIED n", "DELETED n"}));
}

// In-process clients read the same events as objects: same types, same objects, same order,
// and the objects of store events are the decoded ones, shared by every such reader.
TEST_F(WatchTest, ObjectReadsEqualTextReadsAndShareDecodedObjects) {
  Create("m", {{"app", "web"}});
  json n = Create("n", {{"app", "db"}});
  const std::string query = "?watch=1&labelSelector=app%3Dweb";
  auto text = Watch(query);
  auto objects = Watch(query, true);
  auto others = Watch(query + "&resourceVersion=" + MetaString(n, "resourceVersion"), true);
  ASSERT_TRUE(text && objects && others);
  SetLabels("m", {{"app", "db"}});   // departs: DELETED with the object before the change
  SetLabels("n", {{"app", "web"}});  // arrives: ADDED
  SetLabels("n", {{"app", "web"}, {"v", "2"}});
  ASSERT_TRUE(service_->Delete(ConfigMaps(), "default", "n", DeleteOptions{}).ok());
  auto want = text->ReadEvents(5);
  auto got = objects->ReadEvents(5);
  EXPECT_EQ(Summary(want), (V{"ADDED m", "DELETED m", "ADDED n", "MODIFIED n", "DELETED n"}));
  EXPECT_EQ(got, want);  // the whole events, objects included
  ASSERT_EQ(others->ReadEvents(4).size(), 4u);
  ASSERT_EQ(objects->objects().size(), 5u);
  for (size_t i = 1; i < 5; ++i) {  // past the initial ADDED, which is the stream's own copy
    EXPECT_EQ(objects->objects()[i].get(), others->objects()[i - 1].get()) << "event " << i;
  }
}

TEST_F(WatchTest, FieldSelectorAndNamedWatch) {
  Create("p");
  Create("q");
  auto w = Watch("?watch=1&fieldSelector=metadata.name%3Dq");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(Summary(w->ReadEvents(1)), (V{"ADDED q"}));
  SetLabels("p", {{"x", "1"}});
  SetLabels("q", {{"x", "1"}});
  EXPECT_EQ(Summary(w->ReadEvents(1)), (V{"MODIFIED q"}));

  // GET .../configmaps/q?watch=1 watches that one object (what `kubectl get cm q -w` does).
  HttpResponse r = Do("GET", std::string(kConfigMaps) + "/q?watch=1");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_NE(r.stream, nullptr);
  StreamReader named(r.stream);
  EXPECT_EQ(Summary(named.ReadEvents(1)), (V{"ADDED q"}));
  SetLabels("p", {{"x", "2"}});
  SetLabels("q", {{"x", "2"}});
  EXPECT_EQ(Summary(named.ReadEvents(1)), (V{"MODIFIED q"}));

  HttpResponse bad = Do("GET", std::string(kConfigMaps) + "?watch=1&fieldSelector=spec.x%3D1");
  EXPECT_EQ(bad.status, 400);
}

TEST_F(WatchTest, TooOldResourceVersionIsOneErrorEvent) {
  Create("a");
  Create("b");
  Create("c");
  ASSERT_TRUE(store_->Compact(store_->CurrentRevision()).ok());
  auto w = Watch("?watch=1&resourceVersion=2");
  ASSERT_NE(w, nullptr);
  std::vector<json> events;
  EXPECT_TRUE(w->WaitDone(2s, &events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ERROR");
  EXPECT_EQ(events[0]["object"]["kind"], "Status");
  EXPECT_EQ(events[0]["object"]["code"], 410);
  EXPECT_EQ(events[0]["object"]["reason"], "Expired");
}

TEST_F(WatchTest, TimeoutSecondsEndsTheStream) {
  auto start = std::chrono::steady_clock::now();
  auto w = Watch("?watch=1&timeoutSeconds=1");
  ASSERT_NE(w, nullptr);
  std::vector<json> events;
  EXPECT_TRUE(w->WaitDone(5s, &events));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(events.empty());
}

TEST_F(WatchTest, TableWatch) {
  Create("t1");
  HttpRequest req = testing::Request("GET", std::string(kConfigMaps) + "?watch=1");
  req.headers.Add("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io, application/json");
  HttpResponse r = Do(req);
  ASSERT_EQ(r.status, 200);
  ASSERT_NE(r.stream, nullptr);
  StreamReader reader(r.stream);
  auto first = reader.ReadEvents(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["object"]["kind"], "Table");
  EXPECT_FALSE(first[0]["object"]["columnDefinitions"].empty());
  EXPECT_EQ(first[0]["object"]["rows"][0]["cells"][0], "t1");
  Create("t2");
  auto second = reader.ReadEvents(1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(second[0]["object"]["columnDefinitions"].empty()) << "column definitions only come once";
  EXPECT_EQ(second[0]["object"]["rows"][0]["cells"][0], "t2");
}

TEST_F(WatchTest, BookmarksCarryTheLatestRevision) {
  json a = Create("a");
  int64_t start = store_->CurrentRevision();
  store::WatchOptions wo;
  wo.prefix = StorePrefix(ConfigMaps(), "default");
  wo.start_revision = start;
  auto relay = std::make_shared<NotifyRelay>();
  wo.notify = [relay] { relay->Fire(); };
  auto watch = store_->StartWatch(wo);
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  WatchSpec spec;
  spec.kind = &ConfigMaps();
  spec.ns = "default";
  spec.bookmarks = true;
  spec.bookmark_interval = 1s;
  spec.timeout = 30s;
  auto stream = std::make_shared<WatchStream>(std::move(spec), std::vector<json>{}, std::move(*watch), start, relay);
  EXPECT_LE(stream->Deadline(), std::chrono::steady_clock::now() + 1s);
  StreamReader reader(stream);
  json b = Create("b");
  auto events = reader.ReadEvents(2, 5s);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[1]["type"], "BOOKMARK");
  EXPECT_EQ(events[1]["object"]["kind"], "ConfigMap");
  EXPECT_EQ(events[1]["object"]["metadata"]["resourceVersion"], MetaString(b, "resourceVersion"));
}

TEST_F(WatchTest, ManyEventsArriveInOrder) {
  auto w = Watch("?watch=1");
  ASSERT_NE(w, nullptr);
  constexpr int kCount = 600;  // more than one Read() takes at a time
  std::vector<store::Op> ops;
  for (int i = 0; i < kCount; ++i) {
    json cm = ConfigMap("bulk-" + std::to_string(i));
    cm["metadata"]["namespace"] = "default";
    cm["metadata"]["uid"] = NewUid();
    ops.push_back(store::Op{store::Op::Kind::kCreate, StoreKey(ConfigMaps(), "default", "bulk-" + std::to_string(i)),
                            EncodeForStore(cm), {}});
  }
  ASSERT_TRUE(store_->Txn(ops).ok());
  auto events = w->ReadEvents(kCount, 10s);
  ASSERT_EQ(events.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(events[i]["object"]["metadata"]["name"], "bulk-" + std::to_string(i));
  }
}

store::EventPtr PutEvent(int64_t revision, const std::string& key, const std::string& name) {
  auto e = std::make_shared<store::Event>();
  e->revision = revision;
  e->kv = store::KeyValue{key, json{{"metadata", {{"name", name}}}}.dump(), revision, revision};
  return e;
}

// A selector watch checks an update's previous state against the event that wrote it, when the
// cache still holds it (Peek); Peek never decodes, and neither it nor Get confuses two keys
// written at one revision (an etcd transaction).
TEST(DecodedEventCacheTest, PeekFindsOnlyWhatWasDecodedForThatKeyAndRevision) {
  DecodedEventCache cache;
  EXPECT_EQ(cache.Peek(7, "/k/a"), nullptr);
  auto a = cache.Get(PutEvent(7, "/k/a", "a"));
  EXPECT_EQ(cache.Peek(7, "/k/a"), a);
  EXPECT_EQ(cache.Peek(7, "/k/b"), nullptr);
  EXPECT_EQ(cache.Peek(8, "/k/a"), nullptr);
  EXPECT_EQ(cache.Peek(0, "/k/a"), nullptr);
  auto b = cache.Get(PutEvent(7, "/k/b", "b"));
  ASSERT_TRUE(b->ok());
  EXPECT_EQ((*b->cur())["metadata"]["name"], "b");
  EXPECT_EQ(cache.Peek(7, "/k/a"), nullptr);  // replaced in its slot
  EXPECT_EQ(cache.Peek(7, "/k/b"), b);
}

// A write reads the object it changes through Latest: the object of the newest revision decoded
// for the key, as long as someone holds it (here `held`, as an informer's cache would), also
// after its slot was reused; never an older or newer revision, never after a delete, and not once
// nobody holds it.
TEST(DecodedEventCacheTest, LatestFindsTheHeldObjectOfAKeyAtItsRevision) {
  constexpr int64_t kRing = 4096;  // DecodedEventCache::kSlots
  DecodedEventCache cache;
  EXPECT_EQ(cache.Latest("/k/a", 5), nullptr);
  ObjectRef held = cache.Get(PutEvent(5, "/k/a", "a5"))->cur();
  EXPECT_EQ(cache.Latest("/k/a", 5), held);
  EXPECT_EQ(cache.Latest("/k/a", 4), nullptr);
  EXPECT_EQ(cache.Latest("/k/b", 5), nullptr);
  (void)cache.Get(PutEvent(5 + kRing, "/k/other", "x"));  // the slot of revision 5 reused
  EXPECT_EQ(cache.Peek(5, "/k/a"), nullptr);
  EXPECT_EQ(cache.Latest("/k/a", 5), held) << "still held: found without the slot";

  ObjectRef newer = cache.Get(PutEvent(7, "/k/a", "a7"))->cur();
  EXPECT_EQ(cache.Latest("/k/a", 5), nullptr);
  EXPECT_EQ(cache.Latest("/k/a", 7), newer);
  (void)cache.Get(PutEvent(6, "/k/a", "a6"));  // a watcher behind decodes an older event
  EXPECT_EQ(cache.Latest("/k/a", 7), newer) << "never back to an older revision";

  auto deleted = std::make_shared<store::Event>(*PutEvent(9, "/k/a", "a7"));
  deleted->type = store::EventType::kDelete;
  (void)cache.Get(deleted);
  EXPECT_EQ(cache.Latest("/k/a", 7), nullptr) << "forgotten once deleted";
  EXPECT_EQ(cache.Latest("/k/a", 9), nullptr);

  (void)cache.Get(PutEvent(11, "/k/c", "c"));  // held by its slot only
  ASSERT_NE(cache.Latest("/k/c", 11), nullptr);
  (void)cache.Get(PutEvent(11 + kRing, "/k/other", "y"));
  EXPECT_EQ(cache.Latest("/k/c", 11), nullptr) << "held by no one: not kept alive by the index";
}

// An event whose write attached the object it encoded (stored_object_memo.h) is decoded by taking
// that object, stamped with the revision, not by parsing the value; once taken, the next decode
// of the same event (the cache dropped it) parses.
TEST(DecodedEventCacheTest, AnEventsMemoIsTakenInsteadOfAParse) {
  auto obj = std::make_shared<json>(json{{"metadata", {{"name", "from-memo"}}}});
  EncodedWrite encoded = EncodeWrite(obj);
  ASSERT_NE(encoded.memo, nullptr);
  encoded.memo->Stamp(9);
  auto e = std::make_shared<store::Event>();
  e->revision = 9;
  e->kv = store::KeyValue{"/k/a", json{{"metadata", {{"name", "from-value"}}}}.dump(), 9, 9};  // tells them apart
  e->memo = encoded.memo;
  DecodedEventCache cache;
  auto first = cache.Get(e);
  ASSERT_TRUE(first->ok());
  EXPECT_EQ(first->cur().get(), obj.get()) << "the writer's object itself, not a copy";
  EXPECT_EQ((*first->cur())["metadata"]["resourceVersion"], "9");
  auto again = DecodeEvent(e);
  EXPECT_EQ((*again->cur())["metadata"]["name"], "from-value");
  EXPECT_EQ((*again->cur())["metadata"]["resourceVersion"], "9");
}

TEST(WatchStreamErrorTest, SendsOneEventAndEnds) {
  auto s = WatchStream::Error(Status::Expired("too old resource version: 1 (5)"));
  bool done = false;
  std::string out = s->Read(&done);
  EXPECT_TRUE(done);
  json ev = json::parse(out);
  EXPECT_EQ(ev["type"], "ERROR");
  EXPECT_EQ(ev["object"]["code"], 410);
  EXPECT_EQ(s->Read(&done), "");
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace capstan::api
