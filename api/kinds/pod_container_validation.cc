// Container validation as k8s.io/kubernetes/pkg/apis/core/validation (validateContainerCommon,
// validateContainerPorts, ValidateEnv, validateEnvFrom, validateVolumeMounts, ValidateResourceRequirements,
// validateProbe, validateLifecycle), with the same field paths and messages.
#include "api/kinds/pod_container_validation.h"

#include <cctype>
#include <map>

#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

void ValidatePortNumOrName(const json& port, const std::string& path, FieldErrors* errors) {
  if (port.is_number()) {
    AddInvalidEach(errors, path, port, CheckPortNumber(port.get<int64_t>()));
  } else if (port.is_string()) {
    AddInvalidEach(errors, path, port, CheckPortName(port.get<std::string>()));
  }
}

void ValidateHttpGet(const json& http, const std::string& path, FieldErrors* errors) {
  if (GetString(http, "path").empty()) AddRequired(errors, Child(path, "path"));
  if (const json* port = Get(http, "port")) ValidatePortNumOrName(*port, Child(path, "port"), errors);
  std::string scheme = GetString(http, "scheme");
  if (scheme != "HTTP" && scheme != "HTTPS") AddNotSupported(errors, Child(path, "scheme"), scheme, {"HTTP", "HTTPS"});
  const json& headers = GetArray(http, "httpHeaders");
  for (size_t i = 0; i < headers.size(); ++i) {
    std::string name = GetString(headers[i], "name");
    bool ok = !name.empty();
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
    if (!ok) {
      AddInvalid(errors, Child(Index(Child(path, "httpHeaders"), i), "name"), name,
                 "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex "
                 "used for validation is '[-A-Za-z0-9]+')");
    }
  }
}

// validateHandler: exactly one handler; the second and later ones are Forbidden at their path.
void ValidateHandler(const json& h, bool lifecycle, int64_t grace_period, const std::string& path,
                     FieldErrors* errors) {
  int handlers = 0;
  for (const char* kind : {"exec", "httpGet", "tcpSocket", lifecycle ? "sleep" : "grpc"}) {
    const json* v = Get(h, kind);
    if (v == nullptr) continue;
    std::string p = Child(path, kind);
    if (handlers++ > 0) {
      AddForbidden(errors, p, "may not specify more than 1 handler type");
      continue;
    }
    std::string k = kind;
    if (k == "exec") {
      if (GetArray(*v, "command").empty()) AddRequired(errors, Child(p, "command"));
    } else if (k == "httpGet") {
      ValidateHttpGet(*v, p, errors);
    } else if (k == "tcpSocket") {
      if (const json* port = Get(*v, "port")) ValidatePortNumOrName(*port, Child(p, "port"), errors);
    } else if (k == "grpc") {
      AddInvalidEach(errors, Child(p, "port"), GetInt(*v, "port"), CheckPortNumber(GetInt(*v, "port")));
    } else if (k == "sleep") {
      int64_t secs = GetInt(*v, "seconds");
      if (secs < 0 || secs > grace_period) {
        AddInvalid(errors, p, secs,
                   "must be non-negative and less than terminationGracePeriodSeconds (" +
                       std::to_string(grace_period) + ")");
      }
    }
  }
  if (handlers == 0) AddRequired(errors, path, "must specify a handler type");
}

