// ResourceService over a real RocksStore: the object contract (server-set metadata, generation,
// optimistic concurrency, finalizers, propagation, dry runs, namespaces). The spec/status split
// and the read before a write: resource_service_update_test.cc.
#include "api/resource_service.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/object_meta.h"

namespace capstan::api {
namespace {

using testing::ApiTest;
using testing::ConfigMap;
using testing::Deployment;

class ResourceServiceTest : public ApiTest {};

TEST_F(ResourceServiceTest, CreateSetsServerOwnedMetadata) {
  json in = Deployment("web");
  in["metadata"]["uid"] = "client-chosen";
  in["metadata"]["generation"] = 7;
  in["status"] = {{"replicas", 5}};
  auto out = service_->Create(Deployments(), "default", in, WriteOptions{});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const json& m = (*out)["metadata"];
  EXPECT_EQ(m["namespace"], "default");
  EXPECT_NE(m["uid"], "client-chosen");
  EXPECT_EQ(m["uid"].get<std::string>().size(), 36u);
  EXPECT_EQ(m["generation"], 1);
  EXPECT_GT(ParseResourceVersion(m["resourceVersion"].get<std::string>()), 0);
  EXPECT_EQ(m["creationTimestamp"].get<std::string>().size(), 20u);  // 2024-01-02T03:04:05Z
  EXPECT_FALSE((*out)["status"].contains("replicas")) << "status is reset on create";
  // Defaults were applied.
  EXPECT_EQ((*out)["spec"]["strategy"]["type"], "RollingUpdate");

  auto got = service_->Get(Deployments(), "default", "web");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *out);
}

TEST_F(ResourceServiceTest, CreateWithGenerateName) {
  json in = ConfigMap("");
  in["metadata"].erase("name");
  in["metadata"]["generateName"] = "cfg-";
  std::set<std::string> names;
  for (int i = 0; i < 3; ++i) {
    auto out = service_->Create(ConfigMaps(), "default", in, WriteOptions{});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    std::string name = MetaString(*out, "name");
    EXPECT_EQ(name.rfind("cfg-", 0), 0u) << name;
    EXPECT_EQ(name.size(), 9u) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 3u);
}

TEST_F(ResourceServiceTest, CreateErrors) {
  MustCreate(ConfigMaps(), "default", ConfigMap("a"));
  auto dup = service_->Create(ConfigMaps(), "default", ConfigMap("a"), WriteOptions{});
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(dup.status().IsAlreadyExists());
  EXPECT_EQ(dup.status().message(), "configmaps \"a\" already exists");

  auto no_ns = service_->Create(ConfigMaps(), "missing", ConfigMap("a"), WriteOptions{});
  ASSERT_FALSE(no_ns.ok());
  EXPECT_TRUE(no_ns.status().IsNotFound());
  EXPECT_EQ(no_ns.status().message(), "namespaces \"missing\" not found");

  json with_rv = ConfigMap("b");
  with_rv["metadata"]["resourceVersion"] = "5";
  auto rv = service_->Create(ConfigMaps(), "default", with_rv, WriteOptions{});
  EXPECT_EQ(rv.status().code(), Code::kBadRequest);

  json wrong_kind = ConfigMap("c");
  wrong_kind["kind"] = "Secret";
  EXPECT_EQ(service_->Create(ConfigMaps(), "default", wrong_kind, WriteOptions{}).status().code(), Code::kBadRequest);
  json wrong_version = ConfigMap("c");
  wrong_version["apiVersion"] = "v2";
  EXPECT_EQ(service_->Create(ConfigMaps(), "default", wrong_version, WriteOptions{}).status().code(),
            Code::kBadRequest);

  json other_ns = ConfigMap("d");
  other_ns["metadata"]["namespace"] = "kube-system";
  EXPECT_EQ(service_->Create(ConfigMaps(), "default", other_ns, WriteOptions{}).status().code(), Code::kBadRequest);
}

TEST_F(ResourceServiceTest, GetMissingNamesTheResource) {
  auto got = service_->Get(Deployments(), "default", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.status().IsNotFound());
  EXPECT_EQ(got.status().message(), "deployments.apps \"x\" not found");
}

TEST_F(ResourceServiceTest, UpdateWithStaleResourceVersionConflicts) {
  json created = MustCreate(ConfigMaps(), "default", ConfigMap("a"));
  json v1 = created;
  v1["data"]["key"] = "one";
  auto first = service_->Update(ConfigMaps(), "default", "a", "", v1, WriteOptions{});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_NE(MetaString(*first, "resourceVersion"), MetaString(created, "resourceVersion"));

  json stale = created;  // still carries the old resourceVersion
  stale["data"]["key"] = "two";
  auto second = service_->Update(ConfigMaps(), "default", "a", "", stale, WriteOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsConflict());
  EXPECT_NE(second.status().message().find("the object has been modified"), std::string::npos);

  json unconditional = created;
  unconditional["metadata"].erase("resourceVersion");
  unconditional["data"]["key"] = "three";
  auto third = service_->Update(ConfigMaps(), "default", "a", "", unconditional, WriteOptions{});
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ((*service_->Get(ConfigMaps(), "default", "a"))["data"]["key"], "three");
}

TEST_F(ResourceServiceTest, UpdateKeepsServerOwnedMetadata) {
  json created = MustCreate(ConfigMaps(), "default", ConfigMap("a"));
  json next = created;
  next["metadata"]["creationTimestamp"] = "2001-01-01T00:00:00Z";
  next["metadata"].erase("uid");
  auto out = service_->Update(ConfigMaps(), "default", "a", "", next, WriteOptions{});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["metadata"]["uid"], created["metadata"]["uid"]);
  EXPECT_EQ((*out)["metadata"]["creationTimestamp"], created["metadata"]["creationTimestamp"]);

