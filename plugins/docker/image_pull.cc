#include "plugins/docker/image_pull.h"

#include <cctype>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace capstan::plugins::docker {

sdk::Error PullError(std::string_view message, const std::string& what) {
  std::string lower(message);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&](const char* s) { return lower.find(s) != std::string::npos; };
  const std::string text = what + ": " + std::string(message);
  // Registries answer "pull access denied ... may require 'docker login'" for both a private and
  // an absent repository: without credentials that reads as refused rather than absent.
  if (has("unauthorized") || has("authentication required") || has("denied") || has("forbidden") ||
      has("no basic auth credentials") || has("incorrect username or password")) {
    return sdk::PermissionDenied(text);
  }
  if (has("not found") || has("manifest unknown") || has("does not exist") || has("no such image") ||
      has("name unknown")) {
    return sdk::NotFound(text);
  }
  if (has("connection refused") || has("no such host") || has("i/o timeout") || has("timeout") ||
      has("network is unreachable") || has("server misbehaving") || has("tls handshake") ||
      has("connection reset") || has("unexpected eof") || has(": eof")) {
    return sdk::Unavailable(text);
  }
  return sdk::Internal(text);
}

std::string Base64Url(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(data[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(data[i + 1])} << 8) | uint32_t{static_cast<uint8_t>(data[i + 2])};
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const size_t rest = data.size() - i; rest > 0) {
    uint32_t v = uint32_t{static_cast<uint8_t>(data[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<uint8_t>(data[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string RegistryAuthHeader(const sdk::RegistryAuth& auth) {
  // docker's AuthConfig; empty fields are left out, as the docker CLI does.
  nlohmann::json j = nlohmann::json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("username", auth.username);
  put("password", auth.password);
  put("auth", auth.auth);
  put("serveraddress", auth.server_address);
  put("identitytoken", auth.identity_token);
  put("registrytoken", auth.registry_token);
  return Base64Url(j.dump());
}

}  // namespace capstan::plugins::docker
