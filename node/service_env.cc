#include "node/service_env.h"

#include <algorithm>
#include <cctype>

#include "client/json_fields.h"

namespace capstan::node {
namespace {

using json = nlohmann::json;
using client::Field;
using client::StringField;

// "web-api" -> "WEB_API" (makeEnvVariableName).
std::string EnvPart(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ServiceEnvVars(
    const std::vector<std::shared_ptr<const json>>& services) {
  std::vector<std::shared_ptr<const json>> sorted;
  for (const auto& s : services) {
    if (s != nullptr) sorted.push_back(s);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return StringField(Field(*a, "metadata"), "name") < StringField(Field(*b, "metadata"), "name");
  });
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : sorted) {
    const json& spec = Field(*s, "spec");
    const std::string ip = StringField(spec, "clusterIP");
    const json& ports = Field(spec, "ports");
    if (ip.empty() || ip == "None" || !ports.is_array() || ports.empty()) continue;
    const std::string name = EnvPart(StringField(Field(*s, "metadata"), "name"));
    const std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
    out.emplace_back(name + "_SERVICE_HOST", ip);
    out.emplace_back(name + "_SERVICE_PORT", std::to_string(client::IntField(ports[0], "port")));
    for (const json& p : ports) {
      const std::string port_name = StringField(p, "name");
      if (!port_name.empty()) {
        out.emplace_back(name + "_SERVICE_PORT_" + EnvPart(port_name), std::to_string(client::IntField(p, "port")));
      }
    }
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string port = std::to_string(client::IntField(ports[i], "port"));
      std::string protocol = StringField(ports[i], "protocol");
      if (protocol.empty()) protocol = "TCP";
      const std::string url = Lower(protocol) + "://" + host + ":" + port;
      if (i == 0) out.emplace_back(name + "_PORT", url);
      const std::string prefix = name + "_PORT_" + port + "_" + protocol;
      out.emplace_back(prefix, url);
      out.emplace_back(prefix + "_PROTO", Lower(protocol));
      out.emplace_back(prefix + "_PORT", port);
      out.emplace_back(prefix + "_ADDR", ip);
    }
  }
  return out;
}

}  // namespace capstan::node
