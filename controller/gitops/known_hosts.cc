#include "controller/gitops/known_hosts.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cctype>
#include <sstream>
#include <vector>

#include "base/base64.h"

namespace capstan::controller::gitops {
namespace {

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// OpenSSH's match_pattern: only * and ? are special ("[host]:port" is literal), case-insensitive.
bool Glob(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || std::tolower(static_cast<unsigned char>(pattern[p])) ==
                                                        std::tolower(static_cast<unsigned char>(name[n])))) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// One pattern against the name: hashed, or a wildcard pattern (case-insensitive, as OpenSSH).
bool PatternMatches(const std::string& pattern, const std::string& name) {
  if (pattern.starts_with("|1|")) {
    std::vector<std::string> parts = Split(pattern, '|');  // "", "1", salt, hash
    if (parts.size() != 4) return false;
    std::string salt = Base64Decode(parts[2]).value_or("");
    std::string want = Base64Decode(parts[3]).value_or("");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(name.data()),
         name.size(), mac, &len);
    return want.size() == len && CRYPTO_memcmp(want.data(), mac, len) == 0;
  }
  return Glob(pattern, name);
}

// Whether a line's comma-separated patterns admit `name`: one positive match and no negated one.
bool HostsMatch(const std::string& patterns, const std::string& name) {
  bool matched = false;
  for (const std::string& p : Split(patterns, ',')) {
    if (p.empty()) continue;
    if (p[0] == '!') {
      if (PatternMatches(p.substr(1), name)) return false;
    } else {
      matched = matched || PatternMatches(p, name);
    }
  }
  return matched;
}

}  // namespace

std::string Sha256Fingerprint(std::string_view key_blob) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key_blob.data()), key_blob.size(), digest);
  std::string b64 = Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

std::string CheckKnownHost(std::string_view known_hosts, const std::string& host, int port, std::string_view key_blob) {
  const std::string name = port == 22 || port <= 0 ? host : "[" + host + "]:" + std::to_string(port);
  bool trusted = false, revoked = false, host_known = false;
  std::istringstream lines{std::string(known_hosts)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string first, patterns, type, key;
    if (!(fields >> first) || first.starts_with("#")) continue;
    std::string marker;
    if (first.starts_with("@")) {
      marker = first;
      fields >> patterns;
    } else {
      patterns = first;
    }
    if (!(fields >> type >> key) || marker == "@cert-authority" || !HostsMatch(patterns, name)) continue;
    host_known = true;
    std::optional<std::string> blob = Base64Decode(key);
    if (!blob || *blob != key_blob) continue;
    if (marker == "@revoked") revoked = true;
    else if (marker.empty()) trusted = true;
  }
  const std::string key_name = Sha256Fingerprint(key_blob);
  if (revoked) return "the host key of " + name + " (" + key_name + ") is marked @revoked in known_hosts";
  if (trusted) return "";
  if (host_known) {
    return "the host key of " + name + " (" + key_name + ") does not match the key(s) known_hosts has for it";
  }
  return "the host " + name + " (key " + key_name + ") is not in known_hosts";
}

}  // namespace capstan::controller::gitops
