// ApiHandler's write paths beyond plain CRUD: the I/O-thread fast path for creates
// (HandleAsync) and the pods/binding subresource.
#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "api/api_handler.h"
#include "api/api_test_util.h"

namespace capstan::api {
namespace {

using namespace std::chrono_literals;
using testing::ApiTest;
using testing::BodyOf;
using testing::Deployment;
using testing::ExpectStatus;
using testing::Request;

constexpr char kDeployments[] = "/apis/apps/v1/namespaces/default/deployments";

class ApiWriteTest : public ApiTest {};

// The I/O-thread fast path answers creates exactly as Handle does (its answer arrives from the
// store's commit thread), and declines everything else without touching the request.
TEST_F(ApiWriteTest, HandleAsyncTakesCreatesOnlyAndAnswersAsHandle) {
  auto async = [&](HttpRequest req, bool* taken) {
    std::promise<HttpResponse> answer;
    auto answered = answer.get_future();
    auto once = std::make_shared<std::once_flag>();
    *taken = handler_->HandleAsync(req, [&answer, once](HttpResponse r) {
      std::call_once(*once, [&] { answer.set_value(std::move(r)); });
    });
    if (!*taken) return HttpResponse{};
    EXPECT_EQ(answered.wait_for(5s), std::future_status::ready);
    return answered.get();
  };
  bool taken = false;
  HttpResponse created = async(Request("POST", kDeployments, Deployment("fast").dump()), &taken);
  ASSERT_TRUE(taken);
  ASSERT_EQ(created.status, 201) << created.body;
  json b = BodyOf(created);
  EXPECT_EQ(b["metadata"]["name"], "fast");
  EXPECT_EQ(b["spec"]["strategy"]["type"], "RollingUpdate") << "defaults applied";
  // The spliced text carries the revision the store gave, and a GET returns the same object.
  HttpResponse got = Do("GET", std::string(kDeployments) + "/fast");
  EXPECT_EQ(BodyOf(got), b);

  ExpectStatus(async(Request("POST", kDeployments, Deployment("fast").dump()), &taken), 409, "AlreadyExists");
  json bad = Deployment("bad");
  bad["spec"]["replicas"] = -1;
  ExpectStatus(async(Request("POST", kDeployments, bad.dump()), &taken), 422, "Invalid");
  ExpectStatus(async(Request("POST", kDeployments, Deployment("x").dump(), "application/json", "wrong"), &taken), 401,
               "Unauthorized");
  ExpectStatus(async(Request("POST", kDeployments, Deployment("x").dump(), "application/json", testing::kViewToken),
                     &taken),
               403, "Forbidden");
  HttpResponse table = async(
      [&] {
        HttpRequest r = Request("POST", kDeployments, Deployment("tabled").dump());
        r.headers.Add("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io");
        return r;
      }(),
      &taken);
  ASSERT_EQ(table.status, 201) << table.body;
  EXPECT_EQ(BodyOf(table)["kind"], "Table");
  HttpResponse dry = async(Request("POST", std::string(kDeployments) + "?dryRun=All", Deployment("dry").dump()), &taken);
  EXPECT_EQ(dry.status, 201) << dry.body;
  EXPECT_EQ(Do("GET", std::string(kDeployments) + "/dry").status, 404);

  for (auto [method, target] : {std::pair{"GET", std::string(kDeployments)},
                                std::pair{"PUT", std::string(kDeployments) + "/fast"},
                                std::pair{"POST", std::string("/apis/apps/v1/namespaces/default/deployments/fast/scale")}}) {
    HttpRequest req = Request(method, target, "{}");
    async(req, &taken);
    EXPECT_FALSE(taken) << method << " " << target;
  }
}


// In-process callers hand the body over as a value and get the object back as one
// (HttpRequest::decoded_body / decoded_response): a write's answer is the written object itself,
// shared (shared_body), a read's is theirs (decoded_body). The object stored is the same as over
// HTTP, and errors still come back as Status text.
TEST_F(ApiWriteTest, DecodedBodiesInAndOutForInProcessCallers) {
  HttpRequest req = Request("POST", kDeployments);
  req.headers.Add("Content-Type", "application/json");
  req.decoded_body = std::make_shared<json>(Deployment("decoded"));
  req.decoded_response = true;
  HttpResponse created = handler_->Handle(req);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(created.body.empty());
  ASSERT_NE(created.shared_body, nullptr);
  EXPECT_EQ((*created.shared_body)["spec"]["strategy"]["type"], "RollingUpdate") << "defaults applied";
  HttpResponse got = Do("GET", std::string(kDeployments) + "/decoded");
  EXPECT_EQ(BodyOf(got), *created.shared_body);
  HttpRequest get = Request("GET", std::string(kDeployments) + "/decoded");
  get.decoded_response = true;
  HttpResponse read = handler_->Handle(get);
  ASSERT_NE(read.decoded_body, nullptr);
  EXPECT_EQ(*read.decoded_body, *created.shared_body);

  HttpRequest patch = Request("PATCH", std::string(kDeployments) + "/decoded");
  patch.headers.Add("Content-Type", "application/merge-patch+json");
  patch.decoded_body = std::make_shared<json>(json{{"spec", {{"replicas", 5}}}});
  patch.decoded_response = true;
  HttpResponse patched = handler_->Handle(patch);
  ASSERT_EQ(patched.status, 200) << patched.body;
  ASSERT_NE(patched.shared_body, nullptr);
  EXPECT_EQ((*patched.shared_body)["spec"]["replicas"], 5);

  req.decoded_body = std::make_shared<json>(Deployment("decoded"));
  ExpectStatus(handler_->Handle(req), 409, "AlreadyExists");
}

// pods/binding: the scheduler's write. It binds once; a second binding, a binding without a
// target and a binding of a deleting pod are refused; view tokens may not bind.
TEST_F(ApiWriteTest, PodBindingSetsNodeNameOnce) {
  const std::string pods = "/api/v1/namespaces/default/pods";
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "p"}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  ASSERT_EQ(Do("POST", pods, pod).status, 201);
  json binding = {{"apiVersion", "v1"}, {"kind", "Binding"}, {"metadata", {{"name", "p"}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "node-1"}}}};
  HttpResponse b = Do("POST", pods + "/p/binding", binding);
  ASSERT_EQ(b.status, 201) << b.body;
  EXPECT_EQ(BodyOf(b)["status"], "Success");
  json got = BodyOf(Do("GET", pods + "/p"));
  EXPECT_EQ(got["spec"]["nodeName"], "node-1");
  bool scheduled = false;
  for (const auto& c : got["status"]["conditions"]) {
    if (c["type"] == "PodScheduled") scheduled = c["status"] == "True";
  }
  EXPECT_TRUE(scheduled) << got["status"].dump();

