#include "node/pod_launch.h"

#include <cctype>
#include <map>
#include <utility>

#include "client/json_fields.h"
#include "node/service_env.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::StringField;

namespace {

const json& Containers(const json& pod) { return Field(Field(pod, "spec"), "containers"); }

std::string EnvName(const std::string& port_name) {
  std::string out = "CAPSTAN_PORT_";
  for (char c : port_name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The value of a fieldRef path (the downward API the kubelet serves through env).
std::optional<std::string> FieldRefValue(const json& pod, const std::string& path, const LaunchContext& ctx) {
  const json& meta = Field(pod, "metadata");
  if (path == "metadata.name" || path == "metadata.namespace" || path == "metadata.uid") {
    return StringField(meta, path.substr(9));
  }
  if (path == "spec.nodeName" || path == "spec.serviceAccountName") {
    return StringField(Field(pod, "spec"), path.substr(5));
  }
  if (path == "status.hostIP" || path == "status.podIP" || path == "status.hostIPs" || path == "status.podIPs") {
    return ctx.host_ip;
  }
  for (const char* map : {"labels", "annotations"}) {
    const std::string prefix = std::string("metadata.") + map + "['";
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 2 && path.substr(path.size() - 2) == "']") {
      return StringField(Field(meta, map), path.substr(prefix.size(), path.size() - prefix.size() - 2));
    }
  }
  return std::nullopt;
}

}  // namespace

std::string ExpandVars(const std::string& text,
                       const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {  // $$ is an escaped $
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] == '(') {
      const size_t close = text.find(')', i + 2);
      if (close != std::string::npos) {
        const std::string name = text.substr(i + 2, close - i - 2);
        if (auto v = lookup(name)) {
          out += *v;
        } else {
          out += text.substr(i, close - i + 1);
        }
        i = close;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

size_t PortsToAllocate(const json& pod) {
  size_t n = 0;
  const json& containers = Containers(pod);
  if (!containers.is_array()) return 0;
  for (const json& c : containers) {
    const json& ports = Field(c, "ports");
    if (!ports.is_array()) continue;
    for (const json& p : ports) n += client::IntField(p, "hostPort") == 0 ? 1 : 0;
  }
  return n;
}

Result<std::vector<PortMapping>> MapPorts(const json& pod, const std::vector<int>& allocated) {
  std::vector<PortMapping> out;
  size_t next = 0;
  const json& containers = Containers(pod);
  if (!containers.is_array()) return out;
  for (const json& c : containers) {
    const json& ports = Field(c, "ports");
    if (!ports.is_array()) continue;
    for (const json& p : ports) {
      PortMapping m;
      m.container = StringField(c, "name");
      m.name = StringField(p, "name");
      m.protocol = StringField(p, "protocol");
      if (m.protocol.empty()) m.protocol = "TCP";
      m.container_port = static_cast<int>(client::IntField(p, "containerPort"));
      m.host_port = static_cast<int>(client::IntField(p, "hostPort"));
      if (m.host_port == 0) {
        if (next >= allocated.size()) {
          return Status::Invalid("container " + m.container + ": no host port allocated for containerPort " +
                                 std::to_string(m.container_port));
        }
        m.host_port = allocated[next++];
      }
      out.push_back(std::move(m));
    }
  }
  return out;
}

json PortMappingsJson(const std::vector<PortMapping>& ports) {
  json out = json::array();
  for (const PortMapping& m : ports) {
    json e = {{"container", m.container},
              {"containerPort", m.container_port},
              {"hostPort", m.host_port},
              {"protocol", m.protocol}};
    if (!m.name.empty()) e["name"] = m.name;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<PortMapping> PortMappingsFromStatus(const json& pod) {
  std::vector<PortMapping> out;
  const json& list = Field(Field(pod, "status"), "portMappings");
  if (!list.is_array()) return out;
  for (const json& e : list) {
    PortMapping m{StringField(e, "container"), StringField(e, "name"), StringField(e, "protocol"),
                  static_cast<int>(client::IntField(e, "containerPort")),
                  static_cast<int>(client::IntField(e, "hostPort"))};
    if (m.host_port > 0) out.push_back(std::move(m));
  }
  return out;
}

std::optional<int> HostPortFor(const std::vector<PortMapping>& ports, const std::string& container, const json& port) {
  if (port.is_number_integer()) {
    const int n = port.get<int>();
    for (const PortMapping& m : ports) {
      if (m.container == container && m.container_port == n) return m.host_port;
    }
    for (const PortMapping& m : ports) {
      if (m.container_port == n) return m.host_port;
    }
    return n;
  }
  if (port.is_string()) {
    const std::string name = port.get<std::string>();
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return HostPortFor(ports, container, json(std::stoi(name)));
    }
    for (const PortMapping& m : ports) {
      if (m.name == name && m.container == container) return m.host_port;
    }
    for (const PortMapping& m : ports) {
      if (m.name == name) return m.host_port;
    }
  }
  return std::nullopt;
}

namespace {

// One container's environment as an ordered list with last-wins lookup.
class Env {
 public:
  void Set(const std::string& name, std::string value) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      index_[name] = vars_.size();
      vars_.emplace_back(name, std::move(value));
    } else {
      vars_[it->second].second = std::move(value);
    }
  }
  std::optional<std::string> Get(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return vars_[it->second].second;
  }
  json ToJson() const {
    json out = json::array();
    for (const auto& [n, v] : vars_) out.push_back({{"name", n}, {"value", v}});
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
  std::map<std::string, size_t> index_;
};

std::string ValueText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Status ResolveContainerEnv(const json& pod, const json& container, const std::vector<PortMapping>& ports,
                           const LaunchContext& ctx, Env& env) {
  const std::string cname = StringField(container, "name");
  if (Field(Field(pod, "spec"), "enableServiceLinks") != false) {
    for (auto& [name, value] : ServiceEnvVars(ctx.services)) env.Set(name, std::move(value));
  }
  bool first = true;
  for (const PortMapping& m : ports) {
    if (m.container == cname && first) {
      env.Set("PORT", std::to_string(m.host_port));
      first = false;
    }
  }
  for (const PortMapping& m : ports) {
    if (!m.name.empty()) env.Set(EnvName(m.name), std::to_string(m.host_port));
  }
  auto lookup_var = [&env](const std::string& n) { return env.Get(n); };
  const std::string where = "container " + cname;

  const json& env_from = Field(container, "envFrom");
  if (env_from.is_array()) {
    for (const json& src : env_from) {
      const bool is_cm = Field(src, "configMapRef").is_object();
      const json& ref = is_cm ? Field(src, "configMapRef") : Field(src, "secretRef");
      if (!ref.is_object()) continue;
      const std::string kind = is_cm ? "ConfigMap" : "Secret";
      const std::string name = StringField(ref, "name");
      auto data = ctx.lookup ? ctx.lookup(kind, name, "")
                             : Result<json>(Status::NotFound(kind + " lookups are not available"));
      if (!data.ok()) {
        if (data.status().IsNotFound() && client::BoolField(ref, "optional")) continue;
        return data.status().Annotate(where + ": envFrom " + kind + " " + name);
      }
      const std::string prefix = StringField(src, "prefix");
      for (auto it = data->begin(); it != data->end(); ++it) env.Set(prefix + it.key(), ValueText(*it));
    }
  }
  const json& vars = Field(container, "env");
  if (!vars.is_array()) return Status::Ok();
  for (const json& e : vars) {
    const std::string name = StringField(e, "name");
    const json& from = Field(e, "valueFrom");
    if (!from.is_object()) {
      env.Set(name, ExpandVars(StringField(e, "value"), lookup_var));
      continue;
    }
    if (const json& f = Field(from, "fieldRef"); f.is_object()) {
      auto v = FieldRefValue(pod, StringField(f, "fieldPath"), ctx);
      if (!v) return Status::Invalid(where + ": env " + name + ": unsupported fieldPath " + StringField(f, "fieldPath"));
      env.Set(name, *v);
      continue;
    }
    if (Field(from, "resourceFieldRef").is_object()) {
      const json& r = Field(from, "resourceFieldRef");
      const std::string res = StringField(r, "resource");  // limits.cpu, requests.memory, ...
      const auto dot = res.find('.');
      const json& q = dot == std::string::npos
                          ? json()
                          : Field(Field(Field(container, "resources"), res.substr(0, dot)), res.substr(dot + 1));
      env.Set(name, q.is_null() ? "0" : ValueText(q));
      continue;
    }
    const bool is_cm = Field(from, "configMapKeyRef").is_object();
    const json& ref = is_cm ? Field(from, "configMapKeyRef") : Field(from, "secretKeyRef");
    if (!ref.is_object()) return Status::Invalid(where + ": env " + name + ": valueFrom has no supported source");
    const std::string kind = is_cm ? "ConfigMap" : "Secret";
    auto v = ctx.lookup ? ctx.lookup(kind, StringField(ref, "name"), StringField(ref, "key"))
                        : Result<json>(Status::NotFound(kind + " lookups are not available"));
    if (!v.ok()) {
      if (v.status().IsNotFound() && client::BoolField(ref, "optional")) continue;
      return v.status().Annotate(where + ": env " + name);
    }
    env.Set(name, ValueText(*v));
  }
  return Status::Ok();
}

}  // namespace

Result<json> LaunchPod(const json& pod, const std::vector<PortMapping>& ports, const LaunchContext& ctx) {
  json out = pod;
  json& containers = out["spec"]["containers"];
  if (!containers.is_array()) return out;
  for (json& c : containers) {
    Env env;
    CAPSTAN_RETURN_IF_ERROR(ResolveContainerEnv(pod, c, ports, ctx, env));
    auto lookup_var = [&env](const std::string& n) { return env.Get(n); };
    for (const char* list : {"command", "args"}) {
      if (!c.contains(list) || !c[list].is_array()) continue;
      for (json& word : c[list]) {
        if (word.is_string()) word = ExpandVars(word.get<std::string>(), lookup_var);
      }
    }
    c["env"] = env.ToJson();
    c.erase("envFrom");
    const std::string cname = StringField(c, "name");
    if (c.contains("ports") && c["ports"].is_array()) {
      for (json& p : c["ports"]) {
        if (client::IntField(p, "hostPort") != 0) continue;
        for (const PortMapping& m : ports) {
          if (m.container == cname && m.container_port == client::IntField(p, "containerPort") &&
              m.name == StringField(p, "name")) {
            p["hostPort"] = m.host_port;
            break;
          }
        }
      }
    }
  }
  return out;
}

}  // namespace capstan::node
