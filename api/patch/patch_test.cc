#include "api/patch/patch.h"

#include <gtest/gtest.h>

namespace capstan::api {
namespace {

json J(const char* text) { return json::parse(text); }

// ---- JSON Patch (RFC 6902) ----

json MustJsonPatch(const char* doc, const char* patch) {
  auto r = ApplyJsonPatch(J(doc), J(patch));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : json();
}

TEST(JsonPatch, Rfc6902Examples) {
  EXPECT_EQ(MustJsonPatch(R"({"foo": "bar"})", R"([{"op": "add", "path": "/baz", "value": "qux"}])"),
            J(R"({"baz": "qux", "foo": "bar"})"));
  EXPECT_EQ(MustJsonPatch(R"({"foo": ["bar", "baz"]})", R"([{"op": "add", "path": "/foo/1", "value": "qux"}])"),
            J(R"({"foo": ["bar", "qux", "baz"]})"));
  EXPECT_EQ(MustJsonPatch(R"({"baz": "qux", "foo": "bar"})", R"([{"op": "remove", "path": "/baz"}])"),
            J(R"({"foo": "bar"})"));
  EXPECT_EQ(MustJsonPatch(R"({"foo": ["bar", "qux", "baz"]})", R"([{"op": "remove", "path": "/foo/1"}])"),
            J(R"({"foo": ["bar", "baz"]})"));
  EXPECT_EQ(MustJsonPatch(R"({"baz": "qux", "foo": "bar"})", R"([{"op": "replace", "path": "/baz", "value": "boo"}])"),
            J(R"({"baz": "boo", "foo": "bar"})"));
  EXPECT_EQ(MustJsonPatch(R"({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}})",
                          R"([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}])"),
            J(R"({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}})"));
  EXPECT_EQ(MustJsonPatch(R"({"foo": ["all", "grass", "cows", "eat"]})",
                          R"([{"op": "move", "from": "/foo/1", "path": "/foo/3"}])"),
            J(R"({"foo": ["all", "cows", "eat", "grass"]})"));
  EXPECT_EQ(MustJsonPatch(R"({"foo": ["bar"]})", R"([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}])"),
            J(R"({"foo": ["bar", ["abc", "def"]]})"));
  EXPECT_EQ(MustJsonPatch(R"({"a": {"b": 1}})", R"([{"op": "copy", "from": "/a", "path": "/c"}])"),
            J(R"({"a": {"b": 1}, "c": {"b": 1}})"));
  EXPECT_EQ(MustJsonPatch(R"({"baz": "qux", "foo": ["a", 2, "c"]})",
                          R"([{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}])"),
            J(R"({"baz": "qux", "foo": ["a", 2, "c"]})"));
}

TEST(JsonPatch, PointerEscapesAndRoot) {
  EXPECT_EQ(MustJsonPatch(R"({"a/b": 1, "m~n": 2})",
                          R"([{"op": "replace", "path": "/a~1b", "value": 3}, {"op": "remove", "path": "/m~0n"}])"),
            J(R"({"a/b": 3})"));
  EXPECT_EQ(MustJsonPatch(R"({"": 1})", R"([{"op": "replace", "path": "/", "value": 2}])"), J(R"({"": 2})"));
  EXPECT_EQ(MustJsonPatch(R"({"a": 1})", R"([{"op": "replace", "path": "", "value": [1]}])"), J("[1]"));
  // Metadata labels as kubectl patches them: dots and slashes in keys.
  EXPECT_EQ(MustJsonPatch(R"({"metadata": {"labels": {}}})",
                          R"([{"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"}])"),
            J(R"({"metadata": {"labels": {"app.kubernetes.io/name": "web"}}})"));
}

TEST(JsonPatch, FailedTestIsConflict) {
  auto r = ApplyJsonPatch(J(R"({"a": 1})"), J(R"([{"op": "test", "path": "/a", "value": 2}])"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  auto missing = ApplyJsonPatch(J(R"({"a": 1})"), J(R"([{"op": "test", "path": "/b", "value": 1}])"));
  EXPECT_EQ(missing.status().code(), Code::kConflict);
  // Numbers compare by value.
  EXPECT_TRUE(ApplyJsonPatch(J(R"({"a": 1})"), J(R"([{"op": "test", "path": "/a", "value": 1.0}])")).ok());
}

TEST(JsonPatch, InvalidOperationsNameTheirIndex) {
  struct Case {
    const char* patch;
    const char* message_part;
  };
  const Case cases[] = {
      {R"([{"op": "add", "path": "/a", "value": 1}, {"op": "remove", "path": "/nope"}])", "operation 1 (remove /nope)"},
      {R"([{"op": "frobnicate", "path": "/a"}])", "unknown operation"},
      {R"([{"op": "add", "path": "/a"}])", "missing \"value\""},
      {R"([{"op": "add", "value": 1}])", "missing \"path\""},
      {R"([{"path": "/a"}])", "\"op\""},
      {R"([{"op": "add", "path": "a", "value": 1}])", "must start with '/'"},
      {R"([{"op": "add", "path": "/a~2", "value": 1}])", "invalid escape"},
      {R"([{"op": "add", "path": "/l/5", "value": 1}])", "out of range"},
      {R"([{"op": "add", "path": "/l/01", "value": 1}])", "invalid array index"},
      {R"([{"op": "replace", "path": "/l/-", "value": 1}])", "path not found"},
      {R"([{"op": "add", "path": "/x/y", "value": 1}])", "path not found"},
      {R"([{"op": "move", "from": "/o", "path": "/o/p"}])", "own children"},
      {R"([{"op": "copy", "from": "/nope", "path": "/b"}])", "\"from\" path not found"},
      {R"([{"op": "remove", "path": ""}])", "whole document"},
      {R"([3])", "must be an object"},
  };
  json doc = J(R"({"a": 0, "l": [1, 2], "o": {"p": 1}})");
  for (const Case& c : cases) {
    auto r = ApplyJsonPatch(doc, J(c.patch));
    ASSERT_FALSE(r.ok()) << c.patch;
    EXPECT_EQ(r.status().code(), Code::kInvalid) << c.patch;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.patch << " -> " << r.status().message();
    EXPECT_NE(r.status().message().find("json patch operation "), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ApplyJsonPatch(doc, J(R"({"op": "add"})")).status().code(), Code::kBadRequest);
}

TEST(JsonPatch, AllOrNothingAndOrderMatters) {
  json doc = J(R"({"l": []})");
  auto r = ApplyJsonPatch(doc, J(R"([{"op": "add", "path": "/l/-", "value": 1},
                                      {"op": "add", "path": "/l/0", "value": 0},
                                      {"op": "move", "from": "/l/0", "path": "/first"}])"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, J(R"({"l": [1], "first": 0})"));
  EXPECT_FALSE(ApplyJsonPatch(doc, J(R"([{"op": "add", "path": "/x", "value": 1},
                                          {"op": "test", "path": "/x", "value": 2}])")).ok());
  EXPECT_EQ(doc, J(R"({"l": []})"));
}

// ---- Merge patch (RFC 7386, appendix A) ----

TEST(MergePatch, Rfc7386Examples) {
  struct Case {
    const char* doc;
    const char* patch;
    const char* want;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ApplyMergePatch(J(c.doc), J(c.patch)), J(c.want)) << c.doc << " + " << c.patch;
  }
}

// ---- Strategic merge patch ----

SchemaPtr PodSchema() {
  auto port = s::Object("Port", {s::F("containerPort", s::Int32()), s::F("name", s::String()),
                                 s::F("protocol", s::String())});
  auto env = s::Object("EnvVar", {s::F("name", s::String()), s::F("value", s::String())});
  auto container = s::Object("Container", {s::F("name", s::String()), s::F("image", s::String()),
                                           s::F("args", s::Array(s::String())),
                                           s::F("ports", s::Array(port, "", "containerPort")),
                                           s::F("env", s::Array(env, "", "name"))});
  auto volume = s::Object("Volume", {s::F("name", s::String()), s::F("emptyDir", s::Any()),
                                     s::F("hostPath", s::Any()), s::F("configMap", s::Any())});
  auto toleration = s::Object("Toleration", {s::F("key", s::String())});
  auto spec = s::Object("PodSpec", {s::F("containers", s::Array(container, "", "name")),
                                    s::F("volumes", s::Array(volume, "", "name", "merge,retainKeys")),
                                    s::F("tolerations", s::AtomicArray(toleration)),
                                    s::F("nodeSelector", s::StringMap()), s::F("extra", s::Any())});
  auto meta = s::Object("ObjectMeta", {s::F("name", s::String()), s::F("labels", s::StringMap()),
                                       s::F("finalizers", s::Array(s::String(), "", "", "merge"))});
  return s::Object("Pod", {s::F("metadata", meta), s::F("spec", spec)});
}

json Smp(const json& doc, const char* patch, const Schema* schema) {
  auto r = ApplyStrategicMergePatch(doc, J(patch), schema);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\npatch: " << patch;
  return r.ok() ? *r : json();
}

const json kPod = J(R"({
  "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a", "b", "c"]},
  "spec": {
    "containers": [
      {"name": "nginx", "image": "nginx:1.24", "args": ["-x"], "ports": [{"containerPort": 80, "name": "http"}],
       "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
      {"name": "sidecar", "image": "busybox"}
    ],
    "volumes": [{"name": "data", "emptyDir": {}}],
    "tolerations": [{"key": "x"}, {"key": "y"}],
    "nodeSelector": {"disk": "ssd"}
  }
})");

TEST(StrategicMergePatch, MergesListsByKeyKeepingOrder) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"spec": {"containers": [
      {"name": "helper", "image": "alpine"},
      {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 443, "name": "https"}],
       "env": [{"name": "B", "value": null}, {"name": "C", "value": "3"}]}]}})", schema.get());
  const json& containers = got["spec"]["containers"];
  ASSERT_EQ(containers.size(), 3u);
  EXPECT_EQ(containers[0]["name"], "nginx");
  EXPECT_EQ(containers[0]["image"], "nginx:1.25");
  EXPECT_EQ(containers[0]["args"], J(R"(["-x"])"));
  EXPECT_EQ(containers[0]["ports"], J(R"([{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}])"));
  EXPECT_EQ(containers[0]["env"], J(R"([{"name": "A", "value": "1"}, {"name": "B"}, {"name": "C", "value": "3"}])"));
  EXPECT_EQ(containers[1]["name"], "sidecar");
  EXPECT_EQ(containers[2], J(R"({"name": "helper", "image": "alpine"})"));
  EXPECT_EQ(got["metadata"], kPod["metadata"]);
}

