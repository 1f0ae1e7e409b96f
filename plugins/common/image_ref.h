// Image references by their spelling alone, as docker and containerd read them:
// [domain/]path[:tag][@digest], where the first component is a registry domain only when it holds
// a '.' or a ':' or is "localhost" (otherwise the image is on docker.io). No lookup, no validation
// beyond that.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

namespace capstan::plugins {

// `ref` with ":latest" added when it names neither a tag nor a digest, as the docker CLI and the
// CRI do before a pull ("busybox" -> "busybox:latest"; "localhost:5000/app" ->
// "localhost:5000/app:latest"; "app@sha256:..." and "sha256:..." as they are).
std::string WithDefaultTag(std::string_view ref);

// The fully qualified form of `ref`, so that two spellings of one image compare equal: a
// registry domain (docker.io when the reference names none; index.docker.io is docker.io too),
// "library/" for docker.io images of one component, and ":latest" when there is neither a tag nor
// a digest ("busybox" -> "docker.io/library/busybox:latest"). An image id ("sha256:...") is
// returned as it is. The node agent and the plugins both use it, so both sides of the driver ABI
// compare image names the same way.
std::string NormalizeImageRef(std::string_view ref);

}  // namespace capstan::plugins
