// Decoding of Kubernetes protobuf request bodies (Content-Type application/vnd.kubernetes.protobuf)
// into the JSON form the rest of Capstan handles. kubectl 1.32+ sends its generated objects
// (`kubectl create configmap|secret|deployment|namespace ...`) this way.
//
// The body is the magic "k8s\0" and a runtime.Unknown {typeMeta {apiVersion, kind}, raw,
// contentEncoding, contentType}; `raw` is the object's own message. The decoder is generic: it
// walks the registered kind's Schema and takes field numbers from field_numbers.cc, so a kind
// gains protobuf support by adding its messages to that table.
//
// Faithful to Kubernetes' Go decoding followed by JSON encoding: zero scalars are omitted unless
// the Go field is a pointer or not omitempty (see kKeepZero); empty Time values become null;
// bytes (Secret.data, ConfigMap.binaryData) become base64 strings.
//
// Errors: malformed input, fields Capstan does not know with a non-empty value, and invalid UTF-8
// are kBadRequest; kinds or messages without a table, and values of schema-less (kAny) fields
// such as securityContext, are kUnsupportedMediaType asking the client to send JSON.
//
// Thread-safety: stateless; safe from any thread once the kinds are registered.
#pragma once

#include <string_view>

#include "api/kind.h"
#include "base/status.h"

namespace capstan::api::protobuf {

inline constexpr std::string_view kProtobufMediaType = "application/vnd.kubernetes.protobuf";

// Decodes a whole request body (magic + runtime.Unknown envelope). The JSON carries apiVersion
// and kind from the envelope.
Result<json> DecodeKubernetesProtobuf(std::string_view body);

// Decodes the raw message of one object of `kind` (no envelope); apiVersion and kind are set from
// `kind`.
Result<json> DecodeObject(const KindInfo& kind, std::string_view raw);

}  // namespace capstan::api::protobuf
