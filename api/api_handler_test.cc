// ApiHandler driven with HttpRequest values: status codes and Status bodies, decoding, content
// negotiation, lists, writes, subresources and deletes, as kubectl and client-go see them.
#include "api/api_handler.h"

#include <future>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/object_meta.h"

namespace capstan::api {
namespace {

using namespace std::chrono_literals;
using testing::ApiTest;
using testing::BodyOf;
using testing::ConfigMap;
using testing::Deployment;
using testing::ExpectStatus;
using testing::Request;

constexpr char kDeployments[] = "/apis/apps/v1/namespaces/default/deployments";
constexpr char kConfigMaps[] = "/api/v1/namespaces/default/configmaps";

class ApiHandlerTest : public ApiTest {
 protected:
  json CreateDeployment(const std::string& name, int replicas = 2) {
    HttpResponse r = Do("POST", kDeployments, Deployment(name, replicas));
    EXPECT_EQ(r.status, 201) << r.body;
    return BodyOf(r);
  }
};


TEST_F(ApiHandlerTest, CreateReturns201WithServerMetadata) {
  HttpResponse r = Do("POST", kDeployments, Deployment("web"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json b = BodyOf(r);
  EXPECT_EQ(b["kind"], "Deployment");
  EXPECT_FALSE(b["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(b["metadata"]["creationTimestamp"].get<std::string>().empty());
  EXPECT_EQ(b["metadata"]["generation"], 1);
  EXPECT_FALSE(b["metadata"]["resourceVersion"].get<std::string>().empty());

  ExpectStatus(Do("POST", kDeployments, Deployment("web")), 409, "AlreadyExists");
  ExpectStatus(Do("POST", "/apis/apps/v1/namespaces/nowhere/deployments", Deployment("web")), 404, "NotFound");
  json rv = Deployment("x");
  rv["metadata"]["resourceVersion"] = "12";
  ExpectStatus(Do("POST", kDeployments, rv), 400, "BadRequest");
  json kind = Deployment("y");
  kind["kind"] = "ReplicaSet";
  ExpectStatus(Do("POST", kDeployments, kind), 400, "BadRequest");
  json av = Deployment("y");
  av["apiVersion"] = "apps/v1beta1";
  ExpectStatus(Do("POST", kDeployments, av), 400, "BadRequest");
}

TEST_F(ApiHandlerTest, GenerateNameOverHttp) {
  json cm = ConfigMap("");
  cm["metadata"].erase("name");
  cm["metadata"]["generateName"] = "job-";
  HttpResponse r = Do("POST", kConfigMaps, cm);
  ASSERT_EQ(r.status, 201) << r.body;
  std::string name = BodyOf(r)["metadata"]["name"];
  EXPECT_EQ(name.rfind("job-", 0), 0u);
  EXPECT_EQ(Do("GET", std::string(kConfigMaps) + "/" + name).status, 200);
}

TEST_F(ApiHandlerTest, NotFoundStatusBody) {
  HttpResponse r = Do("GET", std::string(kDeployments) + "/x");
  ExpectStatus(r, 404, "NotFound");
  EXPECT_EQ(BodyOf(r)["message"], "deployments.apps \"x\" not found");
  ExpectStatus(Do("GET", "/apis/apps/v1/namespaces/default/widgets"), 404, "NotFound");
  ExpectStatus(Do("GET", "/api/v1/namespaces/default/configmaps/a/b/c"), 404, "NotFound");
}

TEST_F(ApiHandlerTest, ListWithSelectorsAndPagination) {
  for (const char* n : {"a", "b", "c", "d"}) {
    json cm = ConfigMap(n, {{"tier", std::string(n) < "c" ? "front" : "back"}});
    ASSERT_EQ(Do("POST", kConfigMaps, cm).status, 201);
  }
  auto names = [&](const std::string& query) {
    HttpResponse r = Do("GET", std::string(kConfigMaps) + query);
    EXPECT_EQ(r.status, 200) << r.body;
    json b = BodyOf(r);
    EXPECT_EQ(b["kind"], "ConfigMapList");
    EXPECT_EQ(b["apiVersion"], "v1");
    EXPECT_FALSE(b["metadata"]["resourceVersion"].get<std::string>().empty());
    std::vector<std::string> out;
    for (const auto& o : b["items"]) out.push_back(o["metadata"]["name"]);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(""), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(names("?labelSelector=tier%3Dfront"), (V{"a", "b"}));
  EXPECT_EQ(names("?labelSelector=tier%20in%20(back)"), (V{"c", "d"}));
  EXPECT_EQ(names("?labelSelector=tier!%3Dback"), (V{"a", "b"}));
  EXPECT_EQ(names("?fieldSelector=metadata.name%3Dc"), (V{"c"}));
  ExpectStatus(Do("GET", std::string(kConfigMaps) + "?fieldSelector=spec.foo%3Dx"), 400, "BadRequest");
  ExpectStatus(Do("GET", std::string(kConfigMaps) + "?labelSelector=in%20in%20in"), 400, "BadRequest");
  ExpectStatus(Do("GET", std::string(kConfigMaps) + "?limit=-1"), 400, "BadRequest");

  // All namespaces.
  HttpResponse all = Do("GET", "/api/v1/configmaps");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(BodyOf(all)["items"].size(), 4u);

  // Pages.
  HttpResponse p1 = Do("GET", std::string(kConfigMaps) + "?limit=3");
  ASSERT_EQ(p1.status, 200);
  json b1 = BodyOf(p1);
  ASSERT_EQ(b1["items"].size(), 3u);
  ASSERT_TRUE(b1["metadata"].contains("continue"));
  // remainingItemCount is optional (the store may not know it cheaply); when sent it is exact.
  if (b1["metadata"].contains("remainingItemCount")) {
    EXPECT_EQ(b1["metadata"]["remainingItemCount"], 1);
  }
  ASSERT_EQ(Do("POST", kConfigMaps, ConfigMap("e")).status, 201);  // invisible to page 2
  HttpRequest next = Request("GET", std::string(kConfigMaps) + "?limit=3");
  next.query.emplace("continue", b1["metadata"]["continue"].get<std::string>());
  HttpResponse p2 = Do(next);
  ASSERT_EQ(p2.status, 200) << p2.body;
  json b2 = BodyOf(p2);
  ASSERT_EQ(b2["items"].size(), 1u);
  EXPECT_EQ(b2["items"][0]["metadata"]["name"], "d");
  EXPECT_FALSE(b2["metadata"].contains("continue"));
  EXPECT_EQ(b2["metadata"]["resourceVersion"], b1["metadata"]["resourceVersion"]);
}

TEST_F(ApiHandlerTest, PutConflictsAndUnconditionalUpdates) {
  json d = CreateDeployment("web");
  json v2 = d;
  v2["spec"]["replicas"] = 3;
  HttpResponse ok = Do("PUT", std::string(kDeployments) + "/web", v2);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(BodyOf(ok)["metadata"]["generation"], 2);

  json stale = d;
  stale["spec"]["replicas"] = 4;
  HttpResponse conflict = Do("PUT", std::string(kDeployments) + "/web", stale);
  ExpectStatus(conflict, 409, "Conflict");
  EXPECT_NE(BodyOf(conflict)["message"].get<std::string>().find("Operation cannot be fulfilled on deployments.apps \"web\""),
            std::string::npos);

  json blind = d;
  blind["metadata"].erase("resourceVersion");
  blind["spec"]["replicas"] = 6;
  HttpResponse b = Do("PUT", std::string(kDeployments) + "/web", blind);
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(BodyOf(b)["spec"]["replicas"], 6);
  EXPECT_EQ(BodyOf(b)["metadata"]["generation"], 3);

  ExpectStatus(Do("PUT", std::string(kDeployments) + "/other", blind), 400, "BadRequest");  // name mismatch
}

TEST_F(ApiHandlerTest, StatusSubresourceOverHttp) {
  json d = CreateDeployment("web");
  json st = d;
  st["status"] = {{"replicas", 2}, {"availableReplicas", 2}};
  st["spec"]["replicas"] = 10;
  HttpResponse r = Do("PUT", std::string(kDeployments) + "/web/status", st);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(BodyOf(r)["status"]["availableReplicas"], 2);
  EXPECT_EQ(BodyOf(r)["spec"]["replicas"], 2);
  HttpResponse g = Do("GET", std::string(kDeployments) + "/web/status");
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(BodyOf(g)["status"]["availableReplicas"], 2);
  HttpResponse p = Do("PATCH", std::string(kDeployments) + "/web/status", json{{"status", {{"readyReplicas", 1}}}},
                      "application/merge-patch+json");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(BodyOf(p)["status"]["readyReplicas"], 1);
  ExpectStatus(Do("POST", std::string(kDeployments) + "/web/status", st), 405, "MethodNotAllowed");
  ExpectStatus(Do("GET", std::string(kConfigMaps) + "/x/status"), 404, "NotFound");
}

TEST_F(ApiHandlerTest, NamespaceStatusIsRoutable) {
  HttpResponse r = Do("GET", "/api/v1/namespaces/default/status");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(BodyOf(r)["kind"], "Namespace");
  EXPECT_EQ(BodyOf(r)["status"]["phase"], "Active");
  HttpResponse ns = Do("GET", "/api/v1/namespaces/default");
  ASSERT_EQ(ns.status, 200) << ns.body;
  EXPECT_EQ(BodyOf(ns)["metadata"]["name"], "default");
}

TEST_F(ApiHandlerTest, PatchContentTypes) {
  CreateDeployment("web");
  const std::string path = std::string(kDeployments) + "/web";
  HttpResponse smp = Do("PATCH", path,
                        json::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:2"}]}}}})"),
                        "application/strategic-merge-patch+json");
  ASSERT_EQ(smp.status, 200) << smp.body;
  const json smp_body = BodyOf(smp);
  const json& cs = smp_body["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 2u) << cs.dump();
  EXPECT_EQ(cs[0]["image"], "nginx:2");
  EXPECT_EQ(cs[1]["name"], "sidecar");

  HttpResponse merge = Do("PATCH", path, json{{"metadata", {{"labels", {{"x", "y"}}}}}}, "application/merge-patch+json");
  ASSERT_EQ(merge.status, 200) << merge.body;
  EXPECT_EQ(BodyOf(merge)["metadata"]["labels"]["x"], "y");

  HttpResponse jp = Do("PATCH", path, json::parse(R"([{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}])"),
                       "application/json-patch+json");
  ASSERT_EQ(jp.status, 200) << jp.body;
  EXPECT_EQ(BodyOf(jp)["metadata"]["annotations"]["a"], "b");

  HttpResponse test = Do("PATCH", path, json::parse(R"([{"op":"test","path":"/spec/replicas","value":7}])"),
                         "application/json-patch+json");
  ExpectStatus(test, 422, "Invalid");

  ExpectStatus(Do("PATCH", path, json::object(), "application/apply-patch+yaml"), 415, "UnsupportedMediaType");
  ExpectStatus(Do("PATCH", path, json::object(), "text/plain"), 415, "UnsupportedMediaType");
  ExpectStatus(Do("PATCH", path, json::array({1}), "application/merge-patch+json"), 400, "BadRequest");
}

TEST_F(ApiHandlerTest, KubectlScale) {
  CreateDeployment("web", 1);
  const std::string path = std::string(kDeployments) + "/web/scale";
  HttpResponse g = Do("GET", path);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(BodyOf(g)["kind"], "Scale");
  EXPECT_EQ(BodyOf(g)["spec"]["replicas"], 1);
  // What `kubectl scale --replicas=4` sends.
  HttpResponse p = Do("PATCH", path, json{{"spec", {{"replicas", 4}}}}, "application/merge-patch+json");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(BodyOf(p)["spec"]["replicas"], 4);
  HttpResponse d = Do("GET", std::string(kDeployments) + "/web");
  EXPECT_EQ(BodyOf(d)["spec"]["replicas"], 4);
  ExpectStatus(Do("PATCH", path, json{{"spec", {{"replicas", -3}}}}, "application/merge-patch+json"), 422, "Invalid");
  ExpectStatus(Do("GET", std::string(kConfigMaps) + "/x/scale"), 404, "NotFound");
}

TEST_F(ApiHandlerTest, DeleteWithOptionsBody) {
  CreateDeployment("web");
  json created = CreateDeployment("fg");
  const std::string web = std::string(kDeployments) + "/web";
  HttpResponse bad_uid = Do("DELETE", web, json{{"kind", "DeleteOptions"}, {"apiVersion", "v1"},
                                                {"preconditions", {{"uid", "0000"}}}});
  ExpectStatus(bad_uid, 409, "Conflict");
  HttpResponse bad_rv = Do("DELETE", web, json{{"preconditions", {{"resourceVersion", "1"}}}});
  ExpectStatus(bad_rv, 409, "Conflict");

  HttpResponse fg = Do("DELETE", std::string(kDeployments) + "/fg", json{{"propagationPolicy", "Foreground"}});
  ASSERT_EQ(fg.status, 200) << fg.body;
  EXPECT_EQ(BodyOf(fg)["metadata"]["finalizers"], json({"foregroundDeletion"}));
  EXPECT_EQ(Do("GET", std::string(kDeployments) + "/fg").status, 200);

  HttpResponse orphan = Do("DELETE", web + "?propagationPolicy=Orphan");
  ASSERT_EQ(orphan.status, 200) << orphan.body;
  EXPECT_EQ(BodyOf(orphan)["metadata"]["finalizers"], json({"orphan"}));

  ASSERT_EQ(Do("POST", kConfigMaps, ConfigMap("gone")).status, 201);
  HttpResponse del = Do("DELETE", std::string(kConfigMaps) + "/gone");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(BodyOf(del)["metadata"]["name"], "gone");
  ExpectStatus(Do("GET", std::string(kConfigMaps) + "/gone"), 404, "NotFound");
  ExpectStatus(Do("DELETE", std::string(kConfigMaps) + "/gone"), 404, "NotFound");
}

TEST_F(ApiHandlerTest, DeleteCollection) {
  ASSERT_EQ(Do("POST", kConfigMaps, ConfigMap("a", {{"x", "1"}})).status, 201);
  ASSERT_EQ(Do("POST", kConfigMaps, ConfigMap("b", {{"x", "2"}})).status, 201);
  HttpResponse r = Do("DELETE", std::string(kConfigMaps) + "?labelSelector=x%3D1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(BodyOf(r)["items"].size(), 1u);
  EXPECT_EQ(Do("GET", std::string(kConfigMaps) + "/a").status, 404);
  EXPECT_EQ(Do("GET", std::string(kConfigMaps) + "/b").status, 200);
}

TEST_F(ApiHandlerTest, DryRunAllWritesNothing) {
  int64_t before = store_->CurrentRevision();
  HttpResponse c = Do("POST", std::string(kDeployments) + "?dryRun=All", Deployment("dry"));
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(BodyOf(c)["metadata"]["name"], "dry");
  EXPECT_EQ(store_->CurrentRevision(), before);
  EXPECT_EQ(Do("GET", std::string(kDeployments) + "/dry").status, 404);
  ExpectStatus(Do("POST", std::string(kDeployments) + "?dryRun=Some", Deployment("dry")), 400, "BadRequest");

  CreateDeployment("web");
  before = store_->CurrentRevision();
  EXPECT_EQ(Do("PATCH", std::string(kDeployments) + "/web?dryRun=All", json{{"spec", {{"replicas", 9}}}},
               "application/merge-patch+json")
                .status,
            200);
  EXPECT_EQ(Do("DELETE", std::string(kDeployments) + "/web?dryRun=All").status, 200);
  EXPECT_EQ(Do("DELETE", std::string(kDeployments) + "/web", json{{"dryRun", {"All"}}}).status, 200);
  EXPECT_EQ(store_->CurrentRevision(), before);
  EXPECT_EQ(BodyOf(Do("GET", std::string(kDeployments) + "/web"))["spec"]["replicas"], 2);
}

TEST_F(ApiHandlerTest, StrictDecodingNamesTheUnknownField) {
  json d = Deployment("web");
  d["spec"]["replicaz"] = 3;
  HttpResponse r = Do("POST", kDeployments, d);
  ExpectStatus(r, 400, "BadRequest");
  json b = BodyOf(r);
  std::string msg = b["message"];
  EXPECT_NE(msg.find("spec.replicaz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("strict decoding error"), std::string::npos) << msg;
  ASSERT_TRUE(b["details"]["causes"].is_array()) << r.body;
  EXPECT_EQ(b["details"]["causes"][0]["field"], "spec.replicaz");
  EXPECT_EQ(b["details"]["causes"][0]["reason"], "FieldValueUnknown");
}

TEST_F(ApiHandlerTest, InvalidValueIs422WithCauses) {
  json d = Deployment("web");
  d["spec"]["replicas"] = -2;
  d["spec"]["template"]["metadata"]["labels"]["app"] = "other";
  HttpResponse r = Do("POST", kDeployments, d);
  ExpectStatus(r, 422, "Invalid");
  json b = BodyOf(r);
  EXPECT_EQ(b["details"]["name"], "web");
  EXPECT_EQ(b["details"]["group"], "apps");
  EXPECT_EQ(b["details"]["kind"], "Deployment");
  std::set<std::string> fields;
  for (const auto& c : b["details"]["causes"]) fields.insert(c["field"]);
  EXPECT_TRUE(fields.count("spec.replicas")) << r.body;
  EXPECT_TRUE(fields.count("spec.template.metadata.labels")) << r.body;
  EXPECT_NE(b["message"].get<std::string>().find("Deployment.apps \"web\" is invalid"), std::string::npos);
}

// Mistyped bodies are the client's error (400), never an exception inside a kind's hooks (500).
TEST_F(ApiHandlerTest, MistypedBodiesAre400) {
  struct Case {
    const char* path;
    const char* body;
  } cases[] = {
      {"/api/v1/namespaces/default/pods", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":"x"})"},
      {"/api/v1/namespaces/default/pods",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":{"name":"a"}}})"},
      {"/api/v1/namespaces/default/pods",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"i","resources":{"limits":{"cpu":[1]}}}]}})"},
      {"/apis/apps/v1/namespaces/default/deployments",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":5}})"},
      {"/apis/apps/v1/namespaces/default/deployments",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":[]})"},
      {"/api/v1/namespaces", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"},"spec":{"finalizers":"k"}})"},
      {"/api/v1/namespaces/default/configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":"m"})"},
      {"/api/v1/namespaces/default/configmaps",
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":["a"]}})"},
      {"/api/v1/namespaces/default/configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":5}})"},
      {"/api/v1/namespaces/default/configmaps", R"(["not","an","object"])"},
      {"/api/v1/namespaces/default/events", R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"e"},"involvedObject":7})"},
  };
  for (const auto& c : cases) {
    HttpResponse r = Do(Request("POST", c.path, c.body));
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
  }
  // The same for updates and patches of an existing object.
  ASSERT_EQ(Do("POST", kDeployments, Deployment("web")).status, 201);
  HttpResponse u = Do(Request("PUT", std::string(kDeployments) + "/web",
                              R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":7})"));
  EXPECT_EQ(u.status, 400) << u.body;
  HttpResponse p = Do("PATCH", std::string(kDeployments) + "/web", json{{"spec", {{"template", {{"spec", 3}}}}}},
                      "application/merge-patch+json");
  EXPECT_EQ(p.status, 400) << p.body;
  HttpResponse sp = Do("PATCH", std::string(kDeployments) + "/web",
                       json{{"spec", {{"template", {{"spec", {{"containers", "x"}}}}}}}},
                       "application/strategic-merge-patch+json");
  EXPECT_GE(sp.status, 400) << sp.body;
  EXPECT_LT(sp.status, 500) << sp.body;