void ValidateProbe(const json& probe, const char* which, int64_t grace_period, const std::string& path,
                   FieldErrors* errors) {
  ValidateHandler(probe, false, grace_period, path, errors);
  for (const char* f : {"initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                        "failureThreshold"}) {
    CheckNonNegative(probe, f, path, errors);
  }
  if (const json* t = Get(probe, "terminationGracePeriodSeconds")) {
    if (std::string(which) == "readinessProbe") {
      AddInvalid(errors, Child(path, "terminationGracePeriodSeconds"), *t, "must not be set for readinessProbes");
    } else if (t->is_number() && t->get<int64_t>() <= 0) {
      AddInvalid(errors, Child(path, "terminationGracePeriodSeconds"), *t, "must be greater than 0");
    }
  }
  // Liveness and startup probes decide on one success; Kubernetes insists the threshold says so.
  if (std::string(which) != "readinessProbe" && GetInt(probe, "successThreshold", 1) != 1) {
    AddInvalid(errors, Child(path, "successThreshold"), GetInt(probe, "successThreshold"), "must be 1");
  }
}

void ValidatePorts(const json& ports, bool host_network, const std::string& path, FieldErrors* errors) {
  std::set<std::string> names;
  for (size_t i = 0; i < ports.size(); ++i) {
    const json& p = ports[i];
    std::string ip = Index(path, i);
    std::string name = GetString(p, "name");
    if (!name.empty()) {
      auto msgs = CheckPortName(name);
      if (!msgs.empty()) {
        AddInvalidEach(errors, Child(ip, "name"), name, msgs);
      } else if (!names.insert(name).second) {
        AddDuplicate(errors, Child(ip, "name"), name);
      }
    }
    int64_t container_port = GetInt(p, "containerPort");
    if (container_port == 0) {
      AddRequired(errors, Child(ip, "containerPort"));
    } else {
      AddInvalidEach(errors, Child(ip, "containerPort"), container_port, CheckPortNumber(container_port));
    }
    int64_t host_port = GetInt(p, "hostPort");
    if (host_port != 0) AddInvalidEach(errors, Child(ip, "hostPort"), host_port, CheckPortNumber(host_port));
    if (host_network && host_port != container_port) {
      AddInvalid(errors, Child(ip, "containerPort"), container_port, "must match `hostPort` when `hostNetwork` is true");
    }
    std::string protocol = GetString(p, "protocol");
    if (protocol.empty()) {
      AddRequired(errors, Child(ip, "protocol"));
    } else if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
      AddNotSupported(errors, Child(ip, "protocol"), protocol, {"SCTP", "TCP", "UDP"});
    }
  }
}

void ValidateKeySelector(const json& sel, const std::string& path, FieldErrors* errors) {
  std::string name = GetString(sel, "name");
  std::string key = GetString(sel, "key");
  if (name.empty()) AddRequired(errors, Child(path, "name"));
  if (key.empty()) {
    AddRequired(errors, Child(path, "key"));
  } else {
    AddInvalidEach(errors, Child(path, "key"), key, CheckConfigMapKey(key));
  }
}

void ValidateFieldRef(const json& ref, const std::string& path, FieldErrors* errors) {
  static const std::vector<std::string> kSupported = {
      "metadata.name",       "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
      "status.hostIP",       "status.hostIPs",     "status.podIP", "status.podIPs"};
  std::string fp = GetString(ref, "fieldPath");
  if (GetString(ref, "apiVersion").empty()) AddRequired(errors, Child(path, "apiVersion"));
  if (fp.empty()) {
    AddRequired(errors, Child(path, "fieldPath"));
    return;
  }
  // metadata.labels['key'] / metadata.annotations['key'] select one entry.
  for (const std::string prefix : {"metadata.labels['", "metadata.annotations['"}) {
    if (fp.rfind(prefix, 0) == 0 && fp.size() > prefix.size() + 2 && fp.substr(fp.size() - 2) == "']") {
      std::string key = fp.substr(prefix.size(), fp.size() - prefix.size() - 2);
      AddInvalidEach(errors, Child(path, "fieldPath"), key, CheckQualifiedName(key));
      return;
    }
  }
  for (const auto& s : kSupported) {
    if (fp == s) return;
  }
  AddNotSupported(errors, Child(path, "fieldPath"), fp, kSupported);
}

