// DockerClient against a real engine (the test's own dockerd, testing/dockerd-fixture.sh, with a
// TLS listener on 127.0.0.1): requests and status mapping, deadlines, streams, unreachable
// engines, and TLS with client certificates, a wrong CA and a wrong name.
#include "plugins/docker/docker_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "plugins/docker/testing/dockerd_fixture.h"

namespace capstan::plugins::docker {
namespace {

using testing::DockerdEnvironment;
using testing::DockerdFixture;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const auto* const kDockerd = ::testing::AddGlobalTestEnvironment(new DockerdEnvironment({/*tls=*/true}));

std::unique_ptr<DockerClient> Client(const json& config) {
  sdk::Result<Config> c = ParseConfig(config);
  EXPECT_TRUE(c.ok()) << c.error().message;
  if (!c.ok()) return nullptr;
  sdk::Result<std::unique_ptr<DockerClient>> client = DockerClient::Create(c.value());
  EXPECT_TRUE(client.ok()) << client.error().message;
  return client.ok() ? std::move(client.value()) : nullptr;
}

std::unique_ptr<DockerClient> UnixClient() {
  return Client({{"endpoint", DockerdEnvironment::fixture()->endpoint()}});
}

json TlsConfig(const std::string& endpoint) {
  const DockerdFixture& f = *DockerdEnvironment::fixture();
  return {{"endpoint", endpoint},
          {"tls",
           {{"ca", f.Get("CAPSTAN_DOCKER_TLS_CA")},
            {"cert", f.Get("CAPSTAN_DOCKER_TLS_CERT")},
            {"key", f.Get("CAPSTAN_DOCKER_TLS_KEY")}}}};
}

TEST(DockerClient, AnswersOverTheUnixSocket) {
  REQUIRE_DOCKERD();
  auto client = UnixClient();
  ASSERT_NE(client, nullptr);
  sdk::Result<json> version = client->Json({"GET", "/version", "", {}}, "version");
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(version.value()["ApiVersion"], "1.41");
  EXPECT_FALSE(version.value()["Version"].get<std::string>().empty());
  sdk::Result<HttpResponse> ping = client->Do({"GET", "/_ping", "", {}});
  ASSERT_TRUE(ping.ok()) << ping.error().message;
  EXPECT_EQ(ping.value().status, 200);
  EXPECT_EQ(ping.value().body, "OK");
}

TEST(DockerClient, MapsStatusesToErrors) {
  REQUIRE_DOCKERD();
  auto client = UnixClient();
  sdk::Result<json> missing = client->Json({"GET", "/containers/no-such-container/json", "", {}}, "inspect x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_NE(missing.error().message.find("inspect x: "), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("No such container"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("(HTTP 404)"), std::string::npos) << missing.error().message;

  // A name taken twice: 409.
  const std::string name = "capstan-client-test-" + std::to_string(getpid());
  const json body = {{"Image", DockerdEnvironment::fixture()->image()}, {"Cmd", {"true"}}};
  sdk::Result<HttpResponse> first =
      client->Expect({"POST", "/containers/create?name=" + name, body.dump(), {}}, "create", {201});
  ASSERT_TRUE(first.ok()) << first.error().message;
  sdk::Result<HttpResponse> second =
      client->Expect({"POST", "/containers/create?name=" + name, body.dump(), {}}, "create", {201});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, CAPSTAN_ERR_CONFLICT) << second.error().message;
  // A name docker does not take: 400.
  sdk::Result<HttpResponse> bad =
      client->Expect({"POST", "/containers/create?name=" + UrlEncode("no/slashes"), body.dump(), {}}, "create");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, CAPSTAN_ERR_INVALID_ARGUMENT) << bad.error().message;
  EXPECT_TRUE(client->Expect({"DELETE", "/containers/" + name + "?force=true", "", {}}, "remove", {204}).ok());
}

TEST(DockerClient, AnUnreachableEngineIsUnavailable) {
  REQUIRE_DOCKERD();
  auto no_socket = Client({{"endpoint", "unix://" + DockerdEnvironment::fixture()->dir() + "/no-such.sock"}});
  sdk::Result<HttpResponse> r = no_socket->Do({"GET", "/_ping", "", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CAPSTAN_ERR_UNAVAILABLE);
  EXPECT_NE(r.error().message.find("no-such.sock"), std::string::npos) << "names the endpoint: " << r.error().message;
  auto refused = Client({{"endpoint", "tcp://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort())}});
  r = refused->Do({"GET", "/_ping", "", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CAPSTAN_ERR_UNAVAILABLE) << r.error().message;
}

TEST(DockerClient, ACallThatOutlivesItsDeadlineIsATimeout) {
  REQUIRE_DOCKERD();
  auto client = UnixClient();
  const std::string id = DockerdEnvironment::fixture()->MustDocker(
      {"run", "-d", "--network", "host", "--label", "capstan-client-test=1", DockerdEnvironment::fixture()->image(),
       "sleep", "300"});
  // wait blocks until the container stops, which it will not do by itself.
  const auto begin = Clock::now();
  sdk::Result<HttpResponse> r = client->Do({"POST", "/containers/" + id + "/wait", "", {}}, std::chrono::milliseconds(300));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CAPSTAN_ERR_TIMEOUT) << r.error().message;
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(3));
  // The client is still good for the next call.
  EXPECT_TRUE(client->Do({"GET", "/_ping", "", {}}).ok());
  DockerdEnvironment::fixture()->MustDocker({"rm", "-f", id});
}

TEST(DockerClient, StreamsArriveAsTheyHappen) {
  REQUIRE_DOCKERD();
  auto client = UnixClient();
  const json filters = {{"type", {"container"}}, {"label", {"capstan-stream-test"}}};
  sdk::Result<std::unique_ptr<ResponseStream>> events =
      client->Stream({"GET", "/events?filters=" + UrlEncode(filters.dump()), "", {}}, "events");
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_EQ(events.value()->status(), 200);
  std::string got;
  sdk::Result<ResponseStream::ReadResult> idle = events.value()->Read(std::chrono::milliseconds(100), &got);
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle.value(), ResponseStream::ReadResult::kIdle) << "nothing happened yet: " << got;
  const std::string id = DockerdEnvironment::fixture()->MustDocker(
      {"create", "--label", "capstan-stream-test=1", DockerdEnvironment::fixture()->image(), "true"});
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (got.find('\n') == std::string::npos && Clock::now() < deadline) {
    sdk::Result<ResponseStream::ReadResult> r = events.value()->Read(std::chrono::milliseconds(100), &got);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_NE(r.value(), ResponseStream::ReadResult::kEnd);
  }
  const json event = json::parse(got.substr(0, got.find('\n')), nullptr, false);
  ASSERT_TRUE(event.is_object()) << got;
  EXPECT_EQ(event["Action"], "create");
  EXPECT_EQ(event["id"], id);

  // A stream with an error status is an error, with the engine's message.
  sdk::Result<std::unique_ptr<ResponseStream>> no_logs =
      client->Stream({"GET", "/containers/no-such/logs?stdout=1&follow=1", "", {}}, "logs");
  ASSERT_FALSE(no_logs.ok());
  EXPECT_EQ(no_logs.error().code, CAPSTAN_ERR_NOT_FOUND) << no_logs.error().message;
  DockerdEnvironment::fixture()->MustDocker({"rm", "-f", id});
}

TEST(DockerClient, TlsWithClientCertificates) {
  REQUIRE_DOCKERD();
  const std::string endpoint = DockerdEnvironment::fixture()->Get("CAPSTAN_DOCKER_TLS_ENDPOINT");
  ASSERT_FALSE(endpoint.empty());
  auto client = Client(TlsConfig(endpoint));
  ASSERT_NE(client, nullptr);
  sdk::Result<json> version = client->Json({"GET", "/version", "", {}}, "version");
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(version.value()["ApiVersion"], "1.41");
  // Concurrent calls, each on its own connection.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        if (!client->Do({"GET", "/_ping", "", {}}).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(DockerClient, TlsRefusesWhatItCannotTrust) {
  REQUIRE_DOCKERD();
  const DockerdFixture& f = *DockerdEnvironment::fixture();
  const std::string endpoint = f.Get("CAPSTAN_DOCKER_TLS_ENDPOINT");
  // The system's CAs do not know the fixture's.
  json system_ca = TlsConfig(endpoint);
  system_ca["tls"].erase("ca");
  sdk::Result<HttpResponse> r = Client(system_ca)->Do({"GET", "/_ping", "", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CAPSTAN_ERR_UNAVAILABLE);
  EXPECT_NE(r.error().message.find("TLS"), std::string::npos) << r.error().message;
  // The certificate is for 127.0.0.1, not for "localhost".
  const std::string port = endpoint.substr(endpoint.rfind(':') + 1);
  r = Client(TlsConfig("tcp://localhost:" + port))->Do({"GET", "/_ping", "", {}});
  ASSERT_FALSE(r.ok()) << "a certificate for another name was accepted";
  EXPECT_EQ(r.error().code, CAPSTAN_ERR_UNAVAILABLE) << r.error().message;
  // No client certificate: the engine (--tlsverify) refuses.
  json anonymous = TlsConfig(endpoint);
  anonymous["tls"].erase("cert");
  anonymous["tls"].erase("key");
  r = Client(anonymous)->Do({"GET", "/_ping", "", {}});
  EXPECT_FALSE(r.ok()) << "the engine answered a client without a certificate";
  // Plain HTTP to the TLS port is no answer either.
  r = Client({{"endpoint", endpoint}})->Do({"GET", "/_ping", "", {}});
  EXPECT_FALSE(r.ok() && r.value().status == 200);
  // A missing file is a configuration error naming it.
  json missing = TlsConfig(endpoint);
  missing["tls"]["ca"] = f.dir() + "/no-such-ca.pem";
  sdk::Result<Config> c = ParseConfig(missing);
  ASSERT_TRUE(c.ok());
  sdk::Result<std::unique_ptr<DockerClient>> made = DockerClient::Create(c.value());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, CAPSTAN_ERR_INVALID_CONFIG);
  EXPECT_NE(made.error().message.find("tls.ca"), std::string::npos) << made.error().message;
}

}  // namespace
}  // namespace capstan::plugins::docker
