// The server's TLS identity: a private CA and a serving certificate signed by it, created at first
// start in the data directory, so the API is HTTPS by default and clients (kubectl included,
// which sends bearer tokens only over TLS) verify the server through the kubeconfig's
// certificate-authority-data.
//
// Files: ca.crt, ca.key, server.crt, server.key (keys 0600). The serving certificate is renewed
// (with the same CA) when it expires within 30 days or does not name every host in `hosts`.
// Keys are ECDSA P-256.
//
// Thread-safety: call once at startup.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace capstan::api {

struct ServingCertificates {
  std::string ca_pem;
  std::string cert_pem;   // the serving certificate followed by the CA (a chain)
  std::string key_pem;
};

// `hosts`: names and IP literals the certificate must cover (localhost, 127.0.0.1 and ::1 are
// always included).
Result<ServingCertificates> LoadOrCreateServingCertificates(const std::string& dir,
                                                            const std::vector<std::string>& hosts);

}  // namespace capstan::api
