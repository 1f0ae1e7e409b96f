// Registry credentials and CA certificates from Kubernetes Secrets:
//   kubernetes.io/basic-auth         data.username, data.password
//   kubernetes.io/dockerconfigjson   data[.dockerconfigjson]: the auths entry whose key names the
//                                    registry's host (with or without scheme and path), by
//                                    username/password or by auth (base64 "user:password")
//   a CA Secret                      data[ca.crt] (PEM), for https registries
// Errors name the Secret and the missing key.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "controller/registry/registry_client.h"

namespace capstan::registry {

// Sets endpoint->username / password from `secret` for the registry at endpoint->url.
Status ApplyCredentialsSecret(const nlohmann::json& secret, RegistryEndpoint* endpoint);
// Sets endpoint->ca_pem from `secret`'s ca.crt.
Status ApplyCaSecret(const nlohmann::json& secret, RegistryEndpoint* endpoint);

}  // namespace capstan::registry
