#include "plugins/common/image_ref.h"

namespace capstan::plugins {
namespace {

// A reference cut into its parts; the separators stay with the tag and the digest, so the parts
// concatenate back to the reference.
struct ImageRefParts {
  std::string_view domain;  // "registry.k8s.io", "localhost:5000"; empty when none is named
  std::string_view path;    // "library/busybox", "busybox", "team/app"
  std::string_view tag;     // ":1.36", or empty
  std::string_view digest;  // "@sha256:...", or empty
};

ImageRefParts SplitImageRef(std::string_view ref) {
  ImageRefParts parts;
  if (size_t at = ref.find('@'); at != std::string_view::npos) {
    parts.digest = ref.substr(at);
    ref = ref.substr(0, at);
  }
  // A ':' after the last '/' starts a tag; one before it belongs to a registry's host:port.
  const size_t last_slash = ref.rfind('/');
  if (size_t colon = ref.rfind(':');
      colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    parts.tag = ref.substr(colon);
    ref = ref.substr(0, colon);
  }
  const size_t slash = ref.find('/');
  const std::string_view first = ref.substr(0, slash);
  if (slash != std::string_view::npos &&
      (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
       first == "localhost")) {
    parts.domain = first;
    ref = ref.substr(slash + 1);
  }
  parts.path = ref;
  return parts;
}

}  // namespace

std::string WithDefaultTag(std::string_view ref) {
  const ImageRefParts parts = SplitImageRef(ref);
  if (!parts.tag.empty() || !parts.digest.empty()) return std::string(ref);
  return std::string(ref) + ":latest";
}

std::string NormalizeImageRef(std::string_view ref) {
  if (ref.rfind("sha256:", 0) == 0) return std::string(ref);
  const ImageRefParts parts = SplitImageRef(ref);
  // Docker Hub by any of its names is docker.io, whose one-component images are "library/".
  const bool hub = parts.domain.empty() || parts.domain == "docker.io" || parts.domain == "index.docker.io";
  std::string out;
  if (!hub) {
    out.append(parts.domain).append("/");
  } else if (parts.path.find('/') == std::string_view::npos) {
    out = "docker.io/library/";
  } else {
    out = "docker.io/";
  }
  out.append(parts.path);
  out.append(parts.tag.empty() && parts.digest.empty() ? ":latest" : parts.tag);
  out.append(parts.digest);
  return out;
}

}  // namespace capstan::plugins
