// Bearer-token authentication and the two roles Capstan has for now.
//
// Tokens come from the admin token the server generates at first start and from an optional
// token file of "token,user,role" lines (role: admin | view; '#' starts a comment), the shape of
// Kubernetes' static token file plus a role column. view may get, list and watch; admin may do
// everything. Requests without a valid token get 401, except the health and version endpoints.
//
// Thread-safety: immutable after loading; Authenticate may be called concurrently.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/http/http_types.h"
#include "base/status.h"

namespace capstan::api {

enum class Role { kAdmin, kView };

struct Identity {
  std::string user;
  Role role = Role::kView;
};

class TokenAuthenticator {
 public:
  void AddToken(std::string token, Identity identity);
  // Adds every token of a token file; kInvalid naming the line for a malformed one.
  Status LoadTokenFile(const std::string& path);
  std::optional<Identity> Authenticate(const HttpRequest& req) const;
  size_t size() const { return tokens_.size(); }

 private:
  std::vector<std::pair<std::string, Identity>> tokens_;
};

// Whether `who` may perform `verb` (get, list, watch, create, update, patch, delete, ...).
bool Authorized(const Identity& who, const std::string& verb);

// 32 random bytes from the kernel, hex-encoded.
Result<std::string> GenerateToken();

}  // namespace capstan::api
