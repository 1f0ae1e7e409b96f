// Test images pushed over the Registry API with chosen `created` times: a config blob, a layer
// blob and a manifest (Docker v2 schema2 or OCI), and manifest lists / OCI indexes over pushed
// images. Layers are a few unique bytes (a registry does not look inside them).
//
// Thread-safety: as RegistryClient.
#pragma once

#include <string>
#include <vector>

#include "controller/registry/registry_client.h"

namespace capstan::registry::testing {

struct PushedImage {
  std::string digest;
  std::string media_type;
  std::string body;          // the manifest, to tag it again byte for byte
  int64_t size = 0;          // config + layers (what retention counts as the image's size)
  std::string architecture;
};

struct ImageSpec {
  std::string created;       // RFC 3339; empty: the config has no `created`
  std::string seed;          // makes the layer (and so the digest) unique; same seed, same layer
  bool oci = false;          // OCI media types instead of Docker's
  std::string architecture = "amd64";
  size_t layer_bytes = 64;
};

// RFC 3339 (UTC, whole seconds) of `days` days before now: a `created` for ImageSpec.
std::string DaysAgo(int days);

// Pushes the image's blobs and its manifest under `tag`.
Result<PushedImage> PushImage(RegistryClient& client, const std::string& repository, const std::string& tag,
                              const ImageSpec& spec);
// Pushes a manifest list (or, with `oci`, an OCI index) over `children` (already in `repository`).
Result<PushedImage> PushIndex(RegistryClient& client, const std::string& repository, const std::string& tag,
                              const std::vector<PushedImage>& children, bool oci);
// Points `tag` at an already pushed manifest (the same bytes, so the same digest).
Status Tag(RegistryClient& client, const std::string& repository, const std::string& tag, const PushedImage& image);

// Pulls `reference` (tag or digest) as a client would: the manifest (its sha256 must be its
// digest), then every blob it names (config and layers; for an index every child, recursively),
// each checked against its digest. OK only when all of it is there and intact.
Status PullAndVerify(RegistryClient& client, const std::string& repository, const std::string& reference);

}  // namespace capstan::registry::testing