  binding["target"]["name"] = "node-2";
  ExpectStatus(Do("POST", pods + "/p/binding", binding), 409, "Conflict");
  // A binding for another incarnation of the Pod (uid precondition) is refused too.
  ASSERT_EQ(Do("POST", pods, json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "q"}}},
                                   {"spec", pod["spec"]}}).status, 201);
  json stale = binding;
  stale["metadata"] = {{"name", "q"}, {"uid", "not-the-uid"}};
  ExpectStatus(Do("POST", pods + "/q/binding", stale), 409, "Conflict");
  EXPECT_FALSE(BodyOf(Do("GET", pods + "/q"))["spec"].contains("nodeName"));
  EXPECT_EQ(BodyOf(Do("GET", pods + "/p"))["spec"]["nodeName"], "node-1");
  json no_target = {{"apiVersion", "v1"}, {"kind", "Binding"}, {"target", json::object()}};
  ExpectStatus(Do("POST", pods + "/p/binding", no_target), 422, "Invalid");
  binding["metadata"]["name"] = "missing";
  ExpectStatus(Do("POST", pods + "/missing/binding", binding), 404, "NotFound");
  ExpectStatus(Do("GET", pods + "/p/binding"), 405, "MethodNotAllowed");
  ExpectStatus(Do("POST", std::string(kDeployments) + "/web/binding", binding), 404, "NotFound");
  HttpResponse viewer = Do(Request("POST", pods + "/p/binding", binding.dump(), "application/json", testing::kViewToken));
  ExpectStatus(viewer, 403, "Forbidden");
  // Discovery lists it, as kube-scheduler's clients expect.
  json discovery = BodyOf(Do("GET", "/api/v1"));
  bool listed = false;
  for (const auto& r : discovery["resources"]) listed = listed || r["name"] == "pods/binding";
  EXPECT_TRUE(listed) << discovery.dump();
}


