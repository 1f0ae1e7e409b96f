#include "plugins/docker/config.h"

#include <gtest/gtest.h>

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;

TEST(DockerConfig, NullTakesTheDefaults) {
  sdk::Result<Config> c = ParseConfig(nullptr);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().endpoint.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(c.value().endpoint.path, "/var/run/docker.sock");
  EXPECT_EQ(c.value().api_version, "1.41");
  EXPECT_FALSE(c.value().tls.has_value());
  EXPECT_EQ(c.value().bridge_network, "bridge");
  EXPECT_EQ(c.value().stop_signal, "");
  EXPECT_EQ(c.value().request_timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(c.value().pods, 110);
  EXPECT_TRUE(ParseConfig(json::object()).ok());
}

TEST(DockerConfig, EveryField) {
  sdk::Result<Config> c = ParseConfig(json::parse(R"({
    "endpoint": "tcp://docker.example:2376", "apiVersion": "1.43",
    "tls": {"ca": "/etc/capstan/ca.pem", "cert": "/etc/capstan/cert.pem", "key": "/etc/capstan/key.pem"},
    "bridgeNetwork": "capstan_net", "stopSignal": "SIGQUIT", "requestTimeoutMs": 5000, "pods": 20})"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().endpoint.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(c.value().endpoint.host, "docker.example");
  EXPECT_EQ(c.value().endpoint.port, 2376);
  EXPECT_EQ(c.value().api_version, "1.43");
  ASSERT_TRUE(c.value().tls.has_value());
  EXPECT_EQ(c.value().tls->ca, "/etc/capstan/ca.pem");
  EXPECT_EQ(c.value().tls->cert, "/etc/capstan/cert.pem");
  EXPECT_EQ(c.value().tls->key, "/etc/capstan/key.pem");
  EXPECT_EQ(c.value().bridge_network, "capstan_net");
  EXPECT_EQ(c.value().stop_signal, "SIGQUIT");
  EXPECT_EQ(c.value().request_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.value().pods, 20);
}

TEST(DockerConfig, Endpoints) {
  sdk::Result<Endpoint> v6 = ParseEndpoint("tcp://[::1]:2375", "endpoint");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().port, 2375);
  sdk::Result<Endpoint> v4 = ParseEndpoint("tcp://127.0.0.1:2375/", "endpoint");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4.value().host, "127.0.0.1");
  sdk::Result<Endpoint> unix = ParseEndpoint("unix:///run/user/1000/docker.sock", "endpoint");
  ASSERT_TRUE(unix.ok());
  EXPECT_EQ(unix.value().path, "/run/user/1000/docker.sock");
  EXPECT_EQ(unix.value().text, "unix:///run/user/1000/docker.sock");
  for (const char* bad : {"", "/var/run/docker.sock", "unix://relative.sock", "http://host:2375", "tcp://host",
                          "tcp://:2375", "tcp://host:0", "tcp://host:65536", "tcp://host:x", "tcp://[::1]2375",
                          "npipe:////./pipe/docker_engine"}) {
    sdk::Result<Endpoint> e = ParseEndpoint(bad, "endpoint");
    EXPECT_FALSE(e.ok()) << bad;
    if (!e.ok()) {
      EXPECT_EQ(e.error().code, CAPSTAN_ERR_INVALID_CONFIG);
    }
  }
  EXPECT_FALSE(ParseEndpoint("unix:///" + std::string(120, 'x'), "endpoint").ok()) << "longer than sun_path";
}

TEST(DockerConfig, RejectsWhatItDoesNotKnowNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"([])", "config"},
      {R"("unix:///x")", "config"},
      {R"({"endpoin": "unix:///x"})", "endpoin"},
      {R"({"endpoint": 1})", "endpoint"},
      {R"({"endpoint": "ftp://x:1"})", "endpoint"},
      {R"({"apiVersion": 1.41})", "apiVersion"},
      {R"({"apiVersion": "1.39"})", "apiVersion"},
      {R"({"apiVersion": "2.0"})", "apiVersion"},
      {R"({"apiVersion": "v1.41"})", "apiVersion"},
      {R"({"endpoint": "tcp://h:1", "tls": "yes"})", "tls"},
      {R"({"endpoint": "tcp://h:1", "tls": {"ca": "relative.pem"}})", "tls.ca"},
      {R"({"endpoint": "tcp://h:1", "tls": {"cert": "/c.pem"}})", "cert and key"},
      {R"({"endpoint": "tcp://h:1", "tls": {"insecure": true}})", "insecure"},
      {R"({"tls": {"ca": "/ca.pem"}})", "tls"},
      {R"({"bridgeNetwork": ""})", "bridgeNetwork"},
      {R"({"bridgeNetwork": "a b"})", "bridgeNetwork"},
      {R"({"stopSignal": "term now"})", "stopSignal"},
      {R"({"stopSignal": 15})", "stopSignal"},
      {R"({"requestTimeoutMs": 0})", "requestTimeoutMs"},
      {R"({"requestTimeoutMs": "1s"})", "requestTimeoutMs"},
      {R"({"pods": 0})", "pods"},
      {R"({"pods": 1.5})", "pods"},
  };
  for (const auto& [doc, field] : bad) {
    sdk::Result<Config> c = ParseConfig(json::parse(doc));
    ASSERT_FALSE(c.ok()) << doc;
    EXPECT_EQ(c.error().code, CAPSTAN_ERR_INVALID_CONFIG) << doc;
    EXPECT_NE(c.error().message.find(field), std::string::npos) << doc << ": " << c.error().message;
  }
}

TEST(DockerConfig, SignalsAsDockerTakesThem) {
  for (const char* ok : {"SIGTERM", "TERM", "SIGRTMIN+3", "9", "SIGUSR1"}) {
    EXPECT_TRUE(ParseConfig(json{{"stopSignal", ok}}).ok()) << ok;
  }
}

}  // namespace
}  // namespace capstan::plugins::docker
