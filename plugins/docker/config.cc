#include "plugins/docker/config.h"

#include <cctype>

namespace capstan::plugins::docker {
namespace {

constexpr int64_t kMaxPods = 100000;
constexpr int64_t kMaxTimeoutMs = 600000;
// Everything this driver asks of the engine exists since API 1.40 (docker 19.03).
constexpr int kMinApiMinor = 40;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

sdk::Result<std::string> String(const nlohmann::json& v, const std::string& field) {
  if (!v.is_string()) return sdk::InvalidConfig(field + ": must be a string");
  return v.get<std::string>();
}

sdk::Result<std::string> AbsolutePath(const nlohmann::json& v, const std::string& field) {
  sdk::Result<std::string> s = String(v, field);
  if (!s.ok()) return s;
  if (s.value().empty() || s.value()[0] != '/' || s.value().find('\0') != std::string::npos) {
    return sdk::InvalidConfig(field + ": must be an absolute path (got \"" + s.value() + "\")");
  }
  return s;
}

sdk::Result<TlsFiles> ParseTls(const nlohmann::json& v) {
  if (!v.is_object()) return sdk::InvalidConfig("tls: must be an object with ca, cert, key");
  TlsFiles out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string* dst = it.key() == "ca" ? &out.ca : it.key() == "cert" ? &out.cert : it.key() == "key" ? &out.key : nullptr;
    if (dst == nullptr) return sdk::InvalidConfig("tls: unknown field \"" + it.key() + "\" (known: ca, cert, key)");
    sdk::Result<std::string> path = AbsolutePath(*it, "tls." + it.key());
    if (!path.ok()) return path.error();
    *dst = path.value();
  }
  if (out.cert.empty() != out.key.empty()) return sdk::InvalidConfig("tls: cert and key go together");
  return out;
}

// Docker names: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
bool ValidNetworkName(const std::string& s) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// "SIGTERM", "TERM", "SIGRTMIN+3" or a number, as docker accepts.
bool ValidSignal(const std::string& s) {
  if (AllDigits(s)) return s.size() <= 2;
  if (s.empty() || s.size() > 16) return false;
  for (char c : s) {
    if (!std::isupper(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '+' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

sdk::Result<int64_t> Integer(const nlohmann::json& v, const std::string& field, int64_t min, int64_t max) {
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return sdk::InvalidConfig(field + ": must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return v.get<int64_t>();
}

}  // namespace

sdk::Result<Endpoint> ParseEndpoint(const std::string& text, const std::string& field) {
  Endpoint e;
  e.text = text;
  constexpr std::string_view kUnix = "unix://", kTcp = "tcp://";
  if (text.rfind(kUnix, 0) == 0) {
    e.kind = Endpoint::Kind::kUnix;
    e.path = text.substr(kUnix.size());
    if (e.path.empty() || e.path[0] != '/') {
      return sdk::InvalidConfig(field + ": a unix endpoint is unix:///absolute/path (got \"" + text + "\")");
    }
    // sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
    if (e.path.size() > 107 || e.path.find('\0') != std::string::npos) {
      return sdk::InvalidConfig(field + ": the socket path is longer than a unix socket path can be");
    }
    return e;
  }
  if (text.rfind(kTcp, 0) == 0) {
    e.kind = Endpoint::Kind::kTcp;
    std::string rest = text.substr(kTcp.size());
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    std::string port;
    if (!rest.empty() && rest[0] == '[') {  // [v6]:port
      const size_t close = rest.find(']');
      if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
        return sdk::InvalidConfig(field + ": expected tcp://[address]:port (got \"" + text + "\")");
      }
      e.host = rest.substr(1, close - 1);
      port = rest.substr(close + 2);
    } else {
      const size_t colon = rest.rfind(':');
      if (colon == std::string::npos) {
        return sdk::InvalidConfig(field + ": expected tcp://host:port (got \"" + text + "\")");
      }
      e.host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    if (e.host.empty() || e.host.find_first_of("/?#@ ") != std::string::npos) {
      return sdk::InvalidConfig(field + ": no valid host in \"" + text + "\"");
    }
    if (!AllDigits(port) || port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return sdk::InvalidConfig(field + ": the port must be 1..65535 (got \"" + text + "\")");
    }
    e.port = static_cast<uint16_t>(std::stoi(port));
    return e;
  }
  return sdk::InvalidConfig(field + ": must start with unix:// or tcp:// (got \"" + text + "\")");
}

sdk::Result<Config> ParseConfig(const nlohmann::json& config) {
  if (!config.is_null() && !config.is_object()) {
    return sdk::InvalidConfig("config: must be an object (or null for the defaults)");
  }
  Config out;
  std::string endpoint = kDefaultEndpoint;
  if (config.is_object()) {
    for (auto it = config.begin(); it != config.end(); ++it) {
      const std::string& key = it.key();
      if (key == "endpoint") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        endpoint = s.value();
      } else if (key == "apiVersion") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        const std::string& v = s.value();
        const bool shaped = v.size() >= 3 && v.rfind("1.", 0) == 0 && AllDigits(v.substr(2)) && v.size() <= 5;
        if (!shaped || std::stoi(v.substr(2)) < kMinApiMinor) {
          return sdk::InvalidConfig("apiVersion: must be \"1.N\" with N >= " + std::to_string(kMinApiMinor) +
                                    " (got \"" + v + "\")");
        }
        out.api_version = v;
      } else if (key == "tls") {
        sdk::Result<TlsFiles> tls = ParseTls(*it);
        if (!tls.ok()) return tls.error();
        out.tls = tls.value();
      } else if (key == "bridgeNetwork") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        if (!ValidNetworkName(s.value())) {
          return sdk::InvalidConfig("bridgeNetwork: not a docker network name (got \"" + s.value() + "\")");
        }
        out.bridge_network = s.value();
      } else if (key == "stopSignal") {
        sdk::Result<std::string> s = String(*it, key);
        if (!s.ok()) return s.error();
        if (!ValidSignal(s.value())) {
          return sdk::InvalidConfig("stopSignal: a signal name such as \"SIGTERM\" or a number (got \"" +
                                    s.value() + "\")");
        }
        out.stop_signal = s.value();
      } else if (key == "requestTimeoutMs") {
        sdk::Result<int64_t> n = Integer(*it, key, 1, kMaxTimeoutMs);
        if (!n.ok()) return n.error();
        out.request_timeout = std::chrono::milliseconds(n.value());
      } else if (key == "pods") {
        sdk::Result<int64_t> n = Integer(*it, key, 1, kMaxPods);
        if (!n.ok()) return n.error();
        out.pods = n.value();
      } else {
        return sdk::InvalidConfig("unknown field \"" + key +
                                  "\" (known: endpoint, apiVersion, tls, bridgeNetwork, stopSignal, "
                                  "requestTimeoutMs, pods)");
      }
    }
  }
  sdk::Result<Endpoint> e = ParseEndpoint(endpoint, "endpoint");
  if (!e.ok()) return e.error();
  out.endpoint = e.value();
  if (out.tls.has_value() && out.endpoint.kind != Endpoint::Kind::kTcp) {
    return sdk::InvalidConfig("tls: only for a tcp:// endpoint (the endpoint is " + endpoint + ")");
  }
  return out;
}

}  // namespace capstan::plugins::docker
