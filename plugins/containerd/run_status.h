// What containerd says about a run, in the SDK's terms: container statuses, handles rebuilt from a
// sandbox and its containers (what list and recover need), and which ids are ours to touch.
// Pure: no call to containerd.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "capstan/driver_sdk.hpp"
#include "plugins/containerd/cri/runtime_v1.pb.h"

namespace capstan::plugins::containerd {

namespace cri = ::runtime::v1;

// Whether `id` is a full CRI id (64 lowercase hex digits). The CRI resolves unique prefixes of ids
// too; a handle or container id that is not a full id is never sent, so that "ab" cannot name
// someone else's sandbox.
bool IsFullId(std::string_view id);

// A container's status: CREATED -> waiting (ContainerCreating), RUNNING -> running and ready,
// EXITED -> terminated with containerd's exit code, reason ("Completed", "Error", "OOMKilled",
// "StartError") and message, UNKNOWN -> waiting (reason Unknown). The image is the one the spec
// named (kImageAnnotation), the image id containerd's.
sdk::ContainerStatus StatusFromCri(const cri::ContainerStatus& s);

// The spec index of a container (kIndexAnnotation), or a large number for one without it.
size_t IndexOf(const google::protobuf::Map<std::string, std::string>& annotations);

// Containers of one sandbox, in spec order.
void SortBySpecOrder(std::vector<cri::Container>* containers);

// The handle of a sandbox and its containers (in spec order): id = the sandbox id.
sdk::PodRunHandle HandleOf(const std::string& sandbox_id, const cri::PodSandboxMetadata& meta,
                           const std::vector<cri::Container>& containers);

// Whether a sandbox or container with these labels was made by this driver.
bool IsOurs(const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace capstan::plugins::containerd
