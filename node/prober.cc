#include "node/prober.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <httplib.h>

#include "client/json_fields.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::StringField;

namespace {

std::string PortText(const json& port) { return port.is_string() ? port.get<std::string>() : port.dump(); }

// A TCP connect to host:port that gives up after `timeout`.
Status Connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return Status::Unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  Status result = Status::Unavailable("dial tcp " + host + ":" + service + ": no address");
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
      if (ready == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        rc = -1;
        if (ready == 0) errno = ETIMEDOUT;
      }
    }
    const int err = errno;
    close(fd);
    if (rc == 0) {
      freeaddrinfo(res);
      return Status::Ok();
    }
    result = Status::Unavailable("dial tcp " + host + ":" + service + ": " + std::strerror(err));
  }
  freeaddrinfo(res);
  return result;
}

ProbeOutcome HttpGet(const json& h, const ProbeTarget& target, int port, std::chrono::milliseconds timeout) {
  std::string host = StringField(h, "host");
  if (host.empty()) host = target.host;
  std::string path = StringField(h, "path");
  if (path.empty() || path[0] != '/') path = "/" + path;
  const bool https = StringField(h, "scheme") == "HTTPS";
  httplib::Headers headers = {{"User-Agent", "capstan-probe/1.0"}, {"Accept", "*/*"}};
  const json& extra = Field(h, "httpHeaders");
  if (extra.is_array()) {
    for (const json& e : extra) headers.emplace(StringField(e, "name"), StringField(e, "value"));
  }
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(timeout - secs);
  auto run = [&](auto& cli) -> ProbeOutcome {
    cli.set_connection_timeout(secs.count(), usecs.count());
    cli.set_read_timeout(secs.count(), usecs.count());
    cli.set_write_timeout(secs.count(), usecs.count());
    cli.set_follow_location(false);
    auto res = cli.Get(path.c_str(), headers);
    const std::string url = (https ? "https://" : "http://") + host + ":" + std::to_string(port) + path;
    if (!res) return {false, "Get \"" + url + "\": " + httplib::to_string(res.error())};
    if (res->status >= 200 && res->status < 400) return {true, ""};
    return {false, "HTTP probe failed with statuscode: " + std::to_string(res->status)};
  };
  if (https) {
    httplib::SSLClient cli(host, port);
    cli.enable_server_certificate_verification(false);
    return run(cli);
  }
  httplib::Client cli(host, port);
  return run(cli);
}

}  // namespace

ProbeOutcome RunProbe(const json& handler, const ProbeTarget& target, std::chrono::milliseconds timeout) {
  if (timeout <= std::chrono::milliseconds(0)) timeout = std::chrono::seconds(1);
  try {
    if (const json& h = Field(handler, "httpGet"); h.is_object()) {
      auto port = HostPortFor(target.ports, target.container, Field(h, "port"));
      if (!port) return {false, "httpGet: container " + target.container + " has no port named " + PortText(Field(h, "port"))};
      return HttpGet(h, target, *port, timeout);
    }
    if (const json& t = Field(handler, "tcpSocket"); t.is_object()) {
      auto port = HostPortFor(target.ports, target.container, Field(t, "port"));
      if (!port) return {false, "tcpSocket: container " + target.container + " has no port named " + PortText(Field(t, "port"))};
      std::string host = StringField(t, "host");
      Status s = Connect(host.empty() ? target.host : host, *port, timeout);
      return s.ok() ? ProbeOutcome{true, ""} : ProbeOutcome{false, s.message()};
    }
    if (const json& e = Field(handler, "exec"); e.is_object()) {
      std::vector<std::string> command;
      const json& cmd = Field(e, "command");
      if (cmd.is_array()) {
        for (const json& w : cmd) command.push_back(w.is_string() ? w.get<std::string>() : w.dump());
      }
      if (command.empty()) return {false, "exec: no command"};
      if (!target.exec) return {false, "exec: the driver cannot run commands in containers"};
      auto r = target.exec(command, timeout);
      if (!r.ok()) return {false, "exec: " + r.status().message()};
      if (r->exit_code == 0) return {true, ""};
      std::string out = r->out + r->err;
      if (out.size() > 1024) out = out.substr(0, 1024);
      return {false, "command " + json(command).dump() + " exited with " + std::to_string(r->exit_code) +
                         (out.empty() ? "" : ": " + out)};
    }
    if (Field(handler, "grpc").is_object()) return {false, "grpc probes are not supported by capstan"};
    return {false, "the probe has no handler (httpGet, tcpSocket or exec)"};
  } catch (const std::exception& ex) {
    return {false, std::string("probe failed: ") + ex.what()};
  }
}

}  // namespace capstan::node
