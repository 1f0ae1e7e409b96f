// ResourceService's updates over a real RocksStore: the spec/status split, what a /status write
// is checked on, and the read of the current object before a write.
#include "api/resource_service.h"

#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/decoded_event_cache.h"
#include "api/object_meta.h"
#include "api/stored_object_memo.h"

namespace capstan::api {
namespace {

using testing::ApiTest;
using testing::ConfigMap;
using testing::Deployment;

class ResourceServiceUpdateTest : public ApiTest {};

TEST_F(ResourceServiceUpdateTest, MainWritesNeverChangeStatusAndStatusWritesNeverChangeSpec) {
  json d = MustCreate(Deployments(), "default", Deployment("web"));
  json st = d;
  st["status"] = {{"replicas", 2}, {"readyReplicas", 1}};
  st["spec"]["replicas"] = 9;                  // ignored by /status
  st["metadata"]["labels"]["from"] = "status";  // ignored by /status
  auto s = service_->Update(Deployments(), "default", "web", "status", st, WriteOptions{});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)["status"]["readyReplicas"], 1);
  EXPECT_EQ((*s)["spec"]["replicas"], 2);
  EXPECT_FALSE((*s)["metadata"]["labels"].contains("from"));

  json main = *s;
  main["status"] = {{"replicas", 100}};
  main["spec"]["replicas"] = 3;
  auto m = service_->Update(Deployments(), "default", "web", "", main, WriteOptions{});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)["spec"]["replicas"], 3);
  EXPECT_EQ((*m)["status"]["replicas"], 2);
  EXPECT_EQ((*m)["status"]["readyReplicas"], 1);

  // The same through patches.
  auto mp = service_->Patch(Deployments(), "default", "web", "", PatchType::kMerge,
                            json{{"status", {{"replicas", 50}}}}, WriteOptions{});
  ASSERT_TRUE(mp.ok()) << mp.status().ToString();
  EXPECT_EQ((*mp)["status"]["replicas"], 2);
  auto sp = service_->Patch(Deployments(), "default", "web", "status", PatchType::kMerge,
                            json{{"spec", {{"replicas", 50}}}, {"status", {{"replicas", 3}}}}, WriteOptions{});
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  EXPECT_EQ((*sp)["spec"]["replicas"], 3);
  EXPECT_EQ((*sp)["status"]["replicas"], 3);
  // The stored object with another status (what controllers send) is kept as it is; the same
  // status again writes nothing (no new revision).
  json same = *sp;
  same["status"]["replicas"] = 4;
  auto four = service_->Update(Deployments(), "default", "web", "status", same, WriteOptions{});
  ASSERT_TRUE(four.ok()) << four.status().ToString();
  EXPECT_EQ((*four)["status"]["replicas"], 4);
  EXPECT_EQ((*four)["spec"], (*sp)["spec"]);
  EXPECT_EQ((*four)["metadata"]["labels"], (*sp)["metadata"]["labels"]);
  EXPECT_NE(MetaString(*four, "resourceVersion"), MetaString(*sp, "resourceVersion"));
  auto again = service_->Update(Deployments(), "default", "web", "status", *four, WriteOptions{});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(MetaString(*again, "resourceVersion"), MetaString(*four, "resourceVersion")) << "a no-op";

  // ConfigMaps have no status subresource.
  EXPECT_TRUE(service_->Update(ConfigMaps(), "default", "x", "status", ConfigMap("x"), WriteOptions{})
                  .status()
                  .IsNotFound());
}

