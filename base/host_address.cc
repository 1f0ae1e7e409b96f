#include "base/host_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>

namespace capstan::base {
namespace {

// The IPv4 address of interface `name` (any up, non-loopback one when `name` is empty); empty
// when there is none.
std::string InterfaceAddress(const std::string& name) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    if (!name.empty() && name != i->ifa_name) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) found = text;
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace

bool IsWildcardAddress(const std::string& address) {
  return address == "0.0.0.0" || address == "::" || address == "[::]";
}

std::string DefaultRouteInterface(const std::string& proc_net_route) {
  std::istringstream in(proc_net_route);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream cols(line);
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(cols >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    // RTF_UP (0x1) set, destination and mask 0.0.0.0.
    const unsigned long f = std::strtoul(flags.c_str(), nullptr, 16);
    if ((f & 0x1) && destination == "00000000" && mask == "00000000") return iface;
  }
  return "";
}

std::string AdvertisedAddress(const std::string& listen_address) {
  if (!IsWildcardAddress(listen_address)) return listen_address;
  std::ifstream routes("/proc/net/route");
  const std::string text((std::istreambuf_iterator<char>(routes)), {});
  if (const std::string iface = DefaultRouteInterface(text); !iface.empty()) {
    if (std::string a = InterfaceAddress(iface); !a.empty()) return a;
  }
  if (std::string a = InterfaceAddress(""); !a.empty()) return a;
  return "127.0.0.1";
}

}  // namespace capstan::base
