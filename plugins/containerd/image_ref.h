// Image references as containerd normalises them, so that two spellings of one image compare
// equal ("busybox" is "docker.io/library/busybox:latest"; "capstan-test/pause:1" is
// "docker.io/capstan-test/pause:1"). Only the spelling: no lookup, no validation beyond it.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

namespace capstan::plugins::containerd {

// The fully qualified form of `ref`: a registry domain (docker.io when the first component has no
// '.' or ':' and is not "localhost"), "library/" for docker.io images of one component, and
// ":latest" when there is neither a tag nor a digest. An image id ("sha256:...") is returned as it is.
std::string NormalizeImageRef(std::string_view ref);

}  // namespace capstan::plugins::containerd