// A /status write is checked on what it may change: its status, against the schema and the kind's
// status rules (the stored spec was checked when it was written).
TEST_F(ResourceServiceUpdateTest, StatusWritesAreCheckedOnTheirStatus) {
  MustCreate(Deployments(), "default", Deployment("web"));
  auto negative = service_->Patch(Deployments(), "default", "web", "status", PatchType::kMerge,
                                  json{{"status", {{"replicas", -1}}}}, WriteOptions{});
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), Code::kInvalid);
  EXPECT_NE(negative.status().details().find("status.replicas"), std::string::npos) << negative.status().details();
  auto unknown = service_->Patch(Deployments(), "default", "web", "status", PatchType::kMerge,
                                 json{{"status", {{"replicaz", 1}}}}, WriteOptions{});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kBadRequest);
  EXPECT_NE(unknown.status().message().find("unknown field \"status.replicaz\""), std::string::npos)
      << unknown.status().message();

  const KindInfo& pods = Kind("", "pods");
  const json pod = {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"name", "p"}}},
                    {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  MustCreate(pods, "default", pod);
  auto running = service_->Patch(pods, "default", "p", "status", PatchType::kMerge,
                                 json{{"status", {{"phase", "Running"}}}}, WriteOptions{});
  ASSERT_TRUE(running.ok()) << running.status().ToString();
  EXPECT_EQ((*running)["status"]["phase"], "Running");
  EXPECT_EQ((*running)["spec"]["containers"][0]["image"], "busybox");
  auto wrong_type = service_->Patch(pods, "default", "p", "status", PatchType::kMerge,
                                    json{{"status", {{"phase", 3}}}}, WriteOptions{});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().ToString().find("status.phase"), std::string::npos) << wrong_type.status().ToString();
  // The main resource still checks the whole object.
  auto spec = service_->Patch(pods, "default", "p", "", PatchType::kMerge,
                              json{{"spec", {{"containers", {{{"name", "c"}, {"image", ""}}}}}}}, WriteOptions{});
  EXPECT_FALSE(spec.ok());
}

// A write reads the object it changes from the decoded event that wrote it when the cache holds
// that event (the watches decoded it already), and parses the stored value otherwise.
TEST_F(ResourceServiceUpdateTest, ReadsForWritesTakeTheDecodedEventWhenHeld) {
  MustCreate(ConfigMaps(), "default", ConfigMap("c"));
  auto kv = store_->Get("/registry/configmaps/default/c");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  auto parsed = service_->DecodeRead(*kv);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["metadata"]["resourceVersion"], std::to_string(kv->mod_revision));
  EXPECT_FALSE((*parsed)["metadata"].value("labels", json::object()).contains("from"));

  // The event of that revision, as a watch would have decoded it; marked so the test can tell.
  json marked = json::parse(kv->value);
  marked["metadata"]["labels"]["from"] = "event";
  auto ev = std::make_shared<store::Event>();
  ev->revision = kv->mod_revision;
  ev->kv = *kv;
  ev->kv.value = marked.dump();
  service_->decoded_events()->Get(ev);
  auto cached = service_->DecodeRead(*kv);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ((*cached)["metadata"]["labels"]["from"], "event");
  EXPECT_EQ((*cached)["metadata"]["resourceVersion"], std::to_string(kv->mod_revision));

  // Another key at that revision (an etcd transaction) is not taken for this one.
  store::KeyValue other = *kv;
  other.key = "/registry/configmaps/default/d";
  auto not_cached = service_->DecodeRead(other);
  ASSERT_TRUE(not_cached.ok());
  EXPECT_FALSE((*not_cached)["metadata"].value("labels", json::object()).contains("from"));
}

