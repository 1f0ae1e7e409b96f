// Kubernetes Status responses: every error the API returns is a meta/v1 Status object with the
// HTTP code, reason and (for validation) one cause per bad field, which is what kubectl and the
// client libraries parse into their typed errors.
#pragma once

#include <string>

#include "api/http/http_types.h"
#include "api/schema.h"
#include "base/status.h"

namespace capstan::api {

int HttpCodeOf(Code code);
// The Status.reason Kubernetes uses for a code ("NotFound", "AlreadyExists", "Invalid", ...).
std::string ReasonOf(Code code);

// A Status object. Its details are `details` when given, else the status' own details() (JSON).
json StatusObject(const Status& status, const json& details = nullptr);
HttpResponse ErrorResponse(const Status& status, const json& details = nullptr);

// The error for an invalid object: 422 Invalid (or 400 BadRequest when the object could not be
// decoded: unknown or mistyped fields), message as Kubernetes words it:
//   Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be >= 0, ...]
// The returned Status carries the StatusDetails (name, group, kind, causes) as its details().
Status InvalidObject(const std::string& kind, const std::string& group, const std::string& name,
                     const FieldErrors& errors);

// A success Status ({"status":"Success"}), as returned by some deletes.
json SuccessStatus(const json& details = nullptr);

}  // namespace capstan::api
