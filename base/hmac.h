// HMAC-SHA256 (OpenSSL), as webhooks sign their bodies and as GitOps derives the unguessable
// webhook path of a GitRepository (docs/gitops.md).
#pragma once

#include <string>
#include <string_view>

namespace capstan {

// Lower-case hex of HMAC-SHA256(key, data): 64 characters.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace capstan
