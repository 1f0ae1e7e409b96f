#include "plugins/containerd/image_ref.h"

namespace capstan::plugins::containerd {

std::string NormalizeImageRef(std::string_view ref) {
  if (ref.rfind("sha256:", 0) == 0) return std::string(ref);
  std::string_view digest;
  if (size_t at = ref.find('@'); at != std::string_view::npos) {
    digest = ref.substr(at);
    ref = ref.substr(0, at);
  }
  std::string_view tag;
  const size_t last_slash = ref.rfind('/');
  if (size_t colon = ref.rfind(':');
      colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    tag = ref.substr(colon);
    ref = ref.substr(0, colon);
  }
  std::string out;
  const size_t slash = ref.find('/');
  const std::string_view first = ref.substr(0, slash);
  const bool has_domain =
      slash != std::string_view::npos &&
      (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos || first == "localhost");
  if (has_domain) {
    out = std::string(ref);
  } else if (slash == std::string_view::npos) {
    out = "docker.io/library/" + std::string(ref);
  } else {
    out = "docker.io/" + std::string(ref);
  }
  if (tag.empty() && digest.empty()) tag = ":latest";
  out += tag;
  out += digest;
  return out;
}

}  // namespace capstan::plugins::containerd
