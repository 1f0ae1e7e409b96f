// What every verb that talks to the server needs: the resolved connection, a RestClient, a
// Discovery and the namespace to use; plus the shared ways of reporting errors.
//
// Thread-safety: a Session is used by the main thread only.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "cli/flags.h"
#include "client/discovery.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"

namespace capstan::cli {

struct Session {
  client::Connection connection;
  std::unique_ptr<client::RestClient> client;
  std::unique_ptr<client::Discovery> discovery;
  std::string namespace_name;     // -n, else the context's namespace, else "default"
  bool namespace_explicit = false;  // -n was given
};

// Resolves the kubeconfig and overrides, and builds the client. Applies -v to the log level.
Result<std::unique_ptr<Session>> OpenSession(const GlobalOptions& options);

// Sets the process log level from -v (0-3: warnings, 4+: debug).
void ApplyVerbosity(int verbosity);

// Prints a failure of a server call on stderr the way kubectl does:
// "Error from server (NotFound): deployments.apps \"web\" not found" for answers of the server,
// "error: <message>" for everything else (connection refused, timeouts).
void PrintError(const Status& status);

// "error: <message>" on stderr, for local errors (flags, files).
void PrintLocalError(const std::string& message);

// "error: <message>\nSee 'capstan VERB --help' for usage." on stderr; returns the exit code 1.
int UsageError(const std::string& verb, const std::string& message);

// True when the status came back from the server as an HTTP answer (not a transport failure).
bool IsServerAnswer(const Status& status);

}  // namespace capstan::cli
