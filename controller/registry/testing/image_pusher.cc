#include "controller/registry/testing/image_pusher.h"

#include "api/kinds/printing.h"

namespace capstan::registry::testing {

std::string DaysAgo(int days) {
  return api::kinds::FormatRfc3339(api::kinds::NowEpochSeconds() - int64_t{days} * 86400);
}

Result<PushedImage> PushImage(RegistryClient& client, const std::string& repository, const std::string& tag,
                              const ImageSpec& spec) {
  std::string layer = "layer:" + spec.seed + ":";
  while (layer.size() < spec.layer_bytes) layer.push_back(static_cast<char>('a' + layer.size() % 26));
  Result<std::string> layer_digest = client.PushBlob(repository, layer);
  if (!layer_digest.ok()) return layer_digest.status();

  json config = {{"architecture", spec.architecture},
                 {"os", "linux"},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", json::array({*layer_digest})}}},
                 {"config", json::object()}};
  if (!spec.created.empty()) config["created"] = spec.created;
  std::string config_text = config.dump();
  Result<std::string> config_digest = client.PushBlob(repository, config_text);
  if (!config_digest.ok()) return config_digest.status();

  PushedImage image;
  image.media_type = spec.oci ? kOciManifest : kDockerManifest;
  image.architecture = spec.architecture;
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", image.media_type},
      {"config", {{"mediaType", spec.oci ? kOciConfig : kDockerConfig},
                  {"size", config_text.size()},
                  {"digest", *config_digest}}},
      {"layers", json::array({{{"mediaType", spec.oci ? "application/vnd.oci.image.layer.v1.tar+gzip" : kDockerLayer},
                               {"size", layer.size()},
                               {"digest", *layer_digest}}})}};
  image.body = manifest.dump();
  image.size = static_cast<int64_t>(config_text.size() + layer.size());
  Result<std::string> digest = client.PutManifest(repository, tag, image.media_type, image.body);
  if (!digest.ok()) return digest.status();
  image.digest = *digest;
  return image;
}

Result<PushedImage> PushIndex(RegistryClient& client, const std::string& repository, const std::string& tag,
                              const std::vector<PushedImage>& children, bool oci) {
  PushedImage index;
  index.media_type = oci ? kOciIndex : kDockerManifestList;
  json manifests = json::array();
  for (const PushedImage& child : children) {
    manifests.push_back({{"mediaType", child.media_type},
                         {"size", child.body.size()},
                         {"digest", child.digest},
                         {"platform", {{"architecture", child.architecture}, {"os", "linux"}}}});
    index.size += child.size;
  }
  json doc = {{"schemaVersion", 2}, {"mediaType", index.media_type}, {"manifests", manifests}};
  index.body = doc.dump();
  Result<std::string> digest = client.PutManifest(repository, tag, index.media_type, index.body);
  if (!digest.ok()) return digest.status();
  index.digest = *digest;
  return index;
}

Status Tag(RegistryClient& client, const std::string& repository, const std::string& tag, const PushedImage& image) {
  Result<std::string> digest = client.PutManifest(repository, tag, image.media_type, image.body);
  if (!digest.ok()) return digest.status();
  if (*digest != image.digest) return Status::Internal("tag " + tag + " got digest " + *digest + ", not " + image.digest);
  return Status::Ok();
}

Status PullAndVerify(RegistryClient& client, const std::string& repository, const std::string& reference) {
  Result<Manifest> manifest = client.GetManifest(repository, reference);
  if (!manifest.ok()) return manifest.status();
  if (Sha256Digest(manifest->body) != manifest->ref.digest) {
    return Status::Internal(repository + "@" + reference + ": manifest bytes do not match " + manifest->ref.digest);
  }
  const json& doc = manifest->doc;
  if (doc.contains("manifests")) {
    for (const json& child : doc["manifests"]) {
      CAPSTAN_RETURN_IF_ERROR(PullAndVerify(client, repository, child.value("digest", "")));
    }
    return Status::Ok();
  }
  std::vector<std::string> digests;
  if (doc.contains("config")) digests.push_back(doc["config"].value("digest", ""));
  for (const json& layer : doc.value("layers", json::array())) digests.push_back(layer.value("digest", ""));
  for (const std::string& digest : digests) {
    Result<std::string> blob = client.GetBlob(repository, digest);
    if (!blob.ok()) return blob.status().Annotate(repository + "@" + manifest->ref.digest + ": blob " + digest);
    if (Sha256Digest(*blob) != digest) return Status::Internal(repository + ": blob " + digest + " is corrupt");
  }
  return Status::Ok();
}

}  // namespace capstan::registry::testing
