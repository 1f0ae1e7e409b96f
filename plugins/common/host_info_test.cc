#include "plugins/common/host_info.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace capstan::plugins {
namespace {

TEST(PluginHostInfo, ParsesMeminfoAndNamesArchitectures) {
  EXPECT_EQ(ParseMemTotalKib("MemFree: 5 kB\nMemTotal:       24684084 kB\n"), 24684084);
  EXPECT_EQ(ParseMemTotalKib("MemFree: 5 kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalKib("MemTotal: kB\n"), std::nullopt);
  EXPECT_EQ(GoArch("x86_64"), "amd64");
  EXPECT_EQ(GoArch("aarch64"), "arm64");
  EXPECT_EQ(GoArch("mips"), "mips");
}

TEST(PluginHostInfo, ReadsThisHost) {
  const HostInfo h = ReadHostInfo();
  EXPECT_EQ(h.os, "linux");
  EXPECT_FALSE(h.kernel.empty());
  EXPECT_EQ(h.cpus, ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_GT(h.memory_kib, 0);
}

}  // namespace
}  // namespace capstan::plugins
