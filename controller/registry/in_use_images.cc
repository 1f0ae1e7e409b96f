#include "controller/registry/in_use_images.h"

#include "plugins/common/image_ref.h"

namespace capstan::registry {

std::string RegistryHostOf(const std::string& url) {
  std::string host = url;
  if (size_t scheme = host.find("://"); scheme != std::string::npos) host = host.substr(scheme + 3);
  while (!host.empty() && host.back() == '/') host.pop_back();
  if (host == "registry-1.docker.io" || host == "index.docker.io") return "docker.io";
  return host;
}

void AddImageRef(const std::string& image, const std::string& registry_host, InUseSet* in_use) {
  if (image.empty()) return;
  std::string ref = plugins::NormalizeImageRef(image);
  size_t slash = ref.find('/');
  if (slash == std::string::npos || ref.substr(0, slash) != registry_host) return;
  ref = ref.substr(slash + 1);
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
      if (id.find('@') != std::string::npos) AddImageRef(id, registry_host, in_use);
    }
  }
}

}  // namespace capstan::registry
