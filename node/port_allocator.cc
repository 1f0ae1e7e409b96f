#include "node/port_allocator.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace capstan::node {

Result<PortRange> PortRange::Parse(const std::string& text) {
  const auto dash = text.find('-');
  auto number = [](const std::string& s, int* out) {
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    *out = std::atoi(s.c_str());
    return *out >= 1 && *out <= 65535;
  };
  PortRange r;
  if (dash == std::string::npos || !number(text.substr(0, dash), &r.first) || !number(text.substr(dash + 1), &r.last) ||
      r.first > r.last) {
    return Status::Invalid("invalid port range \"" + text + "\": want FIRST-LAST with 1 <= FIRST <= LAST <= 65535");
  }
  return r;
}

bool HostPortFree(int port) {
  // IPv6 wildcard with IPV6_V6ONLY off covers IPv4 too; fall back to IPv4 where IPv6 is absent.
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_any;
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    return ok;
  }
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

PortAllocator::PortAllocator(PortRange range, std::function<bool(int)> port_free)
    : range_(range), port_free_(std::move(port_free)), next_(range.first) {}

Result<std::vector<int>> PortAllocator::Allocate(const std::string& owner, size_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int> got;
  const int size = range_.last - range_.first + 1;
  int port = next_;
  for (int tried = 0; tried < size && got.size() < count; ++tried) {
    const int candidate = port;
    port = port == range_.last ? range_.first : port + 1;
    if (owner_of_.count(candidate) != 0 || !port_free_(candidate)) continue;
    got.push_back(candidate);
  }
  if (got.size() < count) {
    return Status::Unavailable("no free host port in " + range_.ToString() + ": " + std::to_string(owner_of_.size()) +
                               " held by pods, the others in use on the host");
  }
  for (int p : got) owner_of_[p] = owner;
  next_ = port;
  return got;
}

void PortAllocator::Reserve(const std::string& owner, const std::vector<int>& ports) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int p : ports) owner_of_.emplace(p, owner);
}

std::vector<int> PortAllocator::Held(const std::string& owner) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int> out;
  for (const auto& [port, o] : owner_of_) {
    if (o == owner) out.push_back(port);
  }
  return out;
}

void PortAllocator::Release(const std::string& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = owner_of_.begin(); it != owner_of_.end();) {
    it = it->second == owner ? owner_of_.erase(it) : std::next(it);
  }
}

size_t PortAllocator::InUse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return owner_of_.size();
}

}  // namespace capstan::node