void ValidateEnv(const json& env, const std::string& path, FieldErrors* errors) {
  for (size_t i = 0; i < env.size(); ++i) {
    const json& e = env[i];
    std::string ip = Index(path, i);
    std::string name = GetString(e, "name");
    if (name.empty()) {
      AddRequired(errors, Child(ip, "name"));
    } else {
      AddInvalidEach(errors, Child(ip, "name"), name, CheckEnvVarName(name));
    }
    const json* from = Get(e, "valueFrom");
    if (from == nullptr) continue;
    std::string fp = Child(ip, "valueFrom");
    int sources = 0;
    for (const char* kind : {"fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"}) {
      const json* src = Get(*from, kind);
      if (src == nullptr) continue;
      ++sources;
      std::string k = kind;
      if (k == "fieldRef") ValidateFieldRef(*src, Child(fp, kind), errors);
      if (k == "configMapKeyRef" || k == "secretKeyRef") ValidateKeySelector(*src, Child(fp, kind), errors);
      if (k == "resourceFieldRef" && GetString(*src, "resource").empty()) {
        AddRequired(errors, Child(Child(fp, kind), "resource"));
      }
    }
    if (sources == 0) {
      AddInvalid(errors, fp, "",
                 "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
    } else if (sources > 1) {
      AddInvalid(errors, fp, "", "may not have more than one field specified at a time");
    }
    if (sources != 0 && !GetString(e, "value").empty()) {
      AddInvalid(errors, fp, "", "may not be specified when `value` is not empty");
    }
  }
}

void ValidateEnvFrom(const json& env_from, const std::string& path, FieldErrors* errors) {
  for (size_t i = 0; i < env_from.size(); ++i) {
    const json& e = env_from[i];
    std::string ip = Index(path, i);
    std::string prefix = GetString(e, "prefix");
    if (!prefix.empty()) AddInvalidEach(errors, Child(ip, "prefix"), prefix, CheckEnvVarName(prefix));
    int sources = 0;
    for (const char* kind : {"configMapRef", "secretRef"}) {
      const json* src = Get(e, kind);
      if (src == nullptr) continue;
      ++sources;
      std::string name = GetString(*src, "name");
      if (name.empty()) {
        AddRequired(errors, Child(Child(ip, kind), "name"));
      } else {
        AddInvalidEach(errors, Child(Child(ip, kind), "name"), name, CheckDns1123Subdomain(name));
      }
    }
    if (sources == 0) AddInvalid(errors, ip, "", "must specify one of: `configMapRef` or `secretRef`");
    if (sources > 1) AddInvalid(errors, ip, "", "may not have more than one field specified at a time");
  }
}

void ValidateVolumeMounts(const json& mounts, const std::set<std::string>* volumes, const std::string& path,
                          FieldErrors* errors) {
  std::set<std::string> mount_points;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const json& m = mounts[i];
    std::string ip = Index(path, i);
    std::string name = GetString(m, "name");
    std::string mount_path = GetString(m, "mountPath");
    if (name.empty()) AddRequired(errors, Child(ip, "name"));
    if (volumes != nullptr && !volumes->count(name)) AddNotFound(errors, Child(ip, "name"), name);
    if (mount_path.empty()) AddRequired(errors, Child(ip, "mountPath"));
    if (!mount_points.insert(mount_path).second) AddInvalid(errors, Child(ip, "mountPath"), mount_path, "must be unique");
    std::string sub_path = GetString(m, "subPath");
    if (!sub_path.empty()) {
      if (sub_path.front() == '/') AddInvalid(errors, Child(ip, "subPath"), sub_path, "must be a relative path");
      if (("/" + sub_path + "/").find("/../") != std::string::npos) {
        AddInvalid(errors, Child(ip, "subPath"), sub_path, "must not contain '..'");
      }
    }
  }
}

bool IsStandardContainerResource(const std::string& name) {
  return name == "cpu" || name == "memory" || name == "ephemeral-storage" || name.rfind("hugepages-", 0) == 0;
}

// ValidateResourceRequirements: names, non-negative quantities, integer extended resources,
// requests no larger than limits.
void ValidateResources(const json& res, const std::string& path, FieldErrors* errors) {
  std::map<std::string, int64_t> limits;
  for (const char* kind : {"limits", "requests"}) {
    const json* list = Get(res, kind);
    if (list == nullptr || !list->is_object()) continue;
    std::string kp = Child(path, kind);
    for (auto it = list->begin(); it != list->end(); ++it) {
      const std::string& name = it.key();
      std::string p = Key(kp, name);
      AddInvalidEach(errors, p, name, CheckQualifiedName(name));
      bool extended = name.find('/') != std::string::npos;
      if (!extended && !IsStandardContainerResource(name)) {
        AddInvalid(errors, p, name, "must be a standard resource for containers");
      }
      auto q = ParseQuantity(*it);
      if (!q.ok()) {
        AddInvalid(errors, p, *it, q.status().message());
        continue;
      }
      if (*q < 0) {
        AddInvalid(errors, p, *it, "must be greater than or equal to 0");
        continue;
      }
      if (extended && name.rfind("kubernetes.io/", 0) != 0 && *q % 1000 != 0) {
        AddInvalid(errors, p, *it, "must be an integer");
      }
      if (std::string(kind) == "limits") {
        limits[name] = *q;
      } else if (auto lim = limits.find(name); lim != limits.end() && *q > lim->second) {
        const json& limit_value = (*Get(res, "limits"))[name];
        std::string limit_text = limit_value.is_string() ? limit_value.get<std::string>() : limit_value.dump();
        AddInvalid(errors, p, *it, "must be less than or equal to " + name + " limit of " + limit_text);
      }
    }
  }
}

}  // namespace

