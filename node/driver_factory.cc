#include "node/driver_factory.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <utility>

#include "node/plugin_driver.h"

namespace capstan::node {

Result<std::unique_ptr<RuntimeDriver>> MakeDriver(const std::string& name, const nlohmann::json& config,
                                                  const DriverFactoryOptions& options) {
  PluginDriverOptions plugin_options;
  if (!options.node_name.empty()) plugin_options.run_labels["capstan.io/node"] = options.node_name;
  auto loaded = LoadPluginDriver(options.plugin_dirs, name, config, std::move(plugin_options));
  if (!loaded.ok()) return loaded.status();
  return std::unique_ptr<RuntimeDriver>(std::move(loaded).value());
}

std::vector<std::string> DefaultPluginDirs() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  self[n] = '\0';
  const std::filesystem::path lib = std::filesystem::path(self).parent_path().parent_path() / "lib";
  return {(lib / "capstan" / "plugins").lexically_normal().string(), lib.lexically_normal().string()};
}

namespace {

// One HTTP/1.0 GET /_ping over the unix socket, bounded by `timeout_ms` in all.
bool DockerAnswers(const std::string& socket_path, int timeout_ms) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = false;
  const char request[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(request) - 1)) {
    pollfd p{fd, POLLIN, 0};
    char buf[64] = {};
    if (poll(&p, 1, timeout_ms) == 1 && recv(fd, buf, sizeof(buf) - 1, 0) > 12) {
      ok = std::strncmp(buf, "HTTP/1.", 7) == 0 && std::strncmp(buf + 9, "200", 3) == 0;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

std::string DefaultDriverName(const std::string& docker_socket) {
  return DockerAnswers(docker_socket, 1000) ? "docker" : "process";
}

nlohmann::json CompleteDriverConfig(const std::string& name, nlohmann::json config, const std::string& data_dir) {
  if (config.is_null()) config = nlohmann::json::object();
  if (name == "process" && config.is_object() && !config.contains("stateDir")) {
    config["stateDir"] = data_dir + "/driver-process";
  }
  return config;
}

}  // namespace capstan::node
