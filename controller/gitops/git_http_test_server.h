// Test helper: git's smart HTTP protocol with basic auth on 127.0.0.1, as a user's git server
// would serve it: a cpp-httplib server that checks the Authorization header and runs the real
// `git http-backend` as a CGI for every request. Test-only (header-only; link capstan_httplib).
#pragma once

#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "base/base64.h"

namespace capstan::controller::gitops::testing {

class GitHttpServer {
 public:
  // Serves the repositories under `project_root` as http://127.0.0.1:PORT/<name>.git, for
  // `user`:`password` only; https:// when a certificate and key (PEM files) are given.
  GitHttpServer(std::string project_root, std::string user, std::string password, const std::string& cert_file = "",
                const std::string& key_file = "")
      : root_(std::move(project_root)), auth_("Basic " + Base64Encode(user + ":" + password)), tls_(!cert_file.empty()) {
    if (tls_) server_ = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
    else server_ = std::make_unique<httplib::Server>();
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
    server_->Get(".*", handler);
    server_->Post(".*", handler);
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  ~GitHttpServer() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string Url(const std::string& repo) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + "/" + repo;
  }
  int requests() const { return requests_; }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    if (req.get_header_value("Authorization") != auth_) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"git\"");
      return;
    }
    const std::string body_file = root_ + "/.cgi-body-" + std::to_string(::gettid());
    std::ofstream(body_file, std::ios::binary) << req.body;
    std::string query;
    for (const auto& [k, v] : req.params) query += (query.empty() ? "" : "&") + k + "=" + v;
    std::string command = "env -i PATH=/usr/bin:/bin GIT_PROJECT_ROOT=" + root_ + " GIT_HTTP_EXPORT_ALL=1" +
                          " REQUEST_METHOD=" + req.method + " PATH_INFO='" + req.path + "'" + " QUERY_STRING='" + query +
                          "'" + " CONTENT_TYPE='" + req.get_header_value("Content-Type") + "'" +
                          " CONTENT_LENGTH=" + std::to_string(req.body.size()) +
                          " HTTP_CONTENT_ENCODING='" + req.get_header_value("Content-Encoding") + "'" +
                          " REMOTE_USER=git REMOTE_ADDR=127.0.0.1 git http-backend < " + body_file;
    std::string out;
    if (FILE* f = ::popen(command.c_str(), "r")) {
      char buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
      ::pclose(f);
    }
    ::unlink(body_file.c_str());
    // CGI output: headers, a blank line, the body.
    size_t end = out.find("\r\n\r\n");
    size_t skip = 4;
    if (end == std::string::npos) {
      end = out.find("\n\n");
      skip = 2;
    }
    if (end == std::string::npos) {
      res.status = 500;
      return;
    }
    std::string content_type = "application/octet-stream";
    res.status = 200;
    size_t pos = 0;
    while (pos < end) {
      size_t eol = out.find('\n', pos);
      if (eol == std::string::npos || eol > end) eol = end;
      std::string line = out.substr(pos, eol - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      pos = eol + 1;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "Status") res.status = std::atoi(value.c_str());
      else if (name == "Content-Type") content_type = value;
      else res.set_header(name, value);
    }
    res.set_content(out.substr(end + skip), content_type);
  }

  const std::string root_;
  const std::string auth_;
  const bool tls_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

}  // namespace capstan::controller::gitops::testing
