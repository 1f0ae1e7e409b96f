#include "controller/registry/registry_credentials.h"

#include "base/base64.h"
#include "controller/registry/in_use_images.h"

namespace capstan::registry {
namespace {

using json = nlohmann::json;

std::string SecretName(const json& secret) {
  if (secret.contains("metadata") && secret["metadata"].is_object()) {
    return secret["metadata"].value("name", std::string("?"));
  }
  return "?";
}

// The decoded value of data[key] (or stringData[key]); nullopt when absent.
std::optional<std::string> SecretValue(const json& secret, const std::string& key) {
  if (secret.contains("data") && secret["data"].is_object() && secret["data"].contains(key) &&
      secret["data"][key].is_string()) {
    return Base64Decode(secret["data"][key].get<std::string>());
  }
  if (secret.contains("stringData") && secret["stringData"].is_object() && secret["stringData"].contains(key) &&
      secret["stringData"][key].is_string()) {
    return secret["stringData"][key].get<std::string>();
  }
  return std::nullopt;
}

// "https://registry.example.com/v1/" -> "registry.example.com" (docker.io for Docker Hub's).
std::string AuthKeyHost(std::string key) {
  if (size_t scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  if (size_t slash = key.find('/'); slash != std::string::npos) key = key.substr(0, slash);
  return RegistryHostOf(key);
}

}  // namespace

Status ApplyCredentialsSecret(const json& secret, RegistryEndpoint* endpoint) {
  std::string name = SecretName(secret);
  std::string type = secret.value("type", std::string());
  if (type == "kubernetes.io/dockerconfigjson") {
    std::optional<std::string> text = SecretValue(secret, ".dockerconfigjson");
    if (!text) return Status::Invalid("Secret " + name + ": no data[.dockerconfigjson]");
    json config;
    try {
      config = json::parse(*text);
    } catch (const std::exception& e) {
      return Status::Invalid("Secret " + name + ": .dockerconfigjson is not JSON: " + e.what());
    }
    std::string host = RegistryHostOf(endpoint->url);
    const json auths = config.value("auths", json::object());
    for (const auto& [key, entry] : auths.items()) {
      if (AuthKeyHost(key) != host || !entry.is_object()) continue;
      endpoint->username = entry.value("username", std::string());
      endpoint->password = entry.value("password", std::string());
      if (endpoint->username.empty() && entry.contains("auth") && entry["auth"].is_string()) {
        std::optional<std::string> pair = Base64Decode(entry["auth"].get<std::string>());
        size_t colon = pair ? pair->find(':') : std::string::npos;
        if (colon == std::string::npos) return Status::Invalid("Secret " + name + ": auths[" + key + "].auth is not user:password");
        endpoint->username = pair->substr(0, colon);
        endpoint->password = pair->substr(colon + 1);
      }
      return Status::Ok();
    }
    return Status::Invalid("Secret " + name + ": .dockerconfigjson has no auths entry for " + host);
  }
  if (type == "kubernetes.io/basic-auth" || type.empty() || type == "Opaque") {
    std::optional<std::string> user = SecretValue(secret, "username");
    std::optional<std::string> password = SecretValue(secret, "password");
    if (!user || !password) return Status::Invalid("Secret " + name + ": needs data.username and data.password");
    endpoint->username = *user;
    endpoint->password = *password;
    return Status::Ok();
  }
  return Status::Invalid("Secret " + name + " has type " + type +
                         "; use kubernetes.io/basic-auth or kubernetes.io/dockerconfigjson");
}

Status ApplyCaSecret(const json& secret, RegistryEndpoint* endpoint) {
  std::optional<std::string> ca = SecretValue(secret, "ca.crt");
  if (!ca || ca->empty()) return Status::Invalid("Secret " + SecretName(secret) + ": no data[ca.crt]");
  endpoint->ca_pem = *ca;
  return Status::Ok();
}

}  // namespace capstan::registry
