// RegistryClient against Debian's docker-registry (distribution 2.8) started by the test, plus the
// header parsers on their own.
#include "controller/registry/registry_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "controller/registry/testing/image_pusher.h"
#include "controller/registry/testing/registry_process.h"

namespace capstan::registry {
namespace {

using testing::ImageSpec;
using testing::PushedImage;
using testing::RegistryOptions;
using testing::RegistryProcess;

std::unique_ptr<RegistryClient> Connect(const std::string& url, const std::string& user = "",
                                        const std::string& password = "", int page_size = 0) {
  RegistryClientOptions options;
  options.tag_page_size = page_size;
  options.initial_backoff = std::chrono::milliseconds(50);
  options.max_attempts = 3;
  auto client = RegistryClient::Create({url, user, password, "", false}, options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(client).value();
}

#define REQUIRE_REGISTRY()                                                  \
  if (testing::RegistryBinary().empty()) GTEST_SKIP() << "docker-registry is not installed"

TEST(RegistryHeadersTest, NextLinkIsRelativeAndKeepsItsEncoding) {
  EXPECT_EQ(NextLink(R"(</v2/_catalog?last=app%2Fweb&n=2>; rel="next")"), "/v2/_catalog?last=app%2Fweb&n=2");
  EXPECT_EQ(NextLink(R"(<https://r.example.com/v2/a/tags/list?last=v1&n=5>; rel="next")"), "/v2/a/tags/list?last=v1&n=5");
  EXPECT_EQ(NextLink(R"(</v2/_catalog?last=a>; rel="prev")"), "");
  EXPECT_EQ(NextLink(""), "");
}

TEST(RegistryHeadersTest, ParsesBearerAndBasicChallenges) {
  AuthChallenge c = ParseAuthChallenge(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app/web:pull,push,delete",error="insufficient_scope")");
  EXPECT_EQ(c.scheme, "Bearer");
  EXPECT_EQ(c.realm, "https://auth.example.com/token");
  EXPECT_EQ(c.service, "registry.example.com");
  EXPECT_EQ(c.scope, "repository:app/web:pull,push,delete");
  EXPECT_EQ(c.error, "insufficient_scope");
  EXPECT_EQ(ParseAuthChallenge(R"(Basic realm="capstan-test")").scheme, "Basic");
}

TEST(RegistryClientTest, RejectsAUrlWithAPath) {
  EXPECT_EQ(RegistryClient::Create({"http://127.0.0.1:5000/v2", "", "", "", false}).status().code(), Code::kInvalid);
  EXPECT_EQ(RegistryClient::Create({"registry.example.com", "", "", "", false}).status().code(), Code::kInvalid);
}

TEST(RegistryClientTest, PushListHeadGetAndDeleteByDigest) {
  REQUIRE_REGISTRY();
  RegistryProcess registry;
  ASSERT_TRUE(registry.Start({})) << registry.error();
  auto client = Connect(registry.url());
  ASSERT_TRUE(client->Ping().ok());

  Result<PushedImage> docker = testing::PushImage(*client, "app/web", "v1", {"2024-01-02T03:04:05Z", "a"});
  ASSERT_TRUE(docker.ok()) << docker.status().ToString();
  Result<PushedImage> oci = testing::PushImage(*client, "app/web", "v2", {"2024-02-02T03:04:05Z", "b", true});
  ASSERT_TRUE(oci.ok()) << oci.status().ToString();
  Result<PushedImage> list = testing::PushIndex(*client, "app/web", "multi", {*docker, *oci}, false);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  Result<PushedImage> index = testing::PushIndex(*client, "app/web", "oci-multi", {*docker}, true);
  ASSERT_TRUE(index.ok()) << index.status().ToString();

  // HEAD with all four Accept types returns each manifest's own digest and media type (2.8 would
  // serve a schema1 conversion with another digest without them).
  for (const auto& [tag, image] : std::vector<std::pair<std::string, PushedImage>>{
           {"v1", *docker}, {"v2", *oci}, {"multi", *list}, {"oci-multi", *index}}) {
    Result<ManifestRef> head = client->HeadManifest("app/web", tag);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->digest, image.digest) << tag;
    EXPECT_EQ(head->media_type, image.media_type) << tag;
    Result<Manifest> got = client->GetManifest("app/web", tag);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->ref.digest, image.digest);
    EXPECT_EQ(Sha256Digest(got->body), image.digest);
  }
  Result<Manifest> manifest = client->GetManifest("app/web", "v1");
  ASSERT_TRUE(manifest.ok());
  Result<std::string> config = client->GetBlob("app/web", manifest->doc["config"]["digest"]);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(json::parse(*config)["created"], "2024-01-02T03:04:05Z");

