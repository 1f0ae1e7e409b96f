#include "node/driver_factory.h"

#include <gtest/gtest.h>

namespace capstan::node {
namespace {

TEST(DriverFactoryTest, LoadsTheFakePluginByName) {
  DriverFactoryOptions options;
  options.plugin_dirs = {"/nonexistent-first", CAPSTAN_FAKE_PLUGIN_DIR};
  options.node_name = "n1";
  auto d = MakeDriver("fake", {{"capacity", {{"pods", "110"}}}}, options);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)->Name(), "fake");
  EXPECT_EQ((*d)->Fingerprint().capacity["pods"], "110");
}

TEST(DriverFactoryTest, ErrorsNameTheConfigOrTheDirectories) {
  DriverFactoryOptions options;
  options.plugin_dirs = {CAPSTAN_FAKE_PLUGIN_DIR};
  auto bad = MakeDriver("fake", {{"failureRate", 2}}, options);
  EXPECT_EQ(bad.status().code(), Code::kInvalid) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("capstan-driver-fake.so"), std::string::npos) << bad.status().ToString();
  auto missing = MakeDriver("nosuch", nullptr, options);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(CAPSTAN_FAKE_PLUGIN_DIR), std::string::npos) << missing.status().ToString();
}

TEST(DriverFactoryTest, DefaultDirectoriesAreBesideTheBinary) {
  auto dirs = DefaultPluginDirs();
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_NE(dirs[0].find("/lib/capstan/plugins"), std::string::npos) << dirs[0];
  EXPECT_EQ(dirs[1].substr(dirs[1].size() - 4), "/lib") << dirs[1];
}

}  // namespace
}  // namespace capstan::node