// A write starts from the newest object the decoded-event cache holds for its key (a guess that
// saves the store read), but a guess the store has moved past never decides anything: the write
// conflicts and is made on the stored object; a no-op on the guess is checked on the stored one
// too; and a binding refused on the stored object is refused.
TEST_F(ResourceServiceUpdateTest, WritesOnAStaleGuessStillApplyToTheStoredObject) {
  const KindInfo& pods = Kind("", "pods");
  auto event_of = [](const store::KeyValue& kv) {
    auto ev = std::make_shared<store::Event>();
    ev->revision = kv.mod_revision;
    ev->kv = kv;
    return ev;
  };
  // Written behind the cache's back: as if its event were not decoded yet.
  auto write_behind = [&](const std::string& key, const std::function<void(json&)>& change) {
    auto kv = store_->Get(key);
    ASSERT_TRUE(kv.ok());
    json obj = json::parse(kv->value);
    change(obj);
    ASSERT_TRUE(store_->Update(key, obj.dump(), store::Precondition{kv->mod_revision}).ok());
  };
  for (const char* name : {"p", "q"}) {
    MustCreate(pods, "default", json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}},
                                     {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}});
  }
  const std::string p_key = "/registry/pods/default/p", q_key = "/registry/pods/default/q";
  auto p1 = store_->Get(p_key);
  auto q1 = store_->Get(q_key);
  ASSERT_TRUE(p1.ok() && q1.ok());
  // The cache decodes both, and something holds them (as the informers would).
  ObjectRef held_p = service_->decoded_events()->Get(event_of(*p1))->cur();
  ObjectRef held_q = service_->decoded_events()->Get(event_of(*q1))->cur();
  ASSERT_EQ(service_->decoded_events()->NewestOf(p_key).object, held_p);
  const json first_phase = (*held_p)["status"].value("phase", json());

  write_behind(p_key, [](json& o) {
    o["metadata"]["labels"]["later"] = "yes";
    o["status"]["phase"] = "Running";
  });
  auto patched = service_->PatchShared(pods, "default", "p", "status", PatchType::kMerge,
                                       json{{"status", {{"message", "m"}}}}, WriteOptions{});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((**patched)["metadata"]["labels"]["later"], "yes") << "made on the stored object";
  EXPECT_EQ((**patched)["status"]["phase"], "Running");
  EXPECT_EQ((**patched)["status"]["message"], "m");

  // Back to the first phase: nothing to do on the (stale) guess, a change on the stored object.
  auto back = service_->PatchShared(pods, "default", "p", "status", PatchType::kMerge,
                                    json{{"status", {{"phase", first_phase}}}}, WriteOptions{});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((**back)["status"].value("phase", json()), first_phase);
  EXPECT_GT(std::stoll(MetaString(**back, "resourceVersion")), std::stoll(MetaString(**patched, "resourceVersion")))
      << "written, not taken for a no-op";

  // An update (PUT) without a resourceVersion on a stale guess: also made on the stored object.
  json label_put = *held_p;  // the guess itself, relabelled
  label_put["metadata"].erase("resourceVersion");
  label_put["metadata"]["labels"]["put"] = "yes";
  auto put = service_->UpdateShared(pods, "default", "p", "", label_put, WriteOptions{});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((**put)["metadata"]["labels"]["put"], "yes");
  EXPECT_FALSE((**put)["metadata"]["labels"].contains("later")) << "a PUT replaces the labels";
  EXPECT_EQ((**put)["status"]["message"], "m") << "status kept from the stored object";

  write_behind(q_key, [](json& o) { o["spec"]["nodeName"] = "n0"; });
  Status bound = service_->Bind(pods, "default", "q", json{{"target", {{"kind", "Node"}, {"name", "n1"}}}},
                                WriteOptions{});
  EXPECT_TRUE(bound.IsConflict()) << bound.ToString();
  EXPECT_NE(bound.message().find("already assigned to node \"n0\""), std::string::npos) << bound.ToString();
}

// A patch refused on the object itself is answered at once with its own reason, on a guess and
// on the stored object alike: a uid precondition that does not hold (409 "Precondition
// failed") and a failed JSON-patch test (422) are not races to retry.
TEST_F(ResourceServiceUpdateTest, APatchRefusedOnTheObjectIsAnsweredAtOnce) {
  MustCreate(ConfigMaps(), "default", ConfigMap("t"));
  auto kv = store_->Get("/registry/configmaps/default/t");
  ASSERT_TRUE(kv.ok());
  auto ev = std::make_shared<store::Event>();
  ev->revision = kv->mod_revision;
  ev->kv = *kv;
  ObjectRef held = service_->decoded_events()->Get(ev)->cur();  // the guess is current
  auto uid = service_->PatchShared(ConfigMaps(), "default", "t", "", PatchType::kMerge,
                                   json{{"metadata", {{"uid", "not-its-uid"}}}}, WriteOptions{});
  ASSERT_FALSE(uid.ok());
  EXPECT_TRUE(uid.status().IsConflict()) << uid.status().ToString();
  EXPECT_NE(uid.status().message().find("Precondition failed"), std::string::npos) << uid.status().ToString();
  const json test = json::array({{{"op", "test"}, {"path", "/metadata/name"}, {"value", "other"}}});
  auto tested = service_->PatchShared(ConfigMaps(), "default", "t", "", PatchType::kJson, test, WriteOptions{});
  ASSERT_FALSE(tested.ok());
  EXPECT_EQ(tested.status().code(), Code::kInvalid) << tested.status().ToString();
  EXPECT_EQ(store_->Get("/registry/configmaps/default/t")->mod_revision, kv->mod_revision) << "nothing written";
}