  // A tag is not a digest: refused here, before the registry's 400 DIGEST_INVALID.
  EXPECT_EQ(client->DeleteManifest("app/web", "v1").code(), Code::kInvalid);
  ASSERT_TRUE(client->DeleteManifest("app/web", docker->digest).ok());
  EXPECT_TRUE(client->HeadManifest("app/web", "v1").status().IsNotFound());
  EXPECT_TRUE(client->HeadManifest("app/web", "v2").ok());
  EXPECT_GT(client->request_count(), 10);
}

TEST(RegistryClientTest, CatalogAndTagsFollowLinkPagination) {
  REQUIRE_REGISTRY();
  RegistryProcess registry;
  ASSERT_TRUE(registry.Start({.catalog_max_entries = 2})) << registry.error();
  auto client = Connect(registry.url(), "", "", 3);
  Result<PushedImage> image = testing::PushImage(*client, "team/a", "t0", {"2024-01-01T00:00:00Z", "x"});
  ASSERT_TRUE(image.ok());
  for (int i = 1; i < 10; ++i) ASSERT_TRUE(testing::Tag(*client, "team/a", "t" + std::to_string(i), *image).ok());
  for (const char* repo : {"team/b", "team/c", "other", "x/y/z"}) {
    ASSERT_TRUE(testing::PushImage(*client, repo, "latest", {"2024-01-01T00:00:00Z", repo}).ok());
  }
  Result<std::vector<std::string>> catalog = client->Catalog();
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ(*catalog, (std::vector<std::string>{"other", "team/a", "team/b", "team/c", "x/y/z"}));
  Result<std::vector<std::string>> tags = client->Tags("team/a");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->size(), 10u);
  EXPECT_TRUE(client->Tags("nope").status().IsNotFound());
}

TEST(RegistryClientTest, DeletionDisabledAndReadOnlyNameTheSetting) {
  REQUIRE_REGISTRY();
  RegistryProcess registry;
  ASSERT_TRUE(registry.Start({.delete_enabled = false})) << registry.error();
  auto client = Connect(registry.url());
  Result<PushedImage> image = testing::PushImage(*client, "app", "v1", {"2024-01-01T00:00:00Z", "x"});
  ASSERT_TRUE(image.ok());
  Status deleted = client->DeleteManifest("app", image->digest);
  EXPECT_EQ(deleted.code(), Code::kMethodNotAllowed);
  EXPECT_NE(deleted.message().find("storage.delete.enabled"), std::string::npos) << deleted.message();
  ASSERT_TRUE(registry.Restart({.read_only = true})) << registry.error();
  Status put = testing::Tag(*client, "app", "v2", *image);
  EXPECT_EQ(put.code(), Code::kMethodNotAllowed) << put.ToString();
  EXPECT_NE(put.message().find("storage.maintenance.readonly"), std::string::npos) << put.message();
  EXPECT_TRUE(client->HeadManifest("app", "v1").ok());
}

TEST(RegistryClientTest, BasicAuthWithoutAndWithCredentials) {
  REQUIRE_REGISTRY();
  RegistryProcess registry;
  ASSERT_TRUE(registry.Start({.users = {{"alice", "s3cret"}}})) << registry.error();
  auto anonymous = Connect(registry.url());
  Status ping = anonymous->Ping();
  EXPECT_EQ(ping.code(), Code::kUnauthorized) << ping.ToString();
  auto wrong = Connect(registry.url(), "alice", "wrong");
  EXPECT_EQ(wrong->Catalog().status().code(), Code::kUnauthorized);
  auto alice = Connect(registry.url(), "alice", "s3cret");
  ASSERT_TRUE(alice->Ping().ok());
  ASSERT_TRUE(testing::PushImage(*alice, "app", "v1", {"2024-01-01T00:00:00Z", "x"}).ok());
  Result<std::vector<std::string>> catalog = alice->Catalog();
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(*catalog, std::vector<std::string>{"app"});
}

TEST(RegistryClientTest, UnreachableRegistryIsRetriedThenUnavailable) {
  REQUIRE_REGISTRY();
  RegistryProcess registry;
  ASSERT_TRUE(registry.Start({})) << registry.error();
  auto client = Connect(registry.url());
  ASSERT_TRUE(testing::PushImage(*client, "app", "v1", {"2024-01-01T00:00:00Z", "x"}).ok());
  registry.Stop();
  Status down = client->Ping();
  EXPECT_EQ(down.code(), Code::kUnavailable);
  EXPECT_NE(down.message().find("3 attempts"), std::string::npos) << down.message();
  // Back within the backoff: the request succeeds on a later attempt.
  std::thread restart([&] { ASSERT_TRUE(registry.Start({})); });
  RegistryClientOptions patient;
  patient.initial_backoff = std::chrono::milliseconds(300);
  patient.max_attempts = 8;
  auto retrying = RegistryClient::Create({registry.url(), "", "", "", false}, patient);
  ASSERT_TRUE(retrying.ok());
  Result<ManifestRef> head = (*retrying)->HeadManifest("app", "v1");
  restart.join();
  EXPECT_TRUE(head.ok()) << head.status().ToString();
}

