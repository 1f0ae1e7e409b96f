#include "client/rest_client.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "client/fake_api_server.h"

namespace capstan::client {
namespace {

using testing::FakeApiServer;

Connection To(const std::string& url, const std::string& token = "") {
  Connection connection;
  connection.server = url;
  connection.token = token;
  return connection;
}

std::unique_ptr<RestClient> MakeClient(const std::string& url, const std::string& token = "") {
  Result<std::unique_ptr<RestClient>> client = RestClient::Create(To(url, token));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

void Respond(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"}, {"reason", reason},
              {"message", message}, {"code", code}}
      .dump();
}

// A port nothing listens on: bound then closed.
int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(RestClientTest, StatusFromResponseMapsCodesAndReasons) {
  EXPECT_EQ(StatusFromResponse(404, StatusBody(404, "NotFound", "x")).code(), Code::kNotFound);
  EXPECT_EQ(StatusFromResponse(409, StatusBody(409, "AlreadyExists", "x")).code(), Code::kAlreadyExists);
  EXPECT_EQ(StatusFromResponse(409, StatusBody(409, "Conflict", "x")).code(), Code::kConflict);
  EXPECT_EQ(StatusFromResponse(410, StatusBody(410, "Expired", "x")).code(), Code::kExpired);
  EXPECT_EQ(StatusFromResponse(422, StatusBody(422, "Invalid", "x")).code(), Code::kInvalid);
  EXPECT_EQ(StatusFromResponse(401, "").code(), Code::kUnauthorized);
  EXPECT_EQ(StatusFromResponse(403, "").code(), Code::kForbidden);
  EXPECT_EQ(StatusFromResponse(400, "").code(), Code::kBadRequest);
  EXPECT_EQ(StatusFromResponse(413, "").code(), Code::kTooLarge);
  EXPECT_EQ(StatusFromResponse(415, "").code(), Code::kUnsupportedMediaType);
  EXPECT_EQ(StatusFromResponse(429, "").code(), Code::kTooManyRequests);
  EXPECT_EQ(StatusFromResponse(500, "").code(), Code::kInternal);
  EXPECT_EQ(StatusFromResponse(503, "").code(), Code::kUnavailable);
  Status status = StatusFromResponse(422, StatusBody(422, "Invalid", "spec.replicas: must be >= 0"));
  EXPECT_EQ(status.message(), "spec.replicas: must be >= 0");
  Status plain = StatusFromResponse(502, "<html>bad gateway</html>");
  EXPECT_EQ(plain.code(), Code::kInternal);
  EXPECT_NE(plain.message().find("HTTP 502"), std::string::npos);
  EXPECT_NE(plain.message().find("bad gateway"), std::string::npos);
}

TEST(RestClientTest, EncodesQueryParameters) {
  EXPECT_EQ(EncodeQuery({{"labelSelector", "app=web,tier!=db"}, {"limit", "500"}}),
            "labelSelector=app%3Dweb%2Ctier%21%3Ddb&limit=500");
  EXPECT_EQ(EncodeQuery({}), "");
}

TEST(RestClientTest, RejectsMalformedServerUrls) {
  EXPECT_FALSE(RestClient::Create(To("127.0.0.1:6443")).ok());
  EXPECT_FALSE(RestClient::Create(To("ftp://127.0.0.1")).ok());
  EXPECT_FALSE(RestClient::Create(To("http://")).ok());
}

TEST(RestClientTest, SendsBearerTokenAcceptAndQuery) {
  FakeApiServer server;
  server.Start();
  auto client = MakeClient(server.url(), "tok");
  Result<json> list = client->Get("/api/v1/namespaces/default/configmaps", {{"labelSelector", "a=b"}}, kAcceptTable);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)["kind"], "Table");
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].authorization, "Bearer tok");
  EXPECT_EQ(requests[0].accept, kAcceptTable);
  EXPECT_EQ(requests[0].query["labelSelector"], "a=b");
}

