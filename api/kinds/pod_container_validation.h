// Validation of one container of a pod spec (k8s validateContainerCommon and friends). Internal
// to api/kinds: used by pod_spec_validation.cc only.
#pragma once

#include <set>
#include <string>

#include "api/schema.h"

namespace capstan::api::kinds {

enum class ContainerRole {
  kRegular,  // spec.containers
  kInit,     // spec.initContainers without restartPolicy: Always
  kSidecar,  // spec.initContainers with restartPolicy: Always
};

struct ContainerContext {
  const std::set<std::string>* volume_names = nullptr;
  int64_t grace_period = 30;  // the pod's terminationGracePeriodSeconds (sleep hooks are bounded by it)
  bool host_network = false;
};

// Appends the errors of container `c` (at `path`, e.g. "spec.containers[0]") to `errors`.
void ValidateContainer(const json& c, ContainerRole role, const ContainerContext& ctx, const std::string& path,
                       FieldErrors* errors);

}  // namespace capstan::api::kinds
