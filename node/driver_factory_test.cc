#include "node/driver_factory.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

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

// A unix socket that answers one connection with `reply`, as a Docker Engine would /_ping.
class PingServer {
 public:
  explicit PingServer(std::string reply) : path_("/tmp/capstan-ping-" + std::to_string(getpid()) + ".sock") {
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    thread_ = std::thread([this, reply = std::move(reply)] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[256];
      (void)!recv(c, buf, sizeof(buf), 0);
      (void)!send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      close(c);
    });
  }
  ~PingServer() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
};

TEST(DriverFactoryTest, TheDefaultDriverIsDockerWhenItsSocketAnswers) {
  {
    PingServer docker("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK");
    EXPECT_EQ(DefaultDriverName(docker.path()), "docker");
  }
  {
    PingServer broken("HTTP/1.1 500 Internal Server Error\r\n\r\n");
    EXPECT_EQ(DefaultDriverName(broken.path()), "process");
  }
  EXPECT_EQ(DefaultDriverName("/nonexistent/docker.sock"), "process");
}

TEST(DriverFactoryTest, TheProcessDriverKeepsItsStateInTheDataDir) {
  EXPECT_EQ(CompleteDriverConfig("process", nullptr, "/data")["stateDir"], "/data/driver-process");
  EXPECT_EQ(CompleteDriverConfig("process", {{"stateDir", "/x"}}, "/data")["stateDir"], "/x");
  EXPECT_EQ(CompleteDriverConfig("docker", nullptr, "/data"), nlohmann::json::object());
}

}  // namespace
}  // namespace capstan::node