  // A uid in the body is a precondition.
  json other = Deployment("web");
  other["metadata"]["uid"] = "someone-else";
  HttpResponse wrong_uid = Do("PUT", std::string(kDeployments) + "/web", other);
  ExpectStatus(wrong_uid, 409, "Conflict");
  EXPECT_NE(BodyOf(wrong_uid)["message"].get<std::string>().find("Precondition failed: UID"), std::string::npos)
      << wrong_uid.body;
}

TEST_F(ApiHandlerTest, BodyLimitsAndFormats) {
  // Nesting deeper than 100.
  std::string deep = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"deep\"},\"x\":";
  for (int i = 0; i < 150; ++i) deep += "[";
  for (int i = 0; i < 150; ++i) deep += "]";
  deep += "}";
  ExpectStatus(Do(Request("POST", kConfigMaps, deep)), 400, "BadRequest");
  ExpectStatus(Do(Request("POST", kConfigMaps, "{not json")), 400, "BadRequest");
  ExpectStatus(Do(Request("POST", kConfigMaps, "")), 400, "BadRequest");

  // YAML.
  const std::string yaml =
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n  labels:\n    a: b\ndata:\n  k: \"1\"\n";
  HttpResponse y = Do(Request("POST", kConfigMaps, yaml, "application/yaml"));
  ASSERT_EQ(y.status, 201) << y.body;
  EXPECT_EQ(BodyOf(y)["data"]["k"], "1");

  // A billion laughs is refused quickly.
  std::string laughs = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int j = 0; j < 9; ++j) laughs += ", " + prev;
    laughs += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  HttpResponse lol = Do(Request("POST", kConfigMaps, laughs, "application/yaml"));
  auto took = std::chrono::steady_clock::now() - start;
  ExpectStatus(lol, 400, "BadRequest");
  EXPECT_LT(took, 1s);