  json renamed = created;
  renamed["metadata"]["name"] = "b";
  EXPECT_EQ(service_->Update(ConfigMaps(), "default", "a", "", renamed, WriteOptions{}).status().code(),
            Code::kBadRequest);
  json moved = created;
  moved["metadata"]["namespace"] = "kube-system";
  EXPECT_EQ(service_->Update(ConfigMaps(), "default", "a", "", moved, WriteOptions{}).status().code(),
            Code::kBadRequest);
  EXPECT_TRUE(service_->Update(ConfigMaps(), "default", "zz", "", ConfigMap("zz"), WriteOptions{}).status().IsNotFound());
}

TEST_F(ResourceServiceTest, NoOpUpdateKeepsTheRevision) {
  json created = MustCreate(ConfigMaps(), "default", ConfigMap("a"));
  int64_t before = store_->CurrentRevision();
  auto out = service_->Update(ConfigMaps(), "default", "a", "", created, WriteOptions{});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(MetaString(*out, "resourceVersion"), MetaString(created, "resourceVersion"));
  EXPECT_EQ(store_->CurrentRevision(), before);
}

TEST_F(ResourceServiceTest, GenerationCountsSpecChangesOnly) {
  json d = MustCreate(Deployments(), "default", Deployment("web"));
  ASSERT_EQ(d["metadata"]["generation"], 1);

  d["metadata"]["labels"]["extra"] = "yes";
  auto labels = service_->Update(Deployments(), "default", "web", "", d, WriteOptions{});
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  EXPECT_EQ((*labels)["metadata"]["generation"], 1);

  json spec = *labels;
  spec["spec"]["replicas"] = 5;
  auto changed = service_->Update(Deployments(), "default", "web", "", spec, WriteOptions{});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ((*changed)["metadata"]["generation"], 2);

  // A client cannot set generation.
  json forged = *changed;
  forged["metadata"]["generation"] = 40;
  auto f = service_->Update(Deployments(), "default", "web", "", forged, WriteOptions{});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)["metadata"]["generation"], 2);

  // Status writes never bump it.
  json st = *f;
  st["status"] = {{"replicas", 5}, {"observedGeneration", 2}};
  auto s = service_->Update(Deployments(), "default", "web", "status", st, WriteOptions{});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)["metadata"]["generation"], 2);
}

