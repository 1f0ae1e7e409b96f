// Ingress status as ingress controllers publish it: an Ingress the managed HAProxy serves (one of
// its rules, its canary or its defaultBackend is in the applied model) gets
// status.loadBalancer.ingress [{"ip": <public address>}], which kubectl's ADDRESS column shows;
// an Ingress not served (any more) that still carries exactly that status loses it (another
// controller's address is left alone). Only while an Ingress HTTP port is configured.
//
// Thread-safety: pure function; the controller sends the patches from its reconcile.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/haproxy/haproxy_model.h"
#include "controller/haproxy/model_builder.h"

namespace capstan::controller::haproxy {

struct StatusPatch {
  std::string path;     // .../ingresses/NAME/status
  nlohmann::json body;  // a merge patch
};

// The writes that bring `ingresses` to what `served` (the applied Ingress model) says; none when
// every status is right.
std::vector<StatusPatch> IngressStatusPatches(const ObjectList& ingresses, const IngressModel& served,
                                              const std::string& address);

}  // namespace capstan::controller::haproxy