  ExpectStatus(Do(Request("POST", kConfigMaps, ConfigMap("x").dump(), "application/xml")), 415,
               "UnsupportedMediaType");
  HttpResponse charset = Do(Request("POST", kConfigMaps, ConfigMap("cs").dump(), "application/json; charset=utf-8"));
  EXPECT_EQ(charset.status, 201) << charset.body;
}

TEST_F(ApiHandlerTest, ContentNegotiation) {
  ASSERT_EQ(Do("POST", kConfigMaps, ConfigMap("a")).status, 201);
  HttpRequest proto = Request("GET", std::string(kConfigMaps) + "/a");
  proto.headers.Add("Accept", "application/vnd.kubernetes.protobuf");
  ExpectStatus(Do(proto), 406, "NotAcceptable");
  HttpRequest list_proto = Request("GET", kConfigMaps);
  list_proto.headers.Add("Accept", "application/vnd.kubernetes.protobuf");
  ExpectStatus(Do(list_proto), 406, "NotAcceptable");
  HttpRequest either = Request("GET", std::string(kConfigMaps) + "/a");
  either.headers.Add("Accept", "application/vnd.kubernetes.protobuf, application/json");
  EXPECT_EQ(Do(either).status, 200);
  HttpRequest any = Request("GET", std::string(kConfigMaps) + "/a");
  any.headers.Add("Accept", "*/*");
  EXPECT_EQ(Do(any).status, 200);

  HttpRequest meta = Request("GET", kConfigMaps);
  meta.headers.Add("Accept", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json");
  HttpResponse m = Do(meta);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(BodyOf(m)["kind"], "PartialObjectMetadataList");
  EXPECT_FALSE(BodyOf(m)["items"][0].contains("data"));
}

// Events print as kubectl prints them: LAST SEEN first, and one NAME column (wide only, last),
// not a second one in front.
TEST_F(ApiHandlerTest, EventTableHasExactlyOneNameColumn) {
  HttpResponse c = Do("POST", "/api/v1/namespaces/default/events",
                      json::parse(R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"e1"},
                         "involvedObject":{"kind":"Deployment","name":"web","namespace":"default"},
                         "reason":"ScalingReplicaSet","message":"Scaled up","type":"Normal"})"));
  ASSERT_EQ(c.status, 201) << c.body;
  HttpRequest list = Request("GET", "/api/v1/namespaces/default/events");
  list.headers.Add("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io, application/json");
  json t = BodyOf(Do(list));
  int names = 0;
  for (const auto& d : t["columnDefinitions"]) names += d["format"] == "name" ? 1 : 0;
  EXPECT_EQ(names, 1) << t["columnDefinitions"].dump();
  EXPECT_EQ(t["columnDefinitions"][0]["name"], "Last Seen");
  ASSERT_EQ(t["rows"].size(), 1u);
  EXPECT_EQ(t["rows"][0]["cells"].size(), t["columnDefinitions"].size());
}