TEST_F(ResourceServiceTest, PatchTypes) {
  MustCreate(Deployments(), "default", Deployment("web"));
  // Merge patch replaces lists.
  auto merge = service_->Patch(
      Deployments(), "default", "web", "", PatchType::kMerge,
      json::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.26"}]}}}})"),
      WriteOptions{});
  ASSERT_TRUE(merge.ok()) << merge.status().ToString();
  EXPECT_EQ((*merge)["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ((*merge)["metadata"]["generation"], 2);

  // Strategic merge patch merges containers by name.
  auto smp = service_->Patch(
      Deployments(), "default", "web", "", PatchType::kStrategic,
      json::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"redis:7"},
                                                                {"name":"app","image":"nginx:1.27"}]}}}})"),
      WriteOptions{});
  ASSERT_TRUE(smp.ok()) << smp.status().ToString();
  const json& cs = (*smp)["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 2u) << cs.dump();
  std::map<std::string, std::string> images;
  for (const auto& c : cs) images[c["name"]] = c["image"];
  EXPECT_EQ(images["app"], "nginx:1.27");
  EXPECT_EQ(images["extra"], "redis:7");

  // JSON patch.
  auto jp = service_->Patch(Deployments(), "default", "web", "", PatchType::kJson,
                            json::parse(R"([{"op":"replace","path":"/spec/replicas","value":4}])"), WriteOptions{});
  ASSERT_TRUE(jp.ok()) << jp.status().ToString();
  EXPECT_EQ((*jp)["spec"]["replicas"], 4);

  // A failing test op changes nothing and is 422, as Kubernetes answers it.
  std::string rv = MetaString(*jp, "resourceVersion");
  auto test = service_->Patch(
      Deployments(), "default", "web", "", PatchType::kJson,
      json::parse(R"([{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":1}])"),
      WriteOptions{});
  ASSERT_FALSE(test.ok());
  EXPECT_EQ(test.status().code(), Code::kInvalid) << test.status().ToString();
  EXPECT_EQ(MetaString(*service_->Get(Deployments(), "default", "web"), "resourceVersion"), rv);

  // A resourceVersion in a patch is a precondition.
  auto pinned = service_->Patch(Deployments(), "default", "web", "", PatchType::kMerge,
                                json{{"metadata", {{"resourceVersion", "1"}}}, {"spec", {{"replicas", 1}}}},
                                WriteOptions{});
  EXPECT_TRUE(pinned.status().IsConflict());

  EXPECT_TRUE(service_->Patch(Deployments(), "default", "nope", "", PatchType::kMerge, json::object(), WriteOptions{})
                  .status()
                  .IsNotFound());
}

TEST_F(ResourceServiceTest, ScaleGetAndUpdate) {
  MustCreate(Deployments(), "default", Deployment("web", 2));
  auto scale = service_->GetScale(Deployments(), "default", "web");
  ASSERT_TRUE(scale.ok()) << scale.status().ToString();
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["apiVersion"], "autoscaling/v1");
  EXPECT_EQ((*scale)["spec"]["replicas"], 2);
  EXPECT_EQ((*scale)["status"]["selector"], "app=web");

  auto patched = service_->UpdateScale(Deployments(), "default", "web", PatchType::kMerge,
                                       json{{"spec", {{"replicas", 5}}}}, WriteOptions{});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["spec"]["replicas"], 5);
  auto d = service_->Get(Deployments(), "default", "web");
  EXPECT_EQ((*d)["spec"]["replicas"], 5);
  EXPECT_EQ((*d)["metadata"]["generation"], 2);

  json put = *patched;
  put["spec"]["replicas"] = 1;
  auto updated = service_->UpdateScale(Deployments(), "default", "web", std::nullopt, put, WriteOptions{});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*service_->Get(Deployments(), "default", "web"))["spec"]["replicas"], 1);

  // The old resourceVersion is now stale.
  EXPECT_TRUE(service_->UpdateScale(Deployments(), "default", "web", std::nullopt, put, WriteOptions{})
                  .status()
                  .IsConflict());
  auto negative = service_->UpdateScale(Deployments(), "default", "web", PatchType::kMerge,
                                        json{{"spec", {{"replicas", -1}}}}, WriteOptions{});
  EXPECT_EQ(negative.status().code(), Code::kInvalid);
  EXPECT_TRUE(service_->GetScale(ConfigMaps(), "default", "x").status().IsNotFound());
}

TEST_F(ResourceServiceTest, DeleteReturnsTheObject) {
  json created = MustCreate(ConfigMaps(), "default", ConfigMap("a"));
  auto del = service_->Delete(ConfigMaps(), "default", "a", DeleteOptions{});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ((*del)["metadata"]["uid"], created["metadata"]["uid"]);
  EXPECT_TRUE(service_->Get(ConfigMaps(), "default", "a").status().IsNotFound());
  EXPECT_TRUE(service_->Delete(ConfigMaps(), "default", "a", DeleteOptions{}).status().IsNotFound());
}

