// OpenAPI v3 documents generated from the kind registry, served as Kubernetes does:
//   GET /openapi/v3              -> {"paths": {"apis/apps/v1": {"serverRelativeURL": ...}}}
//   GET /openapi/v3/apis/apps/v1 -> the OpenAPI 3.0 document of one group-version.
// kubectl reads them to decide that the server validates fields itself (the fieldValidation
// parameter on each PATCH operation), to compute strategic merge patches
// (x-kubernetes-patch-merge-key) and for `kubectl explain`. Documents are built once and cached.
#pragma once

#include <string>

#include "api/kind.h"

namespace capstan::api {

// The discovery document of /openapi/v3.
json OpenApiV3Index();
// The document of one group-version path ("api/v1", "apis/apps/v1"); null when unknown.
const json& OpenApiV3Document(const std::string& gv_path);
// /openapi/v2, kept minimal: kubectl 1.27 and 1.28 fetch it (as gnostic protobuf) before every
// validated apply and fail without it, but take their validation and patch decisions from
// /openapi/v3. It holds swagger "2.0", info and empty paths; as protobuf when the client accepts
// application/com.github.proto-openapi.spec.v2@v1.0+protobuf, else as JSON.
std::string OpenApiV2Protobuf();
json OpenApiV2Json();

// A content hash of a document, used in serverRelativeURL so clients can cache it.
std::string OpenApiV3Hash(const std::string& gv_path);

}  // namespace capstan::api
