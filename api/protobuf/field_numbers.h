// The protobuf field numbers of the Kubernetes messages Capstan decodes, keyed by the OpenAPI
// definition name its schemas carry (Schema::ref_name). The decoder walks a kind's Schema and
// looks up each message here: the schema says what a field is, this table says where it is on the
// wire. Numbers follow k8s.io/api (core/v1, apps/v1) and k8s.io/apimachinery (meta/v1); the
// well-known wrappers (Time, MicroTime, IntOrString, Quantity, map entries) are fixed in the
// decoder itself, not here.
//
// Thread-safety: the table is built once, on first use, and read-only afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace capstan::api::protobuf {

// Per-field decoding flags.
enum ProtoFlag : uint8_t {
  kNone = 0,
  // A scalar whose zero value on the wire is kept in the JSON. Go's generated marshallers write
  // every non-pointer field, zero or not, and the Go JSON encoder then drops the zero ones tagged
  // omitempty; so zero scalars are omitted unless the Go field is a pointer (presence means the
  // client set it, e.g. spec.replicas: 0) or has no omitempty.
  kKeepZero = 1 << 0,
  // A metav1.MicroTime (JSON with microseconds) rather than a metav1.Time.
  kMicroTime = 1 << 1,
  // An embedded Go struct (e.g. Probe.handler, a ProbeHandler) whose fields the JSON form inlines
  // into the enclosing object; `name` is then the ref_name of the embedded message's table.
  kInline = 1 << 2,
};

struct ProtoField {
  std::string name;   // the JSON field name (or, with kInline, the embedded message's ref_name)
  int number = 0;
  uint8_t flags = kNone;
};

struct ProtoMessage {
  std::string ref_name;
  std::vector<ProtoField> fields;

  // nullptr when the message has no field with that number.
  const ProtoField* FindByNumber(uint64_t number) const;
};

// The message table for an OpenAPI definition name; nullptr when Capstan has none (such messages
// must be sent as JSON).
const ProtoMessage* FindProtoMessage(std::string_view ref_name);

// Every table, for consistency tests.
const std::vector<ProtoMessage>& AllProtoMessages();

}  // namespace capstan::api::protobuf
