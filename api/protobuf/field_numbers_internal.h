// The tables behind field_numbers.h, one per file; FindProtoMessage and AllProtoMessages merge
// them. Internal to api/protobuf.
#pragma once

#include <vector>

#include "api/protobuf/field_numbers.h"

namespace capstan::api::protobuf {

// field_numbers_networking.cc: Service, EndpointSlice, Ingress, IngressClass.
const std::vector<ProtoMessage>& NetworkingProtoMessages();

}  // namespace capstan::api::protobuf
