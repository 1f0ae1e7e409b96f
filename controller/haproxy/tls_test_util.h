// Test helper: a self-signed certificate and its key made by the openssl tool.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include "controller/supervisor/run_command.h"

namespace capstan::controller::haproxy::testing {

// {certificate PEM, key PEM} for CN `host`; nullopt when the openssl tool cannot make one.
inline std::optional<std::pair<std::string, std::string>> SelfSigned(const std::string& host) {
  char tmpl[] = "/tmp/capstan-cert-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return std::nullopt;
  const std::string dir = tmpl;
  auto run = supervisor::RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + host,
                                     "-days", "1", "-keyout", dir + "/k.pem", "-out", dir + "/c.pem"});
  std::optional<std::pair<std::string, std::string>> out;
  if (run.ok() && run->exit_code == 0) {
    std::ifstream c(dir + "/c.pem"), k(dir + "/k.pem");
    out.emplace(std::string((std::istreambuf_iterator<char>(c)), {}), std::string((std::istreambuf_iterator<char>(k)), {}));
  }
  std::filesystem::remove_all(dir);
  return out;
}

}  // namespace capstan::controller::haproxy::testing