TEST_F(ApiHandlerTest, TablesForListAndGet) {
  CreateDeployment("web");
  CreateDeployment("api");
  const std::string accept = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json";
  HttpRequest list = Request("GET", kDeployments);
  list.headers.Add("Accept", accept);
  HttpResponse l = Do(list);
  ASSERT_EQ(l.status, 200) << l.body;
  json t = BodyOf(l);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1");
  ASSERT_GE(t["columnDefinitions"].size(), 2u);
  EXPECT_EQ(t["columnDefinitions"][0]["name"], "Name");
  ASSERT_EQ(t["rows"].size(), 2u);
  EXPECT_EQ(t["rows"][0]["cells"][0], "api");
  EXPECT_EQ(t["rows"][0]["cells"].size(), t["columnDefinitions"].size());
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_FALSE(t["metadata"]["resourceVersion"].get<std::string>().empty());

  HttpRequest get = Request("GET", std::string(kDeployments) + "/web?includeObject=Object");
  get.headers.Add("Accept", accept);
  HttpResponse g = Do(get);
  ASSERT_EQ(g.status, 200) << g.body;
  json gt = BodyOf(g);
  EXPECT_EQ(gt["kind"], "Table");
  ASSERT_EQ(gt["rows"].size(), 1u);
  EXPECT_EQ(gt["rows"][0]["cells"][0], "web");
  EXPECT_EQ(gt["rows"][0]["object"]["kind"], "Deployment");

  // Every built-in kind prints (pods included, with no status yet).
  HttpRequest ns = Request("GET", "/api/v1/namespaces");
  ns.headers.Add("Accept", accept);
  HttpResponse n = Do(ns);
  ASSERT_EQ(n.status, 200) << n.body;
  EXPECT_EQ(BodyOf(n)["columnDefinitions"][1]["name"], "Status");
}