TEST(StrategicMergePatch, ListsWithoutMergeKeyAreReplaced) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"spec": {"tolerations": [{"key": "z"}],
                                    "containers": [{"name": "nginx", "args": ["-y", "-z"]}]}})", schema.get());
  EXPECT_EQ(got["spec"]["tolerations"], J(R"([{"key": "z"}])"));
  EXPECT_EQ(got["spec"]["containers"][0]["args"], J(R"(["-y", "-z"])"));
}

TEST(StrategicMergePatch, PrimitiveMergeListsAreUnions) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"metadata": {"finalizers": ["c", "d"]}})", schema.get());
  EXPECT_EQ(got["metadata"]["finalizers"], J(R"(["a", "b", "c", "d"])"));
  got = Smp(kPod, R"({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}})", schema.get());
  EXPECT_EQ(got["metadata"]["finalizers"], J(R"(["a", "c"])"));
  got = Smp(kPod, R"({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["e"]}})", schema.get());
  EXPECT_EQ(got["metadata"]["finalizers"], J(R"(["b", "c", "e"])"));
}

TEST(StrategicMergePatch, NullDeletesKeys) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"metadata": {"labels": {"tier": null, "new": "x"}}, "spec": {"nodeSelector": null}})",
                 schema.get());
  EXPECT_EQ(got["metadata"]["labels"], J(R"({"app": "web", "new": "x"})"));
  EXPECT_FALSE(got["spec"].contains("nodeSelector"));
}

