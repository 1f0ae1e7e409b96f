#include "node/port_allocator.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

namespace capstan::node {
namespace {

TEST(PortRangeTest, ParsesAndRejects) {
  auto r = PortRange::Parse("20000-20009");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 20000);
  EXPECT_EQ(r->last, 20009);
  for (const char* bad : {"", "20000", "2-1", "0-10", "1-70000", "a-b", "10-"}) {
    auto b = PortRange::Parse(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find(bad), std::string::npos) << b.status().message();
  }
}

TEST(PortAllocatorTest, HandsOutDistinctPortsRoundRobinAndReusesReleasedOnesLast) {
  PortAllocator a(PortRange{100, 104}, [](int) { return true; });
  auto p1 = a.Allocate("pod-a", 2);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(*p1, (std::vector<int>{100, 101}));
  auto p2 = a.Allocate("pod-b", 1);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(*p2, std::vector<int>{102});
  a.Release("pod-a");
  auto p3 = a.Allocate("pod-c", 3);
  ASSERT_TRUE(p3.ok());
  EXPECT_EQ(*p3, (std::vector<int>{103, 104, 100})) << "released ports come last";
  EXPECT_EQ(a.InUse(), 4u);
  auto none = a.Allocate("pod-d", 2);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnavailable);
  EXPECT_EQ(a.InUse(), 4u) << "a failed allocation takes nothing";
  EXPECT_EQ(a.Held("pod-c"), (std::vector<int>{100, 103, 104}));
}

TEST(PortAllocatorTest, SkipsPortsInUseOnTheHostAndKeepsReservations) {
  std::set<int> busy = {201};
  PortAllocator a(PortRange{200, 203}, [&](int p) { return busy.count(p) == 0; });
  a.Reserve("recovered", {200, 9999});
  auto p = a.Allocate("new", 2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<int>{202, 203}));
  a.Reserve("other", {200});
  EXPECT_EQ(a.Held("recovered"), (std::vector<int>{200, 9999})) << "the first owner keeps a port";
  EXPECT_TRUE(a.Held("other").empty());
}

TEST(PortAllocatorTest, TheRealCheckSeesAListener) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  EXPECT_FALSE(HostPortFree(port));
  PortAllocator a(PortRange{port, port});
  EXPECT_FALSE(a.Allocate("x", 1).ok());
  close(fd);
  EXPECT_TRUE(HostPortFree(port));
}

}  // namespace
}  // namespace capstan::node