TEST_F(ApiHandlerTest, NamespaceDeletionOverHttp) {
  ASSERT_EQ(Do("POST", "/api/v1/namespaces", testing::NamespaceObj("team")).status, 201);
  ASSERT_EQ(Do("POST", "/api/v1/namespaces/team/configmaps", ConfigMap("a")).status, 201);
  HttpResponse d = Do("DELETE", "/api/v1/namespaces/team");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(Do("GET", "/api/v1/namespaces/team/configmaps/a").status, 404);
  EXPECT_EQ(Do("GET", "/api/v1/namespaces/team").status, 404);
  ExpectStatus(Do("POST", "/api/v1/namespaces/team/configmaps", ConfigMap("b")), 404, "NotFound");

  json held = testing::NamespaceObj("held");
  held["metadata"]["finalizers"] = {"example.com/x"};
  ASSERT_EQ(Do("POST", "/api/v1/namespaces", held).status, 201);
  ASSERT_EQ(Do("DELETE", "/api/v1/namespaces/held").status, 200);
  ExpectStatus(Do("POST", "/api/v1/namespaces/held/configmaps", ConfigMap("b")), 403, "Forbidden");
}

TEST_F(ApiHandlerTest, MethodsAndPaths) {
  ExpectStatus(Do("POST", std::string(kConfigMaps) + "/named", ConfigMap("named")), 405, "MethodNotAllowed");
  ExpectStatus(Do("OPTIONS", kConfigMaps), 405, "MethodNotAllowed");
  ExpectStatus(Do("GET", "/api/v1/namespaces/default/namespaces"), 404, "NotFound");
  ExpectStatus(Do("GET", "/nothing/here"), 404, "NotFound");
  HttpResponse h = Do(Request("GET", "/healthz", "", "", ""));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok");
  handler_->SetShuttingDown();
  EXPECT_EQ(Do(Request("GET", "/readyz", "", "", "")).status, 503);
  ExpectStatus(Do("GET", std::string(kConfigMaps) + "?watch=1"), 503, "ServiceUnavailable");
}

}  // namespace
}  // namespace capstan::api