TEST(StrategicMergePatch, PatchDeleteDirectiveInList) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}})", schema.get());
  ASSERT_EQ(got["spec"]["containers"].size(), 1u);
  EXPECT_EQ(got["spec"]["containers"][0]["name"], "nginx");
  auto bad = ApplyStrategicMergePatch(kPod, J(R"({"spec": {"containers": [{"$patch": "delete"}]}})"), schema.get());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kBadRequest);
}

TEST(StrategicMergePatch, PatchReplaceDirective) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}})",
                 schema.get());
  EXPECT_EQ(got["spec"]["containers"], J(R"([{"name": "only", "image": "x"}])"));
  got = Smp(kPod, R"({"metadata": {"labels": {"$patch": "replace", "fresh": "1"}}})", schema.get());
  EXPECT_EQ(got["metadata"]["labels"], J(R"({"fresh": "1"})"));
}

TEST(StrategicMergePatch, PatchDeleteAndMergeDirectivesInMaps) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"spec": {"nodeSelector": {"$patch": "delete"}}})", schema.get());
  EXPECT_FALSE(got["spec"].contains("nodeSelector"));
  EXPECT_TRUE(got["spec"].contains("containers"));
  got = Smp(kPod, R"({"metadata": {"labels": {"$patch": "merge", "x": "1"}}})", schema.get());
  EXPECT_EQ(got["metadata"]["labels"], J(R"({"app": "web", "tier": "fe", "x": "1"})"));
  EXPECT_EQ(Smp(kPod, R"({"$patch": "delete"})", schema.get()), json::object());
  auto bad = ApplyStrategicMergePatch(kPod, J(R"({"metadata": {"$patch": "explode"}})"), schema.get());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kBadRequest);
  EXPECT_NE(bad.status().message().find("metadata"), std::string::npos) << bad.status().message();
}

