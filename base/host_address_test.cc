#include "base/host_address.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

namespace capstan::base {
namespace {

TEST(HostAddressTest, DefaultRouteInterfaceFromProcNetRoute) {
  const std::string table =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
      "eth1\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"  // not up (no RTF_UP)
      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
  EXPECT_EQ(DefaultRouteInterface(table), "eth0");
  EXPECT_EQ(DefaultRouteInterface("Iface\tDestination\n"), "");
  EXPECT_EQ(DefaultRouteInterface(""), "");
  EXPECT_EQ(DefaultRouteInterface("Iface\nbroken line\n"), "");
}

TEST(HostAddressTest, AWildcardIsReplacedByAnAddressOfThisHost) {
  EXPECT_EQ(AdvertisedAddress("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AdvertisedAddress("127.0.0.1"), "127.0.0.1");
  EXPECT_TRUE(IsWildcardAddress("0.0.0.0"));
  EXPECT_TRUE(IsWildcardAddress("::"));
  EXPECT_FALSE(IsWildcardAddress("::1"));
  const std::string a = AdvertisedAddress("0.0.0.0");
  in_addr parsed{};
  EXPECT_EQ(::inet_pton(AF_INET, a.c_str(), &parsed), 1) << a;  // an IPv4 literal of some interface
  EXPECT_NE(a, "0.0.0.0");
}

}  // namespace
}  // namespace capstan::base