TEST_F(ResourceServiceTest, FinalizersHoldDeletionUntilRemoved) {
  json cm = ConfigMap("held");
  cm["metadata"]["finalizers"] = {"example.com/hold"};
  MustCreate(ConfigMaps(), "default", cm);
  auto del = service_->Delete(ConfigMaps(), "default", "held", DeleteOptions{});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_FALSE(MetaString(*del, "deletionTimestamp").empty());

  auto still = service_->Get(ConfigMaps(), "default", "held");
  ASSERT_TRUE(still.ok());
  EXPECT_FALSE(MetaString(*still, "deletionTimestamp").empty());

  // A second delete changes nothing.
  auto again = service_->Delete(ConfigMaps(), "default", "held", DeleteOptions{});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(MetaString(*again, "resourceVersion"), MetaString(*still, "resourceVersion"));

  // deletionTimestamp cannot be removed by a client.
  json clear_ts = *still;
  clear_ts["metadata"].erase("deletionTimestamp");
  clear_ts["data"]["key"] = "changed";
  auto kept = service_->Update(ConfigMaps(), "default", "held", "", clear_ts, WriteOptions{});
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_FALSE(MetaString(*kept, "deletionTimestamp").empty());

  // No new finalizers once deleting.
  json more = *kept;
  more["metadata"]["finalizers"].push_back("example.com/more");
  auto refused = service_->Update(ConfigMaps(), "default", "held", "", more, WriteOptions{});
  EXPECT_EQ(refused.status().code(), Code::kInvalid) << refused.status().ToString();

  json release = *kept;
  release["metadata"]["finalizers"] = json::array();
  auto released = service_->Update(ConfigMaps(), "default", "held", "", release, WriteOptions{});
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_TRUE(service_->Get(ConfigMaps(), "default", "held").status().IsNotFound());
}

TEST_F(ResourceServiceTest, PropagationPolicyAddsFinalizers) {
  MustCreate(ConfigMaps(), "default", ConfigMap("orphan-me"));
  MustCreate(ConfigMaps(), "default", ConfigMap("fg"));
  DeleteOptions orphan;
  orphan.propagation_policy = "Orphan";
  auto o = service_->Delete(ConfigMaps(), "default", "orphan-me", orphan);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ((*o)["metadata"]["finalizers"], json({"orphan"}));
  EXPECT_TRUE(service_->Get(ConfigMaps(), "default", "orphan-me").ok());

  DeleteOptions fg;
  fg.propagation_policy = "Foreground";
  auto f = service_->Delete(ConfigMaps(), "default", "fg", fg);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)["metadata"]["finalizers"], json({"foregroundDeletion"}));
  EXPECT_FALSE(MetaString(*f, "deletionTimestamp").empty());

  DeleteOptions bad;
  bad.propagation_policy = "Sideways";
  EXPECT_EQ(service_->Delete(ConfigMaps(), "default", "fg", bad).status().code(), Code::kBadRequest);
}

TEST_F(ResourceServiceTest, DeletePreconditions) {
  json created = MustCreate(ConfigMaps(), "default", ConfigMap("a"));
  DeleteOptions uid;
  uid.precondition_uid = "not-the-uid";
  EXPECT_TRUE(service_->Delete(ConfigMaps(), "default", "a", uid).status().IsConflict());
  DeleteOptions rv;
  rv.precondition_rv = "1";
  EXPECT_TRUE(service_->Delete(ConfigMaps(), "default", "a", rv).status().IsConflict());
  EXPECT_TRUE(service_->Get(ConfigMaps(), "default", "a").ok());
  DeleteOptions right;
  right.precondition_uid = MetaString(created, "uid");
  right.precondition_rv = MetaString(created, "resourceVersion");
  EXPECT_TRUE(service_->Delete(ConfigMaps(), "default", "a", right).ok());
}

TEST_F(ResourceServiceTest, DryRunWritesNothing) {
  int64_t before = store_->CurrentRevision();
  auto c = service_->Create(ConfigMaps(), "default", ConfigMap("dry"), WriteOptions{true});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(MetaString(*c, "name"), "dry");
  EXPECT_EQ(store_->CurrentRevision(), before);
  EXPECT_TRUE(service_->Get(ConfigMaps(), "default", "dry").status().IsNotFound());

  json real = MustCreate(ConfigMaps(), "default", ConfigMap("real"));
  before = store_->CurrentRevision();
  json next = real;
  next["data"]["key"] = "dry";
  auto u = service_->Update(ConfigMaps(), "default", "real", "", next, WriteOptions{true});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ((*u)["data"]["key"], "dry");
  auto p = service_->Patch(ConfigMaps(), "default", "real", "", PatchType::kMerge, json{{"data", {{"key", "p"}}}},
                           WriteOptions{true});
  ASSERT_TRUE(p.ok());
  DeleteOptions d;
  d.dry_run = true;
  ASSERT_TRUE(service_->Delete(ConfigMaps(), "default", "real", d).ok());
  EXPECT_EQ(store_->CurrentRevision(), before);
  EXPECT_EQ((*service_->Get(ConfigMaps(), "default", "real"))["data"]["key"], "value");
}

