// The Ingress part of BuildHaproxyModel (model_builder.h states the rules).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "controller/haproxy/model_builder.h"

namespace capstan::controller::haproxy {

// "<ns>/<service>" -> the Service port numbers our Ingresses route to (they must be HTTP).
using IngressRefs = std::map<std::string, std::set<int>>;
IngressRefs IngressReferencedPorts(const ModelInputs& in);

// Routes, default backend, certificates and redirects of our Ingresses, to the backends in
// `backends` (the Services that made it into the model). Problems are appended.
// `ssl_redirect_default`: the defaults ConfigMap's ssl-redirect (true when unset).
IngressModel BuildIngressModel(const ModelInputs& in, const std::set<std::string>& backends, bool ssl_redirect_default,
                               std::vector<Problem>* problems);

// Whether Capstan's HAProxy serves this Ingress (its class).
bool OwnsIngress(const nlohmann::json& ingress, const ObjectList& ingress_classes);

}  // namespace capstan::controller::haproxy
