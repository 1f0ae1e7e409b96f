#include "api/gitops_webhook.h"

#include <gtest/gtest.h>

#include "api/api_test_util.h"

namespace capstan::api {
namespace {

using testing::ApiTest;
using testing::Request;

TEST(HmacSha256HexTest, Rfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

class GitOpsWebhookTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    HttpResponse r = Do("POST", "/api/v1/namespaces/default/secrets",
                        json{{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "hook"}}},
                             {"stringData", {{"token", "t0ken"}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    r = Do("POST", "/apis/gitops.capstan.io/v1alpha1/namespaces/default/gitrepositories",
           json{{"apiVersion", "gitops.capstan.io/v1alpha1"}, {"kind", "GitRepository"}, {"metadata", {{"name", "infra"}}},
                {"spec", {{"url", "file:///r"}, {"webhook", {{"secretRef", {{"name", "hook"}}}}}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    path_ = HmacSha256Hex("t0ken", json::parse(r.body)["metadata"]["uid"].get<std::string>());
  }
  // An unauthenticated call, as a git server makes it.
  HttpResponse Hook(const std::string& header, const std::string& value, const std::string& path = "") {
    HttpRequest req = Request("POST", "/hooks/gitops/" + (path.empty() ? path_ : path), "{\"ref\":\"main\"}", "application/json", "");
    req.headers.Add(header, value);
    return Do(req);
  }
  std::string RequestedAt() {
    HttpResponse r = Do("GET", "/apis/gitops.capstan.io/v1alpha1/namespaces/default/gitrepositories/infra");
    json o = json::parse(r.body);
    return o["metadata"].value("annotations", json::object()).value("gitops.capstan.io/requestedAt", "");
  }
  std::string path_;  // the generated one: hex HMAC-SHA256 of the uid with the token
};

TEST_F(GitOpsWebhookTest, SignedCallsRequestAFetchOthersAre401AndChangeNothing) {
  const std::string hmac = "sha256=" + HmacSha256Hex("t0ken", "{\"ref\":\"main\"}");
  EXPECT_EQ(Hook("X-Hub-Signature-256", "sha256=00").status, 401);
  EXPECT_EQ(Hook("X-Gitlab-Token", "wrong").status, 401);
  EXPECT_EQ(Hook("X-Hub-Signature-256", hmac, std::string(64, 'a')).status, 401) << "an unknown path";
  EXPECT_EQ(Hook("X-Hub-Signature-256", hmac, "default/infra").status, 401) << "the predictable path is gone";
  EXPECT_EQ(Hook("X-Hub-Signature-256", hmac, HmacSha256Hex("wrong", "x")).status, 401);
  EXPECT_EQ(RequestedAt(), "");
  EXPECT_EQ(Hook("X-Hub-Signature-256", hmac).status, 202);
  std::string first = RequestedAt();
  EXPECT_NE(first, "");
  EXPECT_EQ(Hook("X-Gitlab-Token", "t0ken").status, 202);
  EXPECT_EQ(Hook("X-Capstan-Signature", hmac).status, 202);
  EXPECT_NE(RequestedAt(), first) << "each accepted call is a new request";
}

}  // namespace
}  // namespace capstan::api