TEST_F(ResourceServiceTest, InvalidObjectsCarryCauses) {
  json bad = Deployment("web", -1);
  auto r = service_->Create(Deployments(), "default", bad, WriteOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_NE(r.status().message().find("Deployment.apps \"web\" is invalid"), std::string::npos)
      << r.status().message();
  json details = json::parse(r.status().details());
  ASSERT_TRUE(details["causes"].is_array());
  bool found = false;
  for (const auto& c : details["causes"]) found = found || c["field"] == "spec.replicas";
  EXPECT_TRUE(found) << details.dump();

  json unknown = Deployment("web");
  unknown["spec"]["replicaz"] = 3;
  auto u = service_->Create(Deployments(), "default", unknown, WriteOptions{});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), Code::kBadRequest);
  EXPECT_NE(u.status().message().find("unknown field \"spec.replicaz\""), std::string::npos) << u.status().message();
}

TEST_F(ResourceServiceTest, ListFiltersByLabelsAndFields) {
  MustCreate(ConfigMaps(), "default", ConfigMap("a", {{"tier", "web"}, {"env", "prod"}}));
  MustCreate(ConfigMaps(), "default", ConfigMap("b", {{"tier", "db"}, {"env", "prod"}}));
  MustCreate(ConfigMaps(), "default", ConfigMap("c", {{"tier", "cache"}}));
  ASSERT_TRUE(CreateNamespace("other").ok());
  MustCreate(ConfigMaps(), "other", ConfigMap("d", {{"tier", "web"}}));

  auto names = [&](const std::string& ns, const std::string& labels, const std::string& fields) {
    ListQuery q;
    if (!labels.empty()) q.labels = *LabelSelector::Parse(labels);
    if (!fields.empty()) q.fields = *FieldSelector::Parse(fields);
    auto page = service_->List(ConfigMaps(), ns, q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const auto& o : page->items) out.push_back(MetaString(o, "name"));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("default", "", ""), (V{"a", "b", "c"}));
  EXPECT_EQ(names("", "", ""), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(names("default", "tier=web", ""), (V{"a"}));
  EXPECT_EQ(names("", "tier=web", ""), (V{"a", "d"}));
  EXPECT_EQ(names("default", "tier in (web,db)", ""), (V{"a", "b"}));
  EXPECT_EQ(names("default", "tier notin (web,db)", ""), (V{"c"}));
  EXPECT_EQ(names("default", "!env", ""), (V{"c"}));
  EXPECT_EQ(names("default", "env,tier!=db", ""), (V{"a"}));
  EXPECT_EQ(names("default", "", "metadata.name=b"), (V{"b"}));
  EXPECT_EQ(names("default", "", "metadata.name!=b"), (V{"a", "c"}));
  EXPECT_EQ(names("", "", "metadata.namespace=other"), (V{"d"}));

  ListQuery unsupported;
  unsupported.fields = *FieldSelector::Parse("spec.nothing=1");
  EXPECT_EQ(service_->List(ConfigMaps(), "default", unsupported).status().code(), Code::kBadRequest);
}

TEST_F(ResourceServiceTest, PaginationSeesEveryObjectOnceAtOneRevision) {
  for (int i = 0; i < 10; ++i) MustCreate(ConfigMaps(), "default", ConfigMap("cm-" + std::to_string(i)));
  ListQuery q;
  q.limit = 3;
  std::vector<std::string> seen;
  int64_t revision = 0;
  int pages = 0;
  for (;;) {
    auto page = service_->List(ConfigMaps(), "default", q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ++pages;
    if (revision == 0) revision = page->revision;
    EXPECT_EQ(page->revision, revision) << "every page is read at the first page's revision";
    EXPECT_LE(page->items.size(), 3u);
    for (const auto& o : page->items) seen.push_back(MetaString(o, "name"));
    if (page->continue_token.empty()) break;
    EXPECT_NE(page->remaining, 0);  // unknown (-1) or the exact count, never "none left"
    // Writes between pages are invisible to the rest of this list.
    MustCreate(ConfigMaps(), "default", ConfigMap("cm-new-" + std::to_string(pages)));
    if (pages == 1) {
      ASSERT_TRUE(service_->Delete(ConfigMaps(), "default", "cm-9", DeleteOptions{}).ok());
    }
    q.continue_token = page->continue_token;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 4);
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back("cm-" + std::to_string(i));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, want);

  ListQuery bad;
  bad.continue_token = "garbage";
  EXPECT_EQ(service_->List(ConfigMaps(), "default", bad).status().code(), Code::kBadRequest);
}

TEST_F(ResourceServiceTest, PaginationWithSelectorFillsPages) {
  for (int i = 0; i < 9; ++i) {
    MustCreate(ConfigMaps(), "default", ConfigMap("cm-" + std::to_string(i), {{"odd", i % 2 ? "yes" : "no"}}));
  }
  ListQuery q;
  q.limit = 2;
  q.labels = *LabelSelector::Parse("odd=yes");
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = service_->List(ConfigMaps(), "default", q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& o : page->items) seen.push_back(MetaString(o, "name"));
    if (page->continue_token.empty()) break;
    EXPECT_EQ(page->items.size(), 2u);
    // With a selector the server cannot know how many items remain.
    EXPECT_EQ(page->remaining, -1);
    q.continue_token = page->continue_token;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"cm-1", "cm-3", "cm-5", "cm-7"}));
}

