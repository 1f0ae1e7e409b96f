#include "client/kubeconfig.h"

#include "base/base64.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/yaml.h"

namespace capstan::client {
namespace {

using nlohmann::json;

std::string GetString(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// Kubeconfig lists are [{name: x, <kind>: {...}}]; returns the inner object or null.
const json* FindNamed(const json& root, const char* list, const char* inner, const std::string& name) {
  auto it = root.find(list);
  if (it == root.end() || !it->is_array()) return nullptr;
  for (const json& entry : *it) {
    if (GetString(entry, "name") != name) continue;
    auto body = entry.find(inner);
    if (body == entry.end() || !body->is_object()) return nullptr;
    return &*body;
  }
  return nullptr;
}

Result<std::string> DecodeBase64(const std::string& text) {
  auto out = Base64Decode(text, /*lenient=*/true);
  if (!out) return Status::Invalid("certificate-authority-data is not base64");
  return *out;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read kubeconfig " + path + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

std::string DefaultKubeconfigPath() {
  const char* env = std::getenv("CAPSTAN_KUBECONFIG");
  if (env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  std::string base = (home != nullptr && *home != '\0') ? home : ".";
  return base + "/.capstan/kubeconfig";
}

Result<Connection> ParseKubeconfig(const std::string& text, const std::string& context) {
  Result<json> parsed = ParseYaml(text);
  if (!parsed.ok()) return Status::Invalid("kubeconfig: " + parsed.status().message());
  const json& root = *parsed;
  if (!root.is_object()) return Status::Invalid("kubeconfig: not a mapping");

  std::string context_name = context.empty() ? GetString(root, "current-context") : context;
  if (context_name.empty()) return Status::Invalid("kubeconfig: current-context is not set");
  const json* ctx = FindNamed(root, "contexts", "context", context_name);
  if (ctx == nullptr) return Status::Invalid("kubeconfig: context \"" + context_name + "\" not found");

  Connection connection;
  connection.namespace_name = GetString(*ctx, "namespace");

  std::string cluster_name = GetString(*ctx, "cluster");
  const json* cluster = FindNamed(root, "clusters", "cluster", cluster_name);
  if (cluster == nullptr) {
    return Status::Invalid("kubeconfig: cluster \"" + cluster_name + "\" of context \"" + context_name +
                           "\" not found");
  }
  connection.server = GetString(*cluster, "server");
  if (auto it = cluster->find("insecure-skip-tls-verify"); it != cluster->end() && it->is_boolean()) {
    connection.insecure_skip_tls_verify = it->get<bool>();
  }
  connection.certificate_authority = GetString(*cluster, "certificate-authority");
  std::string ca_data = GetString(*cluster, "certificate-authority-data");
  if (!ca_data.empty()) {
    Result<std::string> decoded = DecodeBase64(ca_data);
    if (!decoded.ok()) return Status::Invalid("kubeconfig: " + decoded.status().message());
    connection.certificate_authority_data = std::move(*decoded);
  }

  // A context without a user is legal (anonymous access).
  std::string user_name = GetString(*ctx, "user");
  if (!user_name.empty()) {
    const json* user = FindNamed(root, "users", "user", user_name);
    if (user == nullptr) {
      return Status::Invalid("kubeconfig: user \"" + user_name + "\" of context \"" + context_name + "\" not found");
    }
    connection.token = GetString(*user, "token");
  }
  return connection;
}

Result<Connection> ResolveConnection(const ConnectionOverrides& overrides) {
  std::string path = overrides.kubeconfig.empty() ? DefaultKubeconfigPath() : overrides.kubeconfig;
  Connection connection;
  std::error_code ec;
  bool exists = std::filesystem::exists(path, ec);
  if (exists) {
    Result<std::string> text = ReadFile(path);
    if (!text.ok()) return text.status();
    Result<Connection> parsed = ParseKubeconfig(*text, overrides.context);
    if (!parsed.ok()) return parsed.status().Annotate(path);
    connection = std::move(*parsed);
    connection.source = path;
  } else if (!overrides.kubeconfig.empty()) {
    return Status::NotFound("kubeconfig " + path + " does not exist");
  } else if (overrides.server.empty()) {
    return Status::NotFound("no kubeconfig at " + path +
                            ": start `capstan server` once (it writes one), or pass --kubeconfig or --server");
  }
  if (!overrides.server.empty()) connection.server = overrides.server;
  if (!overrides.token.empty()) connection.token = overrides.token;
  if (connection.server.empty()) return Status::Invalid("kubeconfig " + path + ": the cluster has no server URL");
  return connection;
}

Status WriteKubeconfig(const std::string& path, const std::string& server, const std::string& token,
                       const std::string& ca_pem) {
  namespace fs = std::filesystem;
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path() && !fs::exists(target.parent_path(), ec)) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Status::Internal("creating " + target.parent_path().string() + ": " + ec.message());
    fs::permissions(target.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
  }

  json cluster = {{"server", server}};
  if (!ca_pem.empty()) cluster["certificate-authority-data"] = Base64Encode(ca_pem);
  json config = {
      {"apiVersion", "v1"},
      {"kind", "Config"},
      {"clusters", json::array({{{"name", "capstan"}, {"cluster", cluster}}})},
      {"users", json::array({{{"name", "capstan"}, {"user", {{"token", token}}}}})},
      {"contexts", json::array({{{"name", "capstan"},
                                 {"context", {{"cluster", "capstan"}, {"user", "capstan"}}}}})},
      {"current-context", "capstan"},
      {"preferences", json::object()},
  };
  std::string text = ToYaml(config);

  // The token is a credential: the file is created 0600 from the start, never widened later.
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("creating " + temp + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);  // umask cannot widen, but an existing temp file might have other bits
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status error = Status::Internal("writing " + temp + ": " + std::strerror(errno));
      ::close(fd);
      ::unlink(temp.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    ::unlink(temp.c_str());
    return Status::Internal("writing " + temp + ": " + std::strerror(errno));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status error = Status::Internal("renaming " + temp + " to " + path + ": " + std::strerror(errno));
    ::unlink(temp.c_str());
    return error;
  }
  return Status::Ok();
}

}  // namespace capstan::client