// Pods that may be running somewhere are deleted gracefully, as Kubernetes does: marked with their
// grace, which a later DELETE may shorten but never lengthen, and removed by a DELETE with grace 0
// (the node agent's). Pods that never ran anywhere, or have finished, go at once.
TEST_F(ApiWriteTest, PodsOnANodeAreDeletedGracefully) {
  const std::string pods = "/api/v1/namespaces/default/pods";
  auto pod = [](const std::string& name, bool bound) {
    json p = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}}},
              {"spec", {{"terminationGracePeriodSeconds", 20}, {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    if (bound) p["spec"]["nodeName"] = "node-1";
    return p;
  };
  ASSERT_EQ(Do("POST", pods, pod("p", true)).status, 201);
  HttpResponse marked = Do("DELETE", pods + "/p");
  ASSERT_EQ(marked.status, 200) << marked.body;
  EXPECT_FALSE(BodyOf(marked)["metadata"].value("deletionTimestamp", "").empty());
  EXPECT_EQ(BodyOf(marked)["metadata"]["deletionGracePeriodSeconds"], 20);
  ASSERT_EQ(Do("GET", pods + "/p").status, 200);  // still there while its containers stop
  EXPECT_EQ(BodyOf(Do("DELETE", pods + "/p?gracePeriodSeconds=40"))["metadata"]["deletionGracePeriodSeconds"], 20);
  EXPECT_EQ(BodyOf(Do("DELETE", pods + "/p", json{{"gracePeriodSeconds", 5}}))["metadata"]["deletionGracePeriodSeconds"], 5);
  ExpectStatus(Do("DELETE", pods + "/p?gracePeriodSeconds=soon"), 400, "BadRequest");
  // A status write meanwhile (the load balancer's drain condition) does not end the deletion
  // early: only finalizers removed, or a grace of 0, do (Kubernetes' shouldDeleteDuringUpdate).
  HttpResponse condition = Do(Request(
      "PATCH", pods + "/p/status",
      json{{"status", {{"conditions", {{{"type", "haproxy.capstan.io/Drained"}, {"status", "True"}}}}}}}.dump(),
      "application/strategic-merge-patch+json"));
  ASSERT_EQ(condition.status, 200) << condition.body;
  ASSERT_EQ(Do("GET", pods + "/p").status, 200);
  ASSERT_EQ(Do("DELETE", pods + "/p?gracePeriodSeconds=0").status, 200);
  ExpectStatus(Do("GET", pods + "/p"), 404, "NotFound");

  ASSERT_EQ(Do("POST", pods, pod("unbound", false)).status, 201);
  ASSERT_EQ(Do("DELETE", pods + "/unbound").status, 200);
  ExpectStatus(Do("GET", pods + "/unbound"), 404, "NotFound");

  ASSERT_EQ(Do("POST", pods, pod("done", true)).status, 201);
  HttpResponse finished = Do(Request("PATCH", pods + "/done/status", json{{"status", {{"phase", "Succeeded"}}}}.dump(),
                                     "application/merge-patch+json"));
  ASSERT_EQ(finished.status, 200) << finished.body;
  ASSERT_EQ(Do("DELETE", pods + "/done").status, 200);
  ExpectStatus(Do("GET", pods + "/done"), 404, "NotFound");
}

}  // namespace
}  // namespace capstan::api
