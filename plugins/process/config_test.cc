#include "plugins/process/config.h"

#include <gtest/gtest.h>

namespace capstan::plugins::process {
namespace {

using json = nlohmann::json;

void ExpectInvalid(const json& config, const std::string& field) {
  sdk::Result<Config> c = ParseConfig(config, "/var/lib/x");
  ASSERT_FALSE(c.ok()) << config.dump();
  EXPECT_EQ(c.error().code, CAPSTAN_ERR_INVALID_CONFIG);
  EXPECT_NE(c.error().message.find(field), std::string::npos) << c.error().message;
}

TEST(ProcessConfig, DefaultsFromNull) {
  sdk::Result<Config> c = ParseConfig(json(), "/var/lib/capstan/driver-process");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().state_dir, "/var/lib/capstan/driver-process");
  EXPECT_EQ(c.value().log_dir, "/var/lib/capstan/driver-process/logs");
  EXPECT_EQ(c.value().pods, 110);
}

TEST(ProcessConfig, ExplicitValuesAreNormalised) {
  sdk::Result<Config> c = ParseConfig({{"stateDir", "/srv//state/./x/"}, {"logDir", "/var/log/p"}, {"pods", 7}}, "");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().state_dir, "/srv/state/x");
  EXPECT_EQ(c.value().log_dir, "/var/log/p");
  EXPECT_EQ(c.value().pods, 7);
}

TEST(ProcessConfig, BadValuesNameTheField) {
  ExpectInvalid({{"stateDir", "relative/dir"}}, "stateDir");
  ExpectInvalid({{"stateDir", 3}}, "stateDir");
  ExpectInvalid({{"stateDir", ""}}, "stateDir");
  ExpectInvalid({{"logDir", "logs"}}, "logDir");
  ExpectInvalid({{"pods", 0}}, "pods");
  ExpectInvalid({{"pods", "110"}}, "pods");
  ExpectInvalid({{"podz", 1}}, "podz");
  ExpectInvalid(json::array(), "config");
}

TEST(ProcessConfig, NoDefaultStateDirIsAnError) {
  sdk::Result<Config> c = ParseConfig(json(), "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, CAPSTAN_ERR_INVALID_CONFIG);
  EXPECT_NE(c.error().message.find("stateDir"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace capstan::plugins::process
