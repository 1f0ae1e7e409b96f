// Discovery documents, built from the kind registry: /api, /api/v1, /apis, /apis/{g},
// /apis/{g}/{v}, and /version. Shapes are Kubernetes' APIVersions, APIGroupList, APIGroup and
// APIResourceList, which kubectl and client libraries use to map kinds to paths.
#pragma once

#include <string>

#include "api/kind.h"

namespace capstan::api {

json CoreApiVersions(const std::string& server_address);
json ApiGroupList();
// nullptr (json null) when the group is unknown.
json ApiGroup(const std::string& group);
json ApiResourceList(const std::string& group, const std::string& version);
json VersionInfo();
// "1.30": the Kubernetes minor version whose API behaviour Capstan follows for its kinds.
inline constexpr const char* kKubernetesCompatVersion = "1.30";

}  // namespace capstan::api