TEST(RestClientTest, CreatePatchDeleteRoundTrip) {
  FakeApiServer server;
  server.Start();
  auto client = MakeClient(server.url());
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cfg"}}}, {"data", {{"a", "1"}}}};
  Result<json> created = client->Create("/api/v1/namespaces/default/configmaps", cm);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["metadata"]["uid"], "uid-1");

  Result<json> again = client->Create("/api/v1/namespaces/default/configmaps", cm);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsAlreadyExists());
  EXPECT_EQ(again.status().message(), "configmaps \"cfg\" already exists");

  Result<json> patched = client->Patch("/api/v1/namespaces/default/configmaps/cfg", PatchType::kMerge,
                                       {{"data", {{"b", "2"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["data"], json({{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(server.Requests().back().content_type, "application/merge-patch+json");

  Result<json> deleted = client->Delete("/api/v1/namespaces/default/configmaps/cfg",
                                        {{"kind", "DeleteOptions"}, {"propagationPolicy", "Foreground"}});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(json::parse(server.Requests().back().body)["propagationPolicy"], "Foreground");
  Result<json> gone = client->Get("/api/v1/namespaces/default/configmaps/cfg");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().IsNotFound());
}

TEST(RestClientTest, ConnectionRefusedSaysToStartTheServer) {
  std::string url = "http://127.0.0.1:" + std::to_string(UnusedPort());
  auto client = MakeClient(url);
  Result<json> answer = client->Get("/api");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Code::kUnavailable);
  EXPECT_EQ(answer.status().message(),
            "cannot connect to the Capstan server at " + url + ": is `capstan server` running?");
}

TEST(RestClientTest, ServerPathPrefixIsKept) {
  FakeApiServer server;
  server.http().Get("/prefix/api", [](const httplib::Request&, httplib::Response& res) {
    Respond(res, 200, R"({"kind":"APIVersions","versions":["v9"]})");
  });
  server.Start();
  auto client = MakeClient(server.url() + "/prefix/");
  Result<json> answer = client->Get("/api");
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ((*answer)["versions"][0], "v9");
}

TEST(RestClientTest, ReadTimeoutIsATimeout) {
  FakeApiServer server;
  server.http().Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    Respond(res, 200, "{}");
  });
  server.Start();
  RestClientOptions options;
  options.request_timeout = std::chrono::milliseconds(150);
  Result<std::unique_ptr<RestClient>> client = RestClient::Create(To(server.url()), options);
  ASSERT_TRUE(client.ok());
  Result<json> answer = (*client)->Get("/slow");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), Code::kTimeout);
}

// Streams `chunks` as the body of a watch, splitting lines across chunk boundaries.
void ServeChunks(httplib::Response& res, std::vector<std::string> chunks) {
  res.set_chunked_content_provider("application/json", [chunks](size_t, httplib::DataSink& sink) {
    for (const std::string& chunk : chunks) {
      if (!sink.write(chunk.data(), chunk.size())) return false;
    }
    sink.done();
    return true;
  });
}

TEST(RestClientTest, WatchDeliversEventsSplitAcrossChunks) {
  FakeApiServer server;
  server.http().Get("/watch", [](const httplib::Request& req, httplib::Response& res) {
    EXPECT_EQ(req.get_param_value("watch"), "true");
    ServeChunks(res, {R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})" "\n" R"({"type":"MODI)",
                      R"(FIED","object":{"metadata":{"name":"b"}}})" "\r\n\n",
                      R"({"type":"DELETED","object":{"metadata":{"name":"c"}}})"});
  });
  server.Start();
  auto client = MakeClient(server.url());
  std::vector<std::string> seen;
  Status status = client->Watch("/watch", {{"watch", "true"}}, [&](const json& event) {
    seen.push_back(event["type"].get<std::string>() + ":" + event["object"]["metadata"]["name"].get<std::string>());
    return true;
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED:a", "MODIFIED:b", "DELETED:c"}));
}

TEST(RestClientTest, WatchStopsWhenCallbackReturnsFalse) {
  FakeApiServer server;
  server.http().Get("/watch", [](const httplib::Request&, httplib::Response& res) {
    ServeChunks(res, {R"({"type":"ADDED","object":{}})" "\n", R"({"type":"ADDED","object":{}})" "\n",
                      R"({"type":"ADDED","object":{}})" "\n"});
  });
  server.Start();
  auto client = MakeClient(server.url());
  int calls = 0;
  Status status = client->Watch("/watch", {}, [&](const json&) { return ++calls < 2; });
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(calls, 2);
}

TEST(RestClientTest, WatchErrorEventBecomesStatus) {
  FakeApiServer server;
  server.http().Get("/watch", [](const httplib::Request&, httplib::Response& res) {
    ServeChunks(res, {R"J({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 5 (90)"}})J" "\n"});
  });
  server.Start();
  auto client = MakeClient(server.url());
  int calls = 0;
  Status status = client->Watch("/watch", {}, [&](const json&) { return ++calls > 0; });
  EXPECT_EQ(status.code(), Code::kExpired);
  EXPECT_EQ(status.message(), "too old resource version: 5 (90)");
  EXPECT_EQ(calls, 0);
}

TEST(RestClientTest, WatchHttpErrorBecomesStatus) {
  FakeApiServer server;
  server.http().Get("/watch", [](const httplib::Request&, httplib::Response& res) {
    Respond(res, 403, StatusBody(403, "Forbidden", "no watching for you"));
  });
  server.Start();
  auto client = MakeClient(server.url());
  Status status = client->Watch("/watch", {}, [](const json&) { return true; });
  EXPECT_EQ(status.code(), Code::kForbidden);
  EXPECT_EQ(status.message(), "no watching for you");
}

}  // namespace
}  // namespace capstan::client
