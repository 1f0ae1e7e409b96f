// Base64 (RFC 4648, standard alphabet, padded), as Kubernetes uses it for Secret data and
// kubeconfig certificate data. Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace capstan {

std::string Base64Encode(std::string_view data);
// Decodes standard base64; padding is required when the length is not a multiple of 4.
// std::nullopt on any other character or a malformed length. With `lenient`, whitespace is
// skipped and the URL-safe alphabet and missing padding are accepted (for kubeconfig files
// written by other tools).
std::optional<std::string> Base64Decode(std::string_view text, bool lenient = false);

}  // namespace capstan
