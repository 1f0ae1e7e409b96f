// ApiServer over real HTTPS: start on 127.0.0.1:0 with a temporary data directory, then create,
// get and watch with cpp-httplib as an outside client would, trusting the server's own CA.
#include "api/api_server.h"

#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "store/store_test_util.h"

namespace capstan::api {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::unique_ptr<ApiServer> MustStart(const std::string& dir, bool tls = true) {
  ApiServerOptions o;
  o.data_dir = dir;
  o.port = 0;
  o.handler_threads = 4;
  o.io_threads = 1;
  o.tls = tls;
  auto s = ApiServer::Start(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// A client that trusts the server's CA (written to `ca_file`).
std::unique_ptr<httplib::SSLClient> Client(const ApiServer& server, const std::string& ca_file) {
  auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server.port());
  c->set_ca_cert_path(ca_file.c_str());
  c->enable_server_certificate_verification(true);
  c->set_read_timeout(10, 0);
  return c;
}

TEST(ApiServerTest, CreateGetWatchOverHttps) {
  store::testing::TempDir dir;
  auto server = MustStart(dir.Sub("data"));
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);
  EXPECT_EQ(server->url(), "https://127.0.0.1:" + std::to_string(server->port()));
  ASSERT_EQ(server->admin_token().size(), 64u);
  ASSERT_FALSE(server->ca_pem().empty());
  const std::string ca_file = dir.Sub("ca.crt");
  {
    std::ofstream out(ca_file);
    out << server->ca_pem();
  }
  auto client_owner = Client(*server, ca_file);
  httplib::SSLClient& client = *client_owner;
  httplib::Headers auth = {{"Authorization", "Bearer " + server->admin_token()}};

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto anonymous = client.Get("/api/v1/namespaces");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);

  // Discovery reports the address the server actually listens on.
  auto api = client.Get("/api", auth);
  ASSERT_TRUE(api);
  EXPECT_EQ(json::parse(api->body)["serverAddressByClientCIDRs"][0]["serverAddress"],
            "127.0.0.1:" + std::to_string(server->port()));

  // The built-in namespaces exist.
  auto ns = client.Get("/api/v1/namespaces/kube-system", auth);
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->status, 200) << ns->body;

  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "hello"}}}, {"data", {{"a", "1"}}}};
  auto created = client.Post("/api/v1/namespaces/default/configmaps", auth, cm.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  std::string rv = json::parse(created->body)["metadata"]["resourceVersion"];

  auto got = client.Get("/api/v1/namespaces/default/configmaps/hello", auth);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200);
  EXPECT_EQ(json::parse(got->body)["data"]["a"], "1");

  // Watch from the create's revision in one thread; modify in another.
  std::string received;
  std::atomic<bool> got_event{false};
  std::thread watcher([&] {
    auto wc = Client(*server, ca_file);
    auto res = wc->Get("/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=5&resourceVersion=" + rv, auth,
                      [&](const char* data, size_t len) {
                        received.append(data, len);
                        if (received.find('\n') != std::string::npos) {
                          got_event = true;
                          return false;  // enough: hang up
                        }
                        return true;
                      });
    (void)res;
  });
  std::this_thread::sleep_for(200ms);
  auto patched = client.Patch("/api/v1/namespaces/default/configmaps/hello", auth, R"({"data":{"a":"2"}})",
                              "application/merge-patch+json");
  ASSERT_TRUE(patched);
  EXPECT_EQ(patched->status, 200) << patched->body;
  watcher.join();
  ASSERT_TRUE(got_event) << received;
  json ev = json::parse(received.substr(0, received.find('\n')));
  EXPECT_EQ(ev["type"], "MODIFIED");
  EXPECT_EQ(ev["object"]["data"]["a"], "2");

  server->Stop(2000ms);
}

TEST(ApiServerTest, PlainHttpWhenAsked) {
  store::testing::TempDir dir;
  ApiServerOptions o;
  o.data_dir = dir.Sub("data");
  o.port = 0;
  o.tls = false;
  auto server = ApiServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ((*server)->url(), "http://127.0.0.1:" + std::to_string((*server)->port()));
  EXPECT_TRUE((*server)->ca_pem().empty());
  httplib::Client client("127.0.0.1", (*server)->port());
  auto api = client.Get("/api", {{"Authorization", "Bearer " + (*server)->admin_token()}});
  ASSERT_TRUE(api);
  ASSERT_EQ(api->status, 200) << api->body;
  EXPECT_EQ(json::parse(api->body)["serverAddressByClientCIDRs"][0]["serverAddress"],
            "127.0.0.1:" + std::to_string((*server)->port()));
}

TEST(ApiServerTest, MetricsCountTheStoresCommitsAndWrites) {
  store::testing::TempDir dir;
  auto server = MustStart(dir.Sub("data"), /*tls=*/false);
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  const httplib::Headers auth = {{"Authorization", "Bearer " + server->admin_token()}};
  auto value = [&](const std::string& name) {
    auto r = client.Get("/metrics", auth);
    if (!r || r->status != 200) return -1.0;
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(r->body.substr(at + name.size() + 2));
  };
  const double commits0 = value("capstan_store_commits_total"), writes0 = value("capstan_store_writes_total");
  ASSERT_GE(commits0, 1) << "the built-in namespaces were written at start";
  ASSERT_GE(writes0, commits0);
  const json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "m"}}}, {"data", {{"a", "1"}}}};
  auto created = client.Post("/api/v1/namespaces/default/configmaps", auth, cm.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(value("capstan_store_commits_total"), commits0 + 1);
  EXPECT_EQ(value("capstan_store_writes_total"), writes0 + 1);
}

TEST(ApiServerTest, StartFailuresAreErrorsNotCrashes) {
  store::testing::TempDir dir;
  auto first = MustStart(dir.Sub("data"));
  ASSERT_NE(first, nullptr);

  // The data directory is locked by the first server.
  ApiServerOptions same_dir;
  same_dir.data_dir = dir.Sub("data");
  same_dir.port = 0;
  auto second = ApiServer::Start(same_dir);
  EXPECT_FALSE(second.ok());

  // The port is taken.
  ApiServerOptions same_port;
  same_port.data_dir = dir.Sub("other");
  same_port.port = first->port();
  auto third = ApiServer::Start(same_port);
  EXPECT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), Code::kUnavailable) << third.status().ToString();

  // A broken token file names its line.
  {
    std::ofstream out(dir.Sub("tokens"));
    out << "tooshort,bob,view\n";
  }
  ApiServerOptions bad_tokens;
  bad_tokens.data_dir = dir.Sub("third");
  bad_tokens.port = 0;
  bad_tokens.token_file = dir.Sub("tokens");
  auto fourth = ApiServer::Start(bad_tokens);
  EXPECT_FALSE(fourth.ok());
  EXPECT_NE(fourth.status().message().find(":1:"), std::string::npos) << fourth.status().message();

  // The admin token survives a restart.
  std::string token = first->admin_token();
  first->Stop(1000ms);
  first.reset();
  auto again = MustStart(dir.Sub("data"));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->admin_token(), token);
}

}  // namespace
}  // namespace capstan::api