TEST_F(ResourceServiceTest, DeletingANamespaceDeletesItsObjects) {
  ASSERT_TRUE(CreateNamespace("team").ok());
  MustCreate(ConfigMaps(), "team", ConfigMap("a"));
  MustCreate(Deployments(), "team", Deployment("web"));
  MustCreate(ConfigMaps(), "default", ConfigMap("keep"));
  auto del = service_->Delete(Namespaces(), "", "team", DeleteOptions{});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_TRUE(service_->Get(Namespaces(), "", "team").status().IsNotFound());
  EXPECT_TRUE(service_->Get(ConfigMaps(), "team", "a").status().IsNotFound());
  EXPECT_TRUE(service_->Get(Deployments(), "team", "web").status().IsNotFound());
  EXPECT_TRUE(service_->Get(ConfigMaps(), "default", "keep").ok());
}

TEST_F(ResourceServiceTest, TerminatingNamespaceRefusesNewObjects) {
  json ns = testing::NamespaceObj("held");
  ns["metadata"]["finalizers"] = {"example.com/hold"};
  ASSERT_TRUE(service_->Create(Namespaces(), "", ns, WriteOptions{}).ok());
  MustCreate(ConfigMaps(), "held", ConfigMap("a"));
  auto del = service_->Delete(Namespaces(), "", "held", DeleteOptions{});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_FALSE(MetaString(*del, "deletionTimestamp").empty());
  EXPECT_EQ((*del)["status"]["phase"], "Terminating");
  // The contents go even while the namespace waits for its finalizers.
  EXPECT_TRUE(service_->Get(ConfigMaps(), "held", "a").status().IsNotFound());

  auto refused = service_->Create(ConfigMaps(), "held", ConfigMap("b"), WriteOptions{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kForbidden);
  EXPECT_NE(refused.status().message().find("because it is being terminated"), std::string::npos);

  json release = *service_->Get(Namespaces(), "", "held");
  release["metadata"]["finalizers"] = json::array();
  ASSERT_TRUE(service_->Update(Namespaces(), "", "held", "", release, WriteOptions{}).ok());
  EXPECT_TRUE(service_->Get(Namespaces(), "", "held").status().IsNotFound());
}

TEST_F(ResourceServiceTest, ConcurrentPatchesAllApply) {
  MustCreate(ConfigMaps(), "default", ConfigMap("counter"));
  constexpr int kThreads = 4, kEach = 5;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string key = "k" + std::to_string(t) + "-" + std::to_string(i);
        auto r = service_->Patch(ConfigMaps(), "default", "counter", "", PatchType::kMerge,
                                 json{{"data", {{key, "v"}}}}, WriteOptions{});
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto got = service_->Get(ConfigMaps(), "default", "counter");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["data"].size(), 1u + kThreads * kEach);
}

}  // namespace
}  // namespace capstan::api

