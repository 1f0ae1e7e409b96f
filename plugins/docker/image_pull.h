// The Engine API's side of an image pull: registry credentials travel in the X-Registry-Auth
// header as the JSON of docker's AuthConfig, base64url-encoded (with padding), and a failed pull
// is only a message, which PullError classifies. The reference itself goes through
// plugins/common/image_ref.h's WithDefaultTag: without a tag or digest docker would pull every tag
// of the repository.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::docker {

// The X-Registry-Auth header value for `auth`.
std::string RegistryAuthHeader(const sdk::RegistryAuth& auth);

// The error for a pull that the engine reported failed with `message` (an "error" line of the
// progress stream, or the message of an error status): PERMISSION_DENIED when the registry refused
// (unauthorized, denied, authentication required), NOT_FOUND when the image or tag does not exist,
// UNAVAILABLE when the registry cannot be reached, else INTERNAL. `what` comes first.
sdk::Error PullError(std::string_view message, const std::string& what);

// RFC 4648 base64 with the URL-safe alphabet and padding (docker's base64.URLEncoding).
std::string Base64Url(std::string_view data);

}  // namespace capstan::plugins::docker
