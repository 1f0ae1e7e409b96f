#include "plugins/containerd/config.h"

#include <gtest/gtest.h>

namespace capstan::plugins::containerd {
namespace {

using json = nlohmann::json;

void ExpectInvalid(const json& config, const std::string& field) {
  sdk::Result<Config> c = ParseConfig(config);
  ASSERT_FALSE(c.ok()) << config.dump();
  EXPECT_EQ(c.error().code, CAPSTAN_ERR_INVALID_CONFIG);
  EXPECT_NE(c.error().message.find(field), std::string::npos) << c.error().message;
}

TEST(ContainerdConfig, DefaultsFromNull) {
  sdk::Result<Config> c = ParseConfig(json());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().endpoint, "unix:///run/containerd/containerd.sock");
  EXPECT_EQ(c.value().socket_path, "/run/containerd/containerd.sock");
  EXPECT_EQ(c.value().sandbox_image, "") << "containerd's own";
  EXPECT_EQ(c.value().log_dir, "/var/log/capstan/containerd");
  EXPECT_EQ(c.value().runtime_handler, "");
  EXPECT_EQ(c.value().pods, 110);
  EXPECT_EQ(c.value().poll_interval.count(), 250);
  EXPECT_EQ(c.value().call_timeout.count(), 30000);
  EXPECT_EQ(c.value().pull_timeout.count(), 600000);
  EXPECT_EQ(c.value().health_timeout.count(), 2000);
  EXPECT_TRUE(ParseConfig(json::object()).ok());
}

TEST(ContainerdConfig, ExplicitValuesAreNormalised) {
  sdk::Result<Config> c = ParseConfig({{"endpoint", "unix:///tmp//x/./containerd.sock"},
                                       {"sandboxImage", "capstan-test/pause:1"},
                                       {"logDir", "/srv/logs/"},
                                       {"runtimeHandler", "runc"},
                                       {"pods", 7},
                                       {"pollIntervalMs", 50},
                                       {"timeouts", {{"callMs", 1000}, {"pullMs", 2000}, {"healthMs", 300}}}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().endpoint, "unix:///tmp/x/containerd.sock");
  EXPECT_EQ(c.value().socket_path, "/tmp/x/containerd.sock");
  EXPECT_EQ(c.value().sandbox_image, "capstan-test/pause:1");
  EXPECT_EQ(c.value().log_dir, "/srv/logs");
  EXPECT_EQ(c.value().runtime_handler, "runc");
  EXPECT_EQ(c.value().pods, 7);
  EXPECT_EQ(c.value().poll_interval.count(), 50);
  EXPECT_EQ(c.value().call_timeout.count(), 1000);
  EXPECT_EQ(c.value().pull_timeout.count(), 2000);
  EXPECT_EQ(c.value().health_timeout.count(), 300);
}

TEST(ContainerdConfig, BadValuesNameTheField) {
  ExpectInvalid({{"endpoint", "/run/containerd/containerd.sock"}}, "endpoint");
  ExpectInvalid({{"endpoint", "tcp://127.0.0.1:1234"}}, "endpoint");
  ExpectInvalid({{"endpoint", "unix://relative.sock"}}, "endpoint");
  ExpectInvalid({{"endpoint", "unix:///" + std::string(120, 'a')}}, "endpoint");
  ExpectInvalid({{"endpoint", 3}}, "endpoint");
  ExpectInvalid({{"sandboxImage", ""}}, "sandboxImage");
  ExpectInvalid({{"sandboxImage", true}}, "sandboxImage");
  ExpectInvalid({{"logDir", "logs"}}, "logDir");
  ExpectInvalid({{"logDir", json::array()}}, "logDir");
  ExpectInvalid({{"runtimeHandler", 1}}, "runtimeHandler");
  ExpectInvalid({{"pods", 0}}, "pods");
  ExpectInvalid({{"pods", "110"}}, "pods");
  ExpectInvalid({{"pollIntervalMs", 1}}, "pollIntervalMs");
  ExpectInvalid({{"pollIntervalMs", 2.5}}, "pollIntervalMs");
  ExpectInvalid({{"timeouts", 5}}, "timeouts");
  ExpectInvalid({{"timeouts", {{"callMs", 0}}}}, "timeouts.callMs");
  ExpectInvalid({{"timeouts", {{"pullMs", "1m"}}}}, "timeouts.pullMs");
  ExpectInvalid({{"timeouts", {{"healthMs", 86400001}}}}, "timeouts.healthMs");
  ExpectInvalid({{"timeouts", {{"stopMs", 1}}}}, "timeouts.stopMs");
  ExpectInvalid({{"endpoints", "unix:///x.sock"}}, "endpoints");
  ExpectInvalid(json::array(), "config");
  ExpectInvalid("unix:///x.sock", "config");
}

}  // namespace
}  // namespace capstan::plugins::containerd