TEST(RegistryClientTest, HttpsTrustsTheGivenCaOrSkipsVerification) {
  REQUIRE_REGISTRY();
  RegistryProcess registry;
  ASSERT_TRUE(registry.Start({.tls = true})) << registry.error();
  ASSERT_EQ(registry.url().rfind("https://", 0), 0u);
  RegistryClientOptions once;
  once.max_attempts = 1;
  auto untrusted = RegistryClient::Create({registry.url(), "", "", "", false}, once);
  ASSERT_TRUE(untrusted.ok());
  Status refused = (*untrusted)->Ping();
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("not trusted"), std::string::npos) << refused.message();
  auto with_ca = RegistryClient::Create({registry.url(), "", "", registry.ca_pem(), false}, once);
  ASSERT_TRUE(with_ca.ok());
  Status ping = (*with_ca)->Ping();
  EXPECT_TRUE(ping.ok()) << ping.ToString();
  EXPECT_TRUE(testing::PushImage(**with_ca, "app", "v1", {"2024-01-01T00:00:00Z", "x"}).ok());
  auto insecure = RegistryClient::Create({registry.url(), "", "", "", true}, once);
  ASSERT_TRUE(insecure.ok());
  EXPECT_TRUE((*insecure)->HeadManifest("app", "v1").ok());
}

// A registry that rate-limits: 429 with Retry-After twice, then the answer.
TEST(RegistryClientTest, TooManyRequestsHonoursRetryAfter) {
  httplib::Server server;
  std::atomic<int> calls{0};
  server.Get("/v2/", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls <= 2) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      return;
    }
    res.set_content("{}", "application/json");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  auto client = Connect("http://127.0.0.1:" + std::to_string(port));
  auto start = std::chrono::steady_clock::now();
  Status ping = client->Ping();
  auto waited = std::chrono::steady_clock::now() - start;
  server.stop();
  thread.join();
  EXPECT_TRUE(ping.ok()) << ping.ToString();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_GE(waited, std::chrono::milliseconds(1900));
}

// Headers from the network are parsed without throwing: a Retry-After too large for std::stol
// and a Content-Length that is no number used to throw out of the client (and its thread).
TEST(RegistryClientTest, MalformedRetryAfterAndContentLengthDoNotThrow) {
  httplib::Server server;
  std::atomic<int> calls{0};
  server.Get("/v2/", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls == 1) {
      res.status = 429;
      res.set_header("Retry-After", "99999999999999999999999");
      return;
    }
    res.set_content("{}", "application/json");
  });
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "HEAD") return httplib::Server::HandlerResponse::Unhandled;
    res.status = 200;
    res.set_header("Docker-Content-Digest", "sha256:abc");
    res.set_header("Content-Type", kOciManifest);
    res.set_header("Content-Length", "12x");
    return httplib::Server::HandlerResponse::Handled;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  RegistryClientOptions options;
  options.max_backoff = std::chrono::milliseconds(100);
  auto client = std::move(RegistryClient::Create({"http://127.0.0.1:" + std::to_string(port), "", "", "", false},
                                                 options)).value();
  Status ping;
  Result<ManifestRef> head = Status::Internal("not run");
  EXPECT_NO_THROW(ping = client->Ping());
  EXPECT_NO_THROW(head = client->HeadManifest("app", "v1"));
  server.stop();
  thread.join();
  EXPECT_TRUE(ping.ok()) << ping.ToString();
  EXPECT_EQ(calls.load(), 2);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->digest, "sha256:abc");
  EXPECT_EQ(head->size, 0);
}

// Debian packages no token server for distribution (docker_auth is not in Debian), so the Bearer
// flow is checked against a small token endpoint: the challenge's realm, service and scope are
// used, the credentials go to the token service, and the token to the registry.
TEST(RegistryClientTest, BearerTokenFromTheChallengeRealm) {
  httplib::Server server;
  std::string token_query;
  std::string token_auth;
  int port = server.bind_to_any_port("127.0.0.1");
  std::string origin = "http://127.0.0.1:" + std::to_string(port);
  server.Get("/token", [&](const httplib::Request& req, httplib::Response& res) {
    token_query = req.get_param_value("service") + " " + req.get_param_value("scope", 0) + " " +
                  std::to_string(req.get_param_value_count("scope"));
    token_auth = req.get_header_value("Authorization");
    res.set_content(R"({"token":"tok-123"})", "application/json");
  });
  server.Delete(R"(/v2/app/manifests/(.*))", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer tok-123") {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer realm=\"" + origin +
                                             "/token\",service=\"test-registry\",scope=\"repository:app:delete\"");
      return;
    }
    res.status = 202;
  });
  std::thread thread([&] { server.listen_after_bind(); });
  auto client = Connect(origin, "bob", "pw");
  Status deleted = client->DeleteManifest("app", "sha256:0123");
  server.stop();
  thread.join();
  EXPECT_TRUE(deleted.ok()) << deleted.ToString();
  EXPECT_EQ(token_query, "test-registry repository:app:delete 1");
  EXPECT_EQ(token_auth, "Basic " + std::string("Ym9iOnB3"));
}

}  // namespace
}  // namespace capstan::registry
