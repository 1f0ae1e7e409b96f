#include "cli/session.h"

#include <cstdio>

#include "base/log.h"

namespace capstan::cli {

void ApplyVerbosity(int verbosity) {
  // The CLI's own output is its stdout; logs are for debugging, so quiet by default.
  log::SetLevel(verbosity >= 4 ? log::Level::kDebug : verbosity >= 1 ? log::Level::kInfo : log::Level::kWarn);
}

Result<std::unique_ptr<Session>> OpenSession(const GlobalOptions& options) {
  ApplyVerbosity(options.verbosity);
  Result<client::Connection> connection = client::ResolveConnection(options.connection);
  if (!connection.ok()) return connection.status();
  client::RestClientOptions rest_options;
  if (options.request_timeout_set) rest_options.request_timeout = options.request_timeout;
  rest_options.user_agent = std::string("capstan/") + CAPSTAN_VERSION;
  Result<std::unique_ptr<client::RestClient>> rest = client::RestClient::Create(*connection, rest_options);
  if (!rest.ok()) return rest.status();

  auto session = std::make_unique<Session>();
  session->connection = std::move(*connection);
  session->client = std::move(*rest);
  session->discovery = std::make_unique<client::Discovery>(session->client.get());
  if (!options.namespace_name.empty()) {
    session->namespace_name = options.namespace_name;
    session->namespace_explicit = true;
  } else if (!session->connection.namespace_name.empty()) {
    session->namespace_name = session->connection.namespace_name;
  } else {
    session->namespace_name = "default";
  }
  return session;
}

bool IsServerAnswer(const Status& status) {
  switch (status.code()) {
    case Code::kBadRequest:
    case Code::kUnauthorized:
    case Code::kForbidden:
    case Code::kNotFound:
    case Code::kMethodNotAllowed:
    case Code::kNotAcceptable:
    case Code::kAlreadyExists:
    case Code::kConflict:
    case Code::kExpired:
    case Code::kTooLarge:
    case Code::kUnsupportedMediaType:
    case Code::kInvalid:
    case Code::kTooManyRequests:
      return true;
    default:
      return false;
  }
}

void PrintError(const Status& status) {
  if (IsServerAnswer(status)) {
    std::fprintf(stderr, "Error from server (%s): %s\n", CodeName(status.code()), status.message().c_str());
  } else {
    std::fprintf(stderr, "error: %s\n", status.message().c_str());
  }
}

void PrintLocalError(const std::string& message) { std::fprintf(stderr, "error: %s\n", message.c_str()); }

int UsageError(const std::string& verb, const std::string& message) {
  std::fprintf(stderr, "error: %s\nSee 'capstan %s --help' for usage.\n", message.c_str(), verb.c_str());
  return 1;
}

}  // namespace capstan::cli
