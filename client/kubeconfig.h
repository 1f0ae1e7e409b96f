// Kubeconfig: where `capstan` (and kubectl) find the server and the credentials.
//
// The file is a standard kubeconfig (apiVersion v1, kind Config): clusters, users, contexts and
// current-context. Capstan reads the fields a token-authenticated cluster needs: the server URL,
// insecure-skip-tls-verify, certificate-authority(-data), the user's token and the context's
// namespace. Other fields (client certificates, exec plugins) are ignored, not rejected, so a
// file written by other tools still loads.
//
// Resolution order for the file: the --kubeconfig flag, else $CAPSTAN_KUBECONFIG, else
// ~/.capstan/kubeconfig. --server and --token override what the file says; with --server the
// file may be absent.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include "base/status.h"

namespace capstan::client {

// Where and how to reach the API server, after resolution.
struct Connection {
  std::string server;                      // "http://127.0.0.1:6443", maybe with a path prefix
  std::string token;                       // bearer token; empty: none
  bool insecure_skip_tls_verify = false;
  std::string certificate_authority_data;  // PEM, already base64-decoded
  std::string certificate_authority;       // path to a PEM file
  std::string namespace_name;              // the context's namespace; empty: not set
  std::string source;                      // the kubeconfig path used; empty when none was read
};

// What the command line says; empty fields mean "not given".
struct ConnectionOverrides {
  std::string kubeconfig;  // --kubeconfig
  std::string context;     // --context; empty: current-context
  std::string server;      // --server
  std::string token;       // --token
};

// $CAPSTAN_KUBECONFIG if set and non-empty, else $HOME/.capstan/kubeconfig.
std::string DefaultKubeconfigPath();

// Parses kubeconfig text. `context` empty selects current-context. kInvalid names what is
// missing or malformed ("context \"x\" not found in kubeconfig").
Result<Connection> ParseKubeconfig(const std::string& text, const std::string& context);

// Reads the file chosen by the resolution order above and applies the overrides. A missing file
// is an error only when --server was not given (or --kubeconfig named it explicitly).
Result<Connection> ResolveConnection(const ConnectionOverrides& overrides);

// Writes a kubeconfig with one cluster, user and context named "capstan", atomically (temporary
// file + rename) with mode 0600, creating the parent directory (0700) when missing. `ca_pem`, when
// given, becomes the cluster's certificate-authority-data (clients verify the server with it).
Status WriteKubeconfig(const std::string& path, const std::string& server, const std::string& token,
                       const std::string& ca_pem = "");

}  // namespace capstan::client