// Creates, updates, bindings, deletion marks and deletes hand the object they wrote to their
// events (a memo, taken by the event's decode instead of a parse), and it is exactly what decoding
// the stored value gives; the shared answers are that very object, not a copy. A string that is
// not valid UTF-8 is stored replaced, so that write's event parses.
TEST_F(ResourceServiceUpdateTest, WritesHandTheirEventsExactlyWhatTheyStored) {
  const KindInfo& pods = Kind("", "pods");
  auto watch = store_->StartWatch(store::WatchOptions{"/registry/"});
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}, {"labels", {{"app", "x"}}}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  MustCreate(pods, "default", pod);
  ASSERT_TRUE(service_->Bind(pods, "default", "p", json{{"target", {{"kind", "Node"}, {"name", "n1"}}}}, WriteOptions{}).ok());
  auto patched = service_->PatchShared(pods, "default", "p", "status", PatchType::kMerge,
                                       json{{"status", {{"phase", "Running"}, {"message", "ok"}}}}, WriteOptions{});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  auto bad = service_->Patch(pods, "default", "p", "status", PatchType::kMerge,
                             json{{"status", {{"message", std::string("bad \xff byte")}}}}, WriteOptions{});
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  auto marked = service_->DeleteShared(pods, "default", "p", DeleteOptions{});  // a Pod's grace: marked
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  DeleteOptions now;
  now.grace_period_seconds = 0;
  auto deleted = service_->DeleteShared(pods, "default", "p", now);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();

  std::vector<store::EventPtr> events;
  while (events.size() < 6) {
    if ((*watch)->Wait(&events, 10, std::chrono::seconds(5)) == 0) break;
  }
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[5]->type, store::EventType::kDelete);
  std::vector<std::shared_ptr<const DecodedEvent>> decoded;
  for (size_t i = 0; i < events.size(); ++i) {
    const store::EventPtr& ev = events[i];
    const auto* memo = dynamic_cast<const StoredObjectMemo*>(ev->memo.get());
    ASSERT_NE(memo, nullptr) << "event " << i;
    auto stored = DecodeStored(ev->kv.value, ev->revision);
    ASSERT_TRUE(stored.ok());
    decoded.push_back(DecodeEvent(ev));
    ASSERT_TRUE(decoded.back()->ok());
    EXPECT_EQ(*decoded.back()->cur(), *stored) << "event " << i;
    EXPECT_EQ(decoded.back()->cur_json(), stored->dump(-1, ' ', false, json::error_handler_t::replace)) << "event " << i;
    // The first decode took the object; a later one (a watcher the cache dropped) parses.
    EXPECT_EQ(memo->Take(), nullptr) << "event " << i;
    EXPECT_EQ(*DecodeEvent(ev)->cur(), *stored) << "event " << i;
  }
  EXPECT_EQ((*decoded[1]->cur())["spec"]["nodeName"], "n1");
  EXPECT_EQ((*decoded[2]->cur())["status"]["message"], "ok");
  EXPECT_EQ(decoded[2]->cur().get(), patched->get()) << "the patch's answer is its event's object";
  EXPECT_EQ((**patched)["metadata"]["resourceVersion"], std::to_string(events[2]->revision));
  EXPECT_EQ(decoded[4]->cur().get(), marked->get()) << "the deletion mark's answer is its event's object";
  EXPECT_FALSE(MetaString(**marked, "deletionTimestamp").empty());
  EXPECT_EQ(decoded[5]->cur().get(), deleted->get()) << "the delete's answer is its event's object";
  EXPECT_EQ((**deleted)["metadata"]["resourceVersion"], std::to_string(events[5]->revision));
}

}  // namespace
}  // namespace capstan::api
