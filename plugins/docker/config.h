// The docker driver's configuration: the "config" value of the DriverConfig document given to
// create (docs/drivers/docker.md is the user's page).
//
//   null, or {"endpoint": "unix:///var/run/docker.sock" | "tcp://host:port",
//             "apiVersion": "1.41",            the Engine API version put in every path
//             "tls": {"ca": "/abs/ca.pem", "cert": "/abs/cert.pem", "key": "/abs/key.pem"},
//                                              tcp:// only; cert and key together; no ca: system CAs
//             "bridgeNetwork": "bridge",       the docker network of networkMode "bridge"
//             "stopSignal": "SIGTERM",         put on every container (default: the image's)
//             "requestTimeoutMs": 60000,       the budget of one call to the engine
//             "pods": 110}                     the pod capacity the fingerprint reports
//
// Strict: an unknown field, a value of the wrong type or out of range is INVALID_CONFIG naming
// the field. Parsing reads no file (the TLS files are loaded when the client is made).
//
// Thread-safety: plain values and stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::docker {

inline constexpr char kDefaultEndpoint[] = "unix:///var/run/docker.sock";
inline constexpr char kDefaultApiVersion[] = "1.41";  // Debian 12's dockerd (20.10)

// Where the engine listens.
struct Endpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // kUnix: the socket's absolute path
  std::string host;  // kTcp: a name or an address (IPv6 without brackets)
  uint16_t port = 0;  // kTcp
  std::string text;   // as configured, for messages
};

// Client certificate, key and CA of a TLS connection, as PEM file paths.
struct TlsFiles {
  std::string ca;    // "" : the system's default CAs
  std::string cert;  // "" together with key: no client certificate
  std::string key;
};

struct Config {
  Endpoint endpoint;
  std::string api_version = kDefaultApiVersion;  // "1.41"
  std::optional<TlsFiles> tls;                   // only with a tcp endpoint
  std::string bridge_network = "bridge";
  std::string stop_signal;  // "" : the image's (docker's default SIGTERM)
  std::chrono::milliseconds request_timeout{60000};
  int64_t pods = 110;
};

// "unix:///abs/path" or "tcp://host:port" ("tcp://[::1]:2376"). INVALID_CONFIG naming `field`.
sdk::Result<Endpoint> ParseEndpoint(const std::string& text, const std::string& field);

// Checks and completes `config` (see the file comment).
sdk::Result<Config> ParseConfig(const nlohmann::json& config);

}  // namespace capstan::plugins::docker