TEST(StrategicMergePatch, RetainKeys) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"spec": {"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"],
                                                 "hostPath": {"path": "/srv"}}]}})", schema.get());
  EXPECT_EQ(got["spec"]["volumes"], J(R"([{"name": "data", "hostPath": {"path": "/srv"}}])"));
  EXPECT_FALSE(ApplyStrategicMergePatch(kPod, J(R"({"spec": {"$retainKeys": "containers"}})"), schema.get()).ok());
}

TEST(StrategicMergePatch, SetElementOrder) {
  SchemaPtr schema = PodSchema();
  json got = Smp(kPod, R"({"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}],
                                    "containers": [{"name": "nginx", "image": "nginx:2"}]}})", schema.get());
  ASSERT_EQ(got["spec"]["containers"].size(), 2u);
  EXPECT_EQ(got["spec"]["containers"][0]["name"], "sidecar");
  EXPECT_EQ(got["spec"]["containers"][1]["image"], "nginx:2");
  got = Smp(kPod, R"({"metadata": {"$setElementOrder/finalizers": ["c", "a"]}})", schema.get());
  EXPECT_EQ(got["metadata"]["finalizers"], J(R"(["c", "b", "a"])"));  // "b" is not listed: stays
}

TEST(StrategicMergePatch, MalformedElementsAreBadRequests) {
  SchemaPtr schema = PodSchema();
  for (const char* patch : {R"({"spec": {"containers": [{"image": "no-name"}]}})",
                            R"({"spec": {"containers": ["nginx"]}})",
                            R"({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}})"}) {
    auto r = ApplyStrategicMergePatch(kPod, J(patch), schema.get());
    ASSERT_FALSE(r.ok()) << patch;
    EXPECT_EQ(r.status().code(), Code::kBadRequest) << patch;
  }
  EXPECT_EQ(ApplyStrategicMergePatch(kPod, J("[1]"), schema.get()).status().code(), Code::kBadRequest);
}

