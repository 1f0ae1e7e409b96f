// Pod spec defaults, as k8s.io/kubernetes/pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec,
// SetDefaults_Container, SetDefaults_ContainerPort, SetDefaults_Probe, SetDefaults_HTTPGetAction,
// SetDefaults_Volume, SetDefaults_*VolumeSource, SetDefaults_ObjectFieldSelector, SetDefaults_Pod).
#include "api/kinds/pod_spec.h"

#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

// Sets obj[key] = value when absent or null (a pointer field left nil in Go).
void SetIfUnset(json& obj, const char* key, json value) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) obj[key] = std::move(value);
}

// Go zero values count as unset for the int32 probe fields Kubernetes defaults.
void SetIfZero(json& obj, const char* key, int64_t value) {
  if (GetInt(obj, key, 0) == 0) obj[key] = value;
}

void DefaultHttpGet(json& http) {
  if (!http.is_object()) return;
  if (GetString(http, "path").empty()) http["path"] = "/";
  if (GetString(http, "scheme").empty()) http["scheme"] = "HTTP";
}

void DefaultProbe(json& probe) {
  if (!probe.is_object()) return;
  SetIfZero(probe, "timeoutSeconds", 1);
  SetIfZero(probe, "periodSeconds", 10);
  SetIfZero(probe, "successThreshold", 1);
  SetIfZero(probe, "failureThreshold", 3);
  if (probe.contains("httpGet")) DefaultHttpGet(probe["httpGet"]);
}

void DefaultContainer(json& c, bool host_network) {
  if (!c.is_object()) return;
  if (GetString(c, "imagePullPolicy").empty()) c["imagePullPolicy"] = DefaultImagePullPolicy(GetString(c, "image"));
  if (GetString(c, "terminationMessagePath").empty()) c["terminationMessagePath"] = "/dev/termination-log";
  if (GetString(c, "terminationMessagePolicy").empty()) c["terminationMessagePolicy"] = "File";
  // Go serialises the non-pointer ResourceRequirements struct even when empty.
  SetIfUnset(c, "resources", json::object());
  if (json* ports = c.contains("ports") && c["ports"].is_array() ? &c["ports"] : nullptr) {
    for (json& p : *ports) {
      if (!p.is_object()) continue;
      if (GetString(p, "protocol").empty()) p["protocol"] = "TCP";
      // defaultHostNetworkPorts: with hostNetwork the host port is the container port.
      if (host_network && GetInt(p, "hostPort") == 0 && Get(p, "containerPort") != nullptr) {
        p["hostPort"] = p["containerPort"];
      }
    }
  }
  if (c.contains("env") && c["env"].is_array()) {
    for (json& e : c["env"]) {
      json* from = e.is_object() && e.contains("valueFrom") ? &e["valueFrom"] : nullptr;
      if (from == nullptr || !from->is_object()) continue;
      if (from->contains("fieldRef") && (*from)["fieldRef"].is_object()) {
        if (GetString((*from)["fieldRef"], "apiVersion").empty()) (*from)["fieldRef"]["apiVersion"] = "v1";
      }
      if (from->contains("resourceFieldRef") && (*from)["resourceFieldRef"].is_object()) {
        // A zero resource.Quantity serialises as "0".
        SetIfUnset((*from)["resourceFieldRef"], "divisor", "0");
      }
    }
  }
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    if (c.contains(probe)) DefaultProbe(c[probe]);
  }
  if (c.contains("lifecycle") && c["lifecycle"].is_object()) {
    for (const char* hook : {"postStart", "preStop"}) {
      json& lc = c["lifecycle"];
      if (lc.contains(hook) && lc[hook].is_object() && lc[hook].contains("httpGet")) DefaultHttpGet(lc[hook]["httpGet"]);
    }
  }
}

void DefaultVolume(json& v) {
  if (!v.is_object()) return;
  bool has_source = false;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "name" && !it->is_null()) has_source = true;
  }
  if (!has_source) v["emptyDir"] = json::object();  // SetDefaults_Volume
  constexpr int kDefaultMode = 0644;               // 420, as Kubernetes stores it
  for (const char* source : {"secret", "configMap", "projected", "downwardAPI"}) {
    if (v.contains(source) && v[source].is_object()) SetIfUnset(v[source], "defaultMode", kDefaultMode);
  }
  if (v.contains("hostPath") && v["hostPath"].is_object()) SetIfUnset(v["hostPath"], "type", "");
}

}  // namespace

std::string DefaultImagePullPolicy(const std::string& image) {
  // parsers.ParseImageName: a reference without tag and digest means tag "latest".
  std::string name = image;
  bool has_digest = false;
  if (auto at = name.find('@'); at != std::string::npos) {
    has_digest = true;
    name = name.substr(0, at);
  }
  std::string tag;
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) tag = name.substr(colon + 1);
  if (image.empty()) return "IfNotPresent";  // an unparsable reference has no tag
  if (tag.empty() && !has_digest) tag = "latest";
  return tag == "latest" ? "Always" : "IfNotPresent";
}

void DefaultPodSpec(json& spec) {
  if (!spec.is_object()) spec = json::object();
  if (GetString(spec, "dnsPolicy").empty()) spec["dnsPolicy"] = "ClusterFirst";
  if (GetString(spec, "restartPolicy").empty()) spec["restartPolicy"] = "Always";
  SetIfUnset(spec, "securityContext", json::object());
  SetIfUnset(spec, "terminationGracePeriodSeconds", 30);
  if (GetString(spec, "schedulerName").empty()) spec["schedulerName"] = "default-scheduler";
  bool host_network = GetBool(spec, "hostNetwork");
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (json& c : spec[list]) DefaultContainer(c, host_network);
  }
  if (spec.contains("volumes") && spec["volumes"].is_array()) {
    for (json& v : spec["volumes"]) DefaultVolume(v);
  }
}

void DefaultPodTemplateSpec(json& tmpl) {
  if (!tmpl.is_object()) tmpl = json::object();
  DefaultPodSpec(tmpl["spec"]);
}

void DefaultPodOnlyFields(json& spec) {
  if (!spec.is_object()) return;
  SetIfUnset(spec, "enableServiceLinks", true);
  // SetDefaults_Pod: requests default to limits, per resource, for every container.
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (json& c : spec[list]) {
      if (!c.is_object() || !c.contains("resources") || !c["resources"].is_object()) continue;
      json& res = c["resources"];
      const json* limits = Get(res, "limits");
      if (limits == nullptr || !limits->is_object()) continue;
      json& requests = Ensure(res, "requests");
      for (auto it = limits->begin(); it != limits->end(); ++it) {
        if (!requests.contains(it.key())) requests[it.key()] = *it;
      }
    }
  }
}

}  // namespace capstan::api::kinds
