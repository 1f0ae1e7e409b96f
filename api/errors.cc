#include "api/errors.h"

namespace capstan::api {

int HttpCodeOf(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kBadRequest: return 400;
    case Code::kUnauthorized: return 401;
    case Code::kForbidden: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kNotAcceptable: return 406;
    case Code::kAlreadyExists: return 409;
    case Code::kConflict: return 409;
    case Code::kExpired: return 410;
    case Code::kTooLarge: return 413;
    case Code::kUnsupportedMediaType: return 415;
    case Code::kInvalid: return 422;
    case Code::kTooManyRequests: return 429;
    case Code::kInternal: return 500;
    case Code::kUnavailable: return 503;
    case Code::kTimeout: return 504;
  }
  return 500;
}

std::string ReasonOf(Code code) {
  switch (code) {
    case Code::kExpired: return "Expired";
    case Code::kTimeout: return "Timeout";
    case Code::kInternal: return "InternalError";
    case Code::kUnavailable: return "ServiceUnavailable";
    default: return CodeName(code);
  }
}

json StatusObject(const Status& status, const json& details) {
  json out = {{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", json::object()},
              {"status", status.ok() ? "Success" : "Failure"},
              {"message", status.message()},
              {"reason", status.ok() ? "" : ReasonOf(status.code())},
              {"code", HttpCodeOf(status.code())}};
  if (!details.is_null()) {
    out["details"] = details;
  } else if (!status.details().empty()) {
    json d = json::parse(status.details(), nullptr, false);
    if (!d.is_discarded()) out["details"] = std::move(d);
  }
  return out;
}

HttpResponse ErrorResponse(const Status& status, const json& details) {
  HttpResponse r;
  r.status = HttpCodeOf(status.code());
  r.body = StatusObject(status, details).dump();
  return r;
}

Status InvalidObject(const std::string& kind, const std::string& group, const std::string& name,
                     const FieldErrors& errors) {
  const std::string kind_group = group.empty() ? kind : kind + "." + group;
  bool decode_error = false;
  for (const auto& e : errors) {
    if (e.type == "FieldValueUnknown" || e.type == "FieldValueTypeInvalid") decode_error = true;
  }
  json causes = json::array();
  std::string list;
  for (const auto& e : errors) {
    causes.push_back({{"reason", e.type}, {"message", e.message}, {"field", e.field}});
    if (!list.empty()) list += ", ";
    // An unknown field's message already names it ("unknown field \"spec.replicaz\""), which is
    // how Kubernetes words a strict decoding error.
    const bool self_naming = e.type == "FieldValueUnknown" || e.field.empty();
    list += self_naming ? e.message : e.field + ": " + e.message;
  }
  json details = {{"name", name}, {"group", group}, {"kind", kind}, {"causes", causes}};
  std::string what = kind_group + " \"" + name + "\"";
  if (decode_error) {
    // Kubernetes words it `Deployment in version "v1" cannot be handled as a Deployment: strict
    // decoding error: unknown field "spec.replicaz"`; the version is not known here, the object is.
    return Status::BadRequest(what + " cannot be handled as a " + kind + ": strict decoding error: " + list)
        .WithDetails(details.dump());
  }
  std::string joined = errors.size() == 1 ? list : "[" + list + "]";
  return Status::Invalid(what + " is invalid: " + joined).WithDetails(details.dump());
}

json SuccessStatus(const json& details) {
  json out = StatusObject(Status::Ok(), details);
  out.erase("reason");
  out.erase("message");
  return out;
}

}  // namespace capstan::api