TEST(StrategicMergePatch, WithoutSchemaFallsBackToMergePatch) {
  json got = Smp(kPod, R"({"spec": {"containers": [{"name": "x"}], "nodeSelector": {"zone": "a"}}})", nullptr);
  EXPECT_EQ(got["spec"]["containers"], J(R"([{"name": "x"}])"));
  EXPECT_EQ(got["spec"]["nodeSelector"], J(R"({"disk": "ssd", "zone": "a"})"));
  // kAny parts of a known schema behave the same.
  SchemaPtr schema = PodSchema();
  json doc = J(R"({"spec": {"extra": {"list": [1, 2], "keep": true}}})");
  got = Smp(doc, R"({"spec": {"extra": {"list": [3]}}})", schema.get());
  EXPECT_EQ(got["spec"]["extra"], J(R"({"list": [3], "keep": true})"));
}

TEST(StrategicMergePatch, NewValuesHonourDirectivesAndNulls) {
  SchemaPtr schema = PodSchema();
  json got = Smp(json::object(), R"({"metadata": {"labels": {"a": "1", "b": null}},
                                     "spec": {"containers": [{"name": "c", "image": null, "$patch": "merge"},
                                                             {"name": "gone", "$patch": "delete"}]}})", schema.get());
  EXPECT_EQ(got, J(R"({"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "c"}]}})"));
}

// ---- Three-way patch for apply ----

const json kManifest = J(R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "labels": {"app": "web"}},
  "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                                                 "ports": [{"containerPort": 80}]}]}}}
})");

// What the server holds after creating kManifest: defaults everywhere, status, metadata.
json LiveObject() {
  json live = kManifest;
  live["metadata"]["uid"] = "1234";
  live["metadata"]["resourceVersion"] = "7";
  live["metadata"]["annotations"] = {{"deployment.kubernetes.io/revision", "1"}};
  live["spec"]["strategy"] = {{"type", "RollingUpdate"}};
  json& c = live["spec"]["template"]["spec"]["containers"][0];
  c["imagePullPolicy"] = "IfNotPresent";
  c["terminationMessagePath"] = "/dev/termination-log";
  c["ports"][0]["protocol"] = "TCP";
  live["status"] = {{"replicas", 2}, {"readyReplicas", 2}};
  return live;
}

TEST(ThreeWayMergePatch, FirstApplySendsEverythingMissing) {
  json patch = CreateThreeWayMergePatch(nullptr, kManifest, json::object());
  EXPECT_EQ(patch, kManifest);
}

TEST(ThreeWayMergePatch, UnchangedWhenLiveOnlyAddsServerFields) {
  json patch = CreateThreeWayMergePatch(kManifest, kManifest, LiveObject());
  EXPECT_EQ(patch, json::object());
  // Also without a last-applied configuration (adopting an object created by kubectl create).
  EXPECT_EQ(CreateThreeWayMergePatch(nullptr, kManifest, LiveObject()), json::object());
}

