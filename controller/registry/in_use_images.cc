#include "controller/registry/in_use_images.h"

#include <algorithm>
#include <cctype>

#include "plugins/common/image_ref.h"

namespace capstan::registry {
namespace {

// `host[:port]` as compared: lower case, without the default port of `scheme` (both 80 and 443
// when the scheme is unknown, as in an image reference), the loopback names as "localhost".
std::string CanonicalHost(std::string host, const std::string& scheme) {
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string port;
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if ((port == "443" && scheme != "http") || (port == "80" && scheme != "https")) port.clear();
  if (host == "127.0.0.1" || host == "[::1]") host = "localhost";
  if (host == "registry-1.docker.io" || host == "index.docker.io") host = "docker.io";
  return port.empty() ? host : host + ":" + port;
}

// The repository path of `image` on `registry_host` with its tag / digest; "" when elsewhere.
std::string PathOnRegistry(const std::string& image, const std::string& registry_host) {
  if (image.empty()) return "";
  std::string ref = plugins::NormalizeImageRef(image);
  size_t slash = ref.find('/');
  if (slash == std::string::npos || CanonicalHost(ref.substr(0, slash), "") != CanonicalHost(registry_host, "")) {
    return "";
  }
  return ref.substr(slash + 1);
}

std::string WithoutTagOrDigest(std::string ref) {
  if (size_t at = ref.find('@'); at != std::string::npos) ref = ref.substr(0, at);
  size_t last_slash = ref.rfind('/');
  if (size_t colon = ref.rfind(':');
      colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    ref = ref.substr(0, colon);
  }
  return ref;
}

}  // namespace

std::string RegistryHostOf(const std::string& url) {
  std::string host = url;
  std::string scheme;
  if (size_t sep = host.find("://"); sep != std::string::npos) {
    scheme = host.substr(0, sep);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    host = host.substr(sep + 3);
  }
  if (size_t path = host.find('/'); path != std::string::npos) host = host.substr(0, path);
  return CanonicalHost(host, scheme);
}

void AddImageRef(const std::string& image, const std::string& registry_host, InUseSet* in_use) {
  std::string ref = PathOnRegistry(image, registry_host);
  if (ref.empty()) return;
  std::string digest;
  if (size_t at = ref.find('@'); at != std::string::npos) {
    digest = ref.substr(at + 1);
    ref = ref.substr(0, at);
  }
  std::string tag;
  size_t last_slash = ref.rfind('/');
  if (size_t colon = ref.rfind(':');
      colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    tag = ref.substr(colon + 1);
    ref = ref.substr(0, colon);
  }
  if (!tag.empty()) in_use->insert(ref + ":" + tag);
  if (!digest.empty()) in_use->insert(ref + "@" + digest);
}

void AddWorkloadImages(const nlohmann::json& object, const std::string& registry_host, InUseSet* in_use) {
  if (!object.is_object()) return;
  const nlohmann::json* pod_spec = nullptr;
  auto spec = object.find("spec");
  if (spec == object.end() || !spec->is_object()) return;
  if (auto tmpl = spec->find("template"); tmpl != spec->end() && tmpl->is_object()) {
    auto inner = tmpl->find("spec");
    if (inner != tmpl->end() && inner->is_object()) pod_spec = &*inner;
  } else {
    pod_spec = &*spec;
  }
  if (pod_spec == nullptr) return;
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    auto containers = pod_spec->find(list);
    if (containers == pod_spec->end() || !containers->is_array()) continue;
    for (const nlohmann::json& c : *containers) {
      if (c.is_object() && c.contains("image") && c["image"].is_string()) {
        AddImageRef(c["image"].get<std::string>(), registry_host, in_use);
      }
    }
  }
  // What a Pod actually runs: the digest its runtime resolved, even if the tag moved since.
  auto status = object.find("status");
  if (status == object.end() || !status->is_object()) return;
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    auto statuses = status->find(list);
    if (statuses == status->end() || !statuses->is_array()) continue;
    for (const nlohmann::json& cs : *statuses) {
      if (!cs.is_object() || !cs.contains("imageID") || !cs["imageID"].is_string()) continue;
      std::string id = cs["imageID"].get<std::string>();
      if (size_t scheme = id.find("://"); scheme != std::string::npos) id = id.substr(scheme + 3);
      if (id.find('@') != std::string::npos) {
        AddImageRef(id, registry_host, in_use);
      } else if (id.rfind("sha256:", 0) == 0 && cs.contains("image") && cs["image"].is_string()) {
        // Docker reports the image's config digest, not a manifest digest: the planner matches it
        // against each image's config blob.
        std::string repo = WithoutTagOrDigest(PathOnRegistry(cs["image"].get<std::string>(), registry_host));
        if (!repo.empty()) in_use->insert(InUseConfigKey(repo, id));
      }
    }
  }
}

}  // namespace capstan::registry
