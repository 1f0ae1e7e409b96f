// Helpers shared by the networking kinds of api/kinds (Service, Ingress). Internal to api/kinds.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include "api/schema.h"

namespace capstan::api::kinds {

// Kubernetes' DNS-1035 label message (Service names: they become env var names and hosts).
extern const char kDns1035LabelMessage[];

// kubectl's loadBalancerStatusStringer over a LoadBalancerStatus / IngressLoadBalancerStatus:
// the ingress points' ip (else hostname) joined by ",", cut to 13 characters and "..." beyond 16
// unless `wide`.
std::string LoadBalancerIngressString(const json& load_balancer, bool wide);

}  // namespace capstan::api::kinds