TEST(ThreeWayMergePatch, ConfiguredWhenUserFieldChanges) {
  json modified = kManifest;
  modified["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26";
  modified["spec"]["replicas"] = 3;
  json patch = CreateThreeWayMergePatch(kManifest, modified, LiveObject());
  EXPECT_EQ(patch["spec"]["replicas"], 3);
  // Lists go whole, as the user declares them.
  EXPECT_EQ(patch["spec"]["template"]["spec"]["containers"], modified["spec"]["template"]["spec"]["containers"]);
  EXPECT_FALSE(patch.contains("metadata"));
  json applied = ApplyMergePatch(LiveObject(), patch);
  EXPECT_TRUE(JsonContains(applied, modified));
  EXPECT_EQ(applied["status"], LiveObject()["status"]);
}

TEST(ThreeWayMergePatch, DeletesFieldsRemovedFromTheManifestOnly) {
  json original = kManifest;
  original["metadata"]["labels"]["tier"] = "fe";
  original["spec"]["minReadySeconds"] = 5;
  json live = LiveObject();
  live["metadata"]["labels"]["tier"] = "fe";
  live["spec"]["minReadySeconds"] = 5;
  live["metadata"]["labels"]["added-by-controller"] = "yes";
  json patch = CreateThreeWayMergePatch(original, kManifest, live);
  EXPECT_EQ(patch, J(R"({"metadata": {"labels": {"tier": null}}, "spec": {"minReadySeconds": null}})"));
  json applied = ApplyMergePatch(live, patch);
  EXPECT_FALSE(applied["metadata"]["labels"].contains("tier"));
  EXPECT_EQ(applied["metadata"]["labels"]["added-by-controller"], "yes");
  EXPECT_EQ(applied["spec"]["strategy"], live["spec"]["strategy"]);
}

TEST(ThreeWayMergePatch, NoDeletionOfWhatIsAlreadyGone) {
  json original = kManifest;
  original["spec"]["paused"] = true;
  EXPECT_EQ(CreateThreeWayMergePatch(original, kManifest, LiveObject()), json::object());
}

TEST(ThreeWayMergePatch, ListElementChangeInsideDefaultedList) {
  json modified = kManifest;
  modified["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080;
  json patch = CreateThreeWayMergePatch(kManifest, modified, LiveObject());
  EXPECT_EQ(patch["spec"]["template"]["spec"]["containers"][0]["ports"], J(R"([{"containerPort": 8080}])"));
  // An added list element is a change too.
  modified = kManifest;
  modified["spec"]["template"]["spec"]["containers"].push_back(json{{"name", "b"}});
  EXPECT_FALSE(CreateThreeWayMergePatch(kManifest, modified, LiveObject()).empty());
}

TEST(JsonContains, Semantics) {
  EXPECT_TRUE(JsonContains(J(R"({"a": 1, "b": 2})"), J(R"({"a": 1})")));
  EXPECT_FALSE(JsonContains(J(R"({"a": 1})"), J(R"({"a": 1, "b": 2})")));
  EXPECT_TRUE(JsonContains(J(R"({"a": 1.0})"), J(R"({"a": 1})")));
  EXPECT_FALSE(JsonContains(J(R"({"a": "1"})"), J(R"({"a": 1})")));
  EXPECT_TRUE(JsonContains(J(R"([{"a": 1, "x": 0}, {"b": 2}])"), J(R"([{"a": 1}, {"b": 2}])")));
  EXPECT_FALSE(JsonContains(J(R"([{"a": 1}, {"b": 2}])"), J(R"([{"a": 1}])")));
  EXPECT_FALSE(JsonContains(J(R"([{"b": 2}, {"a": 1}])"), J(R"([{"a": 1}, {"b": 2}])")));
  EXPECT_FALSE(JsonContains(J(R"({"a": {"b": 1}})"), J(R"({"a": [1]})")));
  // Empty and null declarations are satisfied by absence (Go's omitempty drops them).
  EXPECT_TRUE(JsonContains(J(R"({})"), J(R"({"args": [], "labels": {}, "x": null})")));
  EXPECT_FALSE(JsonContains(J(R"({"x": 1})"), J(R"({"x": null})")));
  EXPECT_TRUE(JsonContains(J("null"), J("null")));
}

}  // namespace
}  // namespace capstan::api
