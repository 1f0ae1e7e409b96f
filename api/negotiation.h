// Content negotiation and request-body decoding, as the Kubernetes API server does it for JSON:
// which representation the client's Accept header asks for, and how a body is read according to
// its Content-Type (JSON, YAML, and the three patch types).
#pragma once

#include <string>

#include "api/http/http_types.h"
#include "api/resource_service.h"
#include "api/table.h"

namespace capstan::api {

enum class Representation { kJson, kTable, kPartialMetadata };

// kNotAcceptable when the client accepts none of what Capstan serves (e.g. protobuf only).
Result<Representation> NegotiateRepresentation(const HttpRequest& req);
IncludeObject IncludeObjectParam(const HttpRequest& req);

// Decodes a create/update body: application/json, application/yaml, or
// application/vnd.kubernetes.protobuf for the built-in kinds (kubectl 1.32+ sends protobuf for
// `kubectl create <generator>`; see api/protobuf/); others -> 415. Nesting is limited; malformed
// input is a 400 naming the position.
Result<json> DecodeBody(const HttpRequest& req, size_t max_depth);

// The patch type of a PATCH request's Content-Type; 415 for apply-patch (server-side apply) and
// anything unknown.
Result<PatchType> PatchTypeOf(const HttpRequest& req);

HttpResponse JsonResponse(int status, const json& body);

}  // namespace capstan::api