void ValidateContainer(const json& c, ContainerRole role, const ContainerContext& ctx, const std::string& path,
                       FieldErrors* errors) {
  std::string name = GetString(c, "name");
  if (name.empty()) {
    AddRequired(errors, Child(path, "name"));
  } else {
    AddInvalidEach(errors, Child(path, "name"), name, CheckDns1123Label(name));
  }
  std::string image = GetString(c, "image");
  if (image.empty()) {
    AddRequired(errors, Child(path, "image"));
  } else if (image.find_first_not_of(" \t\r\n") != 0 || image.find_last_not_of(" \t\r\n") != image.size() - 1) {
    AddInvalid(errors, Child(path, "image"), image, "must not have leading or trailing whitespace");
  }
  std::string policy = GetString(c, "imagePullPolicy");
  if (policy.empty()) {
    AddRequired(errors, Child(path, "imagePullPolicy"));
  } else if (policy != "Always" && policy != "IfNotPresent" && policy != "Never") {
    AddNotSupported(errors, Child(path, "imagePullPolicy"), policy, {"Always", "IfNotPresent", "Never"});
  }
  std::string tmp = GetString(c, "terminationMessagePolicy");
  if (tmp.empty()) {
    AddRequired(errors, Child(path, "terminationMessagePolicy"), "must be 'File' or 'FallbackToLogsOnError'");
  } else if (tmp != "File" && tmp != "FallbackToLogsOnError") {
    AddInvalid(errors, Child(path, "terminationMessagePolicy"), tmp, "must be 'File' or 'FallbackToLogsOnError'");
  }
  ValidatePorts(GetArray(c, "ports"), ctx.host_network, Child(path, "ports"), errors);
  ValidateEnv(GetArray(c, "env"), Child(path, "env"), errors);
  ValidateEnvFrom(GetArray(c, "envFrom"), Child(path, "envFrom"), errors);
  ValidateVolumeMounts(GetArray(c, "volumeMounts"), ctx.volume_names, Child(path, "volumeMounts"), errors);
  if (const json* res = Get(c, "resources")) ValidateResources(*res, Child(path, "resources"), errors);

  std::string restart = GetString(c, "restartPolicy");
  if (role == ContainerRole::kRegular && Get(c, "restartPolicy") != nullptr) {
    AddForbidden(errors, Child(path, "restartPolicy"), "may not be set for non-init containers");
  } else if (role != ContainerRole::kRegular && !restart.empty() && restart != "Always") {
    AddNotSupported(errors, Child(path, "restartPolicy"), restart, {"Always"});
  }

  const bool plain_init = role == ContainerRole::kInit;
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    const json* p = Get(c, probe);
    if (p == nullptr) continue;
    if (plain_init) {
      AddForbidden(errors, Child(path, probe), "may not be set for init containers without restartPolicy=Always");
      continue;
    }
    ValidateProbe(*p, probe, ctx.grace_period, Child(path, probe), errors);
  }
  if (const json* lc = Get(c, "lifecycle")) {
    if (plain_init) {
      AddForbidden(errors, Child(path, "lifecycle"), "may not be set for init containers without restartPolicy=Always");
    } else {
      for (const char* hook : {"postStart", "preStop"}) {
        if (const json* h = Get(*lc, hook)) {
          ValidateHandler(*h, true, ctx.grace_period, Child(Child(path, "lifecycle"), hook), errors);
        }
      }
    }
  }
}

}  // namespace capstan::api::kinds
