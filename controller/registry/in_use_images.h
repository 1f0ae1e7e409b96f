// The in-use set of registry cleanup: which repository:tag and repository@digest of one registry
// the workloads of the cluster reference. Pods, ReplicaSet and Deployment templates of every
// namespace count (containers, init containers and ephemeral containers; for Pods also the
// digests in status.containerStatuses[].imageID, and a bare "sha256:<config digest>" imageID as
// Docker reports it, recorded under InUseConfigKey for the repository of the status's image), so that an image is kept while anything could
// still start it again (a scale-up, a rollback to an old ReplicaSet).
//
// Image references are normalised as docker and containerd read them (plugins/common/image_ref:
// docker.io and library/ added, :latest when neither tag nor digest); a reference with both tag
// and digest counts under both.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/registry/retention_planner.h"

namespace capstan::registry {

// The registry's host as compared with image references' hosts (which AddImageRef canonicalises
// the same way): lower case, without the scheme's default port (:443 for https, :80 for http),
// 127.0.0.1 and [::1] as "localhost"; Docker Hub's API hosts (registry-1.docker.io,
// index.docker.io) as "docker.io". "http://127.0.0.1:5000" -> "localhost:5000",
// "https://Registry.Example.com:443/" -> "registry.example.com". Without this, a Pod naming
// "localhost:5000/app" would not protect anything in a policy for "http://127.0.0.1:5000".
std::string RegistryHostOf(const std::string& url);

// Adds the references of `image` that live on `registry_host` to `in_use`.
void AddImageRef(const std::string& image, const std::string& registry_host, InUseSet* in_use);

// Adds every image of a Pod, ReplicaSet or Deployment (its pod spec or template) on `registry_host`.
void AddWorkloadImages(const nlohmann::json& object, const std::string& registry_host, InUseSet* in_use);

}  // namespace capstan::registry
