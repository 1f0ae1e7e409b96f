#include "api/negotiation.h"

#include "api/protobuf/protobuf_codec.h"
#include "base/yaml.h"

namespace capstan::api {
namespace {

std::string MediaType(const std::string& content_type) {
  std::string mt = content_type.substr(0, content_type.find(';'));
  while (!mt.empty() && (mt.back() == ' ' || mt.back() == '\t')) mt.pop_back();
  for (auto& c : mt) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return mt;
}

std::vector<std::string> SplitAccept(const std::string& accept) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= accept.size()) {
    size_t j = accept.find(',', i);
    if (j == std::string::npos) j = accept.size();
    std::string part = accept.substr(i, j - i);
    size_t b = part.find_first_not_of(' ');
    if (b != std::string::npos) out.push_back(part.substr(b));
    i = j + 1;
  }
  return out;
}

}  // namespace

Result<Representation> NegotiateRepresentation(const HttpRequest& req) {
  auto accept = req.headers.Get("Accept");
  if (!accept || accept->empty()) return Representation::kJson;
  bool json_ok = false;
  for (const auto& part : SplitAccept(*accept)) {
    const std::string mt = MediaType(part);
    const bool jsonish = mt == "application/json" || mt == "*/*" || mt == "application/*";
    if (!jsonish) continue;
    if (part.find("as=Table") != std::string::npos) {
      if (part.find("g=meta.k8s.io") != std::string::npos) return Representation::kTable;
      continue;
    }
    if (part.find("as=PartialObjectMetadata") != std::string::npos) {
      if (part.find("g=meta.k8s.io") != std::string::npos) return Representation::kPartialMetadata;
      continue;
    }
    json_ok = true;
    break;  // the client's first acceptable choice wins
  }
  if (json_ok) return Representation::kJson;
  return Status(Code::kNotAcceptable, "only the following media types are accepted: application/json, "
                                      "application/json;as=Table;v=v1;g=meta.k8s.io");
}

IncludeObject IncludeObjectParam(const HttpRequest& req) {
  auto v = req.Query("includeObject");
  if (v && *v == "None") return IncludeObject::kNone;
  if (v && *v == "Object") return IncludeObject::kObject;
  return IncludeObject::kMetadata;
}

Result<json> DecodeBody(const HttpRequest& req, size_t max_depth) {
  if (req.decoded_body) return std::move(*req.decoded_body);  // consumed (http_types.h)
  std::string mt = MediaType(req.headers.Get("Content-Type").value_or("application/json"));
  if (req.body.empty()) return Status::BadRequest("the request body is empty");
  if (mt == "application/json" || mt.empty()) return ParseJson(req.body, max_depth);
  if (mt == "application/yaml" || mt == "application/x-yaml" || mt == "text/yaml") {
    YamlLimits limits;
    limits.max_depth = max_depth;
    return ParseYaml(req.body, limits);
  }
  // kubectl 1.32+ sends the objects it generates (create configmap, secret, deployment, ...) as
  // protobuf; decoded for the kinds field_numbers.cc covers, 415 "send JSON" for the others.
  if (mt == protobuf::kProtobufMediaType) return protobuf::DecodeKubernetesProtobuf(req.body);
  return Status(Code::kUnsupportedMediaType, "the body of the request was in an unknown format - accepted media "
                                             "types include: application/json, application/yaml, "
                                             "application/vnd.kubernetes.protobuf");
}

Result<PatchType> PatchTypeOf(const HttpRequest& req) {
  std::string mt = MediaType(req.headers.Get("Content-Type").value_or(""));
  if (mt == "application/json-patch+json") return PatchType::kJson;
  if (mt == "application/merge-patch+json") return PatchType::kMerge;
  if (mt == "application/strategic-merge-patch+json") return PatchType::kStrategic;
  if (mt == "application/apply-patch+yaml" || mt == "application/apply-patch+cbor") {
    return Status(Code::kUnsupportedMediaType,
                  "server-side apply is not supported by Capstan yet; use client-side apply (kubectl apply "
                  "without --server-side, or capstan apply)");
  }
  return Status(Code::kUnsupportedMediaType,
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json");
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace capstan::api
