// Test helpers: a real HAProxy (master-worker, master CLI socket) and real HTTP backends (busybox
// httpd) started by the test on 127.0.0.1, files in a temporary directory.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <httplib.h>

#include "controller/supervisor/child_supervisor.h"

namespace capstan::controller::haproxy::testing {

inline constexpr char kHaproxy[] = "/usr/sbin/haproxy";
inline constexpr char kBusybox[] = "/bin/busybox";

inline bool HaveTools() { return ::access(kHaproxy, X_OK) == 0 && ::access(kBusybox, X_OK) == 0; }

// A port no one listens on now (bound to 0, read, released) and not handed out before by this
// process: a port given to a Service that HAProxy has not bound yet is free to the kernel, which
// may give it again (one CI run got the same port for two Services in a row).
inline int FreePort() {
  static std::mutex mu;
  static std::set<int> given;
  int port = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    port = ntohs(a.sin_port);
    std::lock_guard<std::mutex> lock(mu);
    if (given.insert(port).second) break;
  }
  return port;
}

inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  return ::mkdtemp(tmpl.data());
}

inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// GET http://127.0.0.1:port/path: the body, or "" when it failed (status != 200).
inline std::string Get(int port, const std::string& path = "/") {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(2);
  auto r = c.Get(path.c_str());
  if (!r || r->status != 200) return "";
  return r->body;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// busybox httpd serving "<name>\n" on 127.0.0.1:port.
inline std::unique_ptr<supervisor::ChildSupervisor> StartHttpd(const std::string& dir, const std::string& name,
                                                               int port) {
  const std::string www = dir + "/www-" + name;
  std::filesystem::create_directories(www);
  std::ofstream(www + "/index.html") << name << "\n";
  supervisor::ChildSpec spec;
  spec.name = "httpd-" + name;
  spec.argv = {kBusybox, "httpd", "-f", "-p", "127.0.0.1:" + std::to_string(port), "-h", www};
  spec.log_path = dir + "/httpd-" + name + ".log";
  auto s = supervisor::ChildSupervisor::Start(spec);
  if (!s.ok()) return nullptr;
  WaitUntil([&] { return Get(port) == name + "\n"; }, std::chrono::seconds(5));
  return std::move(s).value();
}

}  // namespace capstan::controller::haproxy::testing
