// capstan/driver_json.hpp: the encoders and decoders of the documents in driver_types.hpp.
// Header-only; needs nlohmann_json (3.10 or later).
//
// Decoding never throws: a malformed document yields false and a message naming the field
// ("containers[1].image: must be a string"). Unknown fields are ignored; a known field of the
// wrong type is an error; Decode() also checks apiVersion and kind. Encoding never throws either
// (invalid UTF-8 in strings is replaced, not fatal).
//
// Thread-safety: stateless functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "capstan/driver.h"
#include "capstan/driver_types.hpp"

namespace capstan::sdk {

// ---- Decoding helpers ----------------------------------------------------------------------------

namespace detail {

using json = nlohmann::json;

// Collects the first error; every reader is a no-op once one occurred.
class Reader {
 public:
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void Fail(const std::string& path, std::string_view what) {
    if (error_.empty()) error_ = path + ": " + std::string(what);
  }

  // The value at `key`, or nullptr when absent or null (both mean "not set").
  static const json* Get(const json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }
  static std::string Join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  void String(const json& o, const char* key, const std::string& path, std::string* out, bool required = false) {
    const json* v = Get(o, key);
    if (v == nullptr) {
      if (required) Fail(Join(path, key), "required");
    } else if (!v->is_string()) {
      Fail(Join(path, key), "must be a string");
    } else {
      *out = v->get<std::string>();
      if (required && out->empty()) Fail(Join(path, key), "must not be empty");
    }
  }
  void Int(const json& o, const char* key, const std::string& path, int64_t* out) {
    const json* v = Get(o, key);
    if (v == nullptr) return;
    if (!v->is_number_integer()) return Fail(Join(path, key), "must be an integer");
    *out = v->get<int64_t>();
  }
  void OptInt(const json& o, const char* key, const std::string& path, std::optional<int64_t>* out) {
    const json* v = Get(o, key);
    if (v == nullptr) return;
    if (!v->is_number_integer()) return Fail(Join(path, key), "must be an integer");
    *out = v->get<int64_t>();
  }
  void Bool(const json& o, const char* key, const std::string& path, bool* out) {
    const json* v = Get(o, key);
    if (v == nullptr) return;
    if (!v->is_boolean()) return Fail(Join(path, key), "must be a boolean");
    *out = v->get<bool>();
  }
  void Strings(const json& o, const char* key, const std::string& path, std::vector<std::string>* out) {
    const json* v = Get(o, key);
    if (v == nullptr) return;
    if (!v->is_array()) return Fail(Join(path, key), "must be an array of strings");
    out->clear();
    for (const json& e : *v) {
      if (!e.is_string()) return Fail(Join(path, key), "must be an array of strings");
      out->push_back(e.get<std::string>());
    }
  }
  void StringMap(const json& o, const char* key, const std::string& path, std::map<std::string, std::string>* out) {
    const json* v = Get(o, key);
    if (v == nullptr) return;
    if (!v->is_object()) return Fail(Join(path, key), "must be an object of strings");
    out->clear();
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it->is_string()) return Fail(Join(path, key) + "." + it.key(), "must be a string");
      (*out)[it.key()] = it->get<std::string>();
    }
  }
  // An object field (absent: `fallback` is left as is). Returns the object or nullptr.
  const json* Object(const json& o, const char* key, const std::string& path, bool required = false) {
    const json* v = Get(o, key);
    if (v == nullptr) {
      if (required) Fail(Join(path, key), "required");
      return nullptr;
    }
    if (!v->is_object()) {
      Fail(Join(path, key), "must be an object");
      return nullptr;
    }
    return v;
  }
  // Decodes each element of an array field with `one(element, element_path, out_element)`.
  template <typename T, typename F>
  void Array(const json& o, const char* key, const std::string& path, std::vector<T>* out, F one) {
    const json* v = Get(o, key);
    if (v == nullptr) return;
    if (!v->is_array()) return Fail(Join(path, key), "must be an array");
    out->clear();
    for (size_t i = 0; i < v->size() && ok(); ++i) {
      const std::string p = Join(path, key) + "[" + std::to_string(i) + "]";
      if (!(*v)[i].is_object()) return Fail(p, "must be an object");
      T element;
      one((*v)[i], p, &element);
      out->push_back(std::move(element));
    }
  }

 private:
  std::string error_;
};

inline std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace detail

// ---- Per-type codecs (the field names are those of driver.h) -----------------------------------------

inline nlohmann::json ToJson(const DriverConfig& v) { return {{"config", v.config}}; }
inline void FromJson(const nlohmann::json& j, const std::string&, detail::Reader&, DriverConfig* out) {
  auto it = j.find("config");
  out->config = it == j.end() ? nlohmann::json() : *it;
}

inline nlohmann::json ToJson(const CapabilitiesRequest&) { return nlohmann::json::object(); }
inline void FromJson(const nlohmann::json&, const std::string&, detail::Reader&, CapabilitiesRequest*) {}
inline nlohmann::json ToJson(const FingerprintRequest&) { return nlohmann::json::object(); }
inline void FromJson(const nlohmann::json&, const std::string&, detail::Reader&, FingerprintRequest*) {}
inline nlohmann::json ToJson(const ListImagesRequest&) { return nlohmann::json::object(); }
inline void FromJson(const nlohmann::json&, const std::string&, detail::Reader&, ListImagesRequest*) {}
inline nlohmann::json ToJson(const ImageFsInfoRequest&) { return nlohmann::json::object(); }
inline void FromJson(const nlohmann::json&, const std::string&, detail::Reader&, ImageFsInfoRequest*) {}

inline nlohmann::json ToJson(const Capabilities& v) {
  return {{"exec", v.exec},
          {"logs", v.logs},
          {"imagePull", v.image_pull},
          {"images", v.images},
          {"exitEvents", v.exit_events},
          {"remoteEndpoint", v.remote_endpoint},
          {"imageFs", v.image_fs},
          {"networkModes", v.network_modes}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, Capabilities* out) {
  r.Bool(j, "exec", p, &out->exec);
  r.Bool(j, "logs", p, &out->logs);
  r.Bool(j, "imagePull", p, &out->image_pull);
  r.Bool(j, "images", p, &out->images);
  r.Bool(j, "exitEvents", p, &out->exit_events);
  r.Bool(j, "remoteEndpoint", p, &out->remote_endpoint);
  r.Bool(j, "imageFs", p, &out->image_fs);
  out->network_modes.clear();
  r.Strings(j, "networkModes", p, &out->network_modes);
  if (r.ok() && out->network_modes.empty()) r.Fail(detail::Reader::Join(p, "networkModes"), "must not be empty");
}

inline nlohmann::json ToJson(const Fingerprint& v) {
  return {{"healthy", v.healthy},
          {"message", v.message},
          {"os", v.os},
          {"arch", v.arch},
          {"runtimeVersion", v.runtime_version},
          {"capacity", v.capacity},
          {"attributes", v.attributes}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, Fingerprint* out) {
  r.Bool(j, "healthy", p, &out->healthy);
  r.String(j, "message", p, &out->message);
  r.String(j, "os", p, &out->os);
  r.String(j, "arch", p, &out->arch);
  r.String(j, "runtimeVersion", p, &out->runtime_version);
  if (const nlohmann::json* c = r.Object(j, "capacity", p)) out->capacity = *c;
  r.StringMap(j, "attributes", p, &out->attributes);
}

inline nlohmann::json ToJson(const RegistryAuth& v) {
  return {{"username", v.username},
          {"password", v.password},
          {"auth", v.auth},
          {"identityToken", v.identity_token},
          {"registryToken", v.registry_token},
          {"serverAddress", v.server_address}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, RegistryAuth* out) {
  r.String(j, "username", p, &out->username);
  r.String(j, "password", p, &out->password);
  r.String(j, "auth", p, &out->auth);
  r.String(j, "identityToken", p, &out->identity_token);
  r.String(j, "registryToken", p, &out->registry_token);
  r.String(j, "serverAddress", p, &out->server_address);
}

inline nlohmann::json ToJson(const PullImageRequest& v) {
  nlohmann::json j = {{"image", v.image}};
  if (v.auth) j["auth"] = ToJson(*v.auth);
  return j;
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, PullImageRequest* out) {
  r.String(j, "image", p, &out->image, /*required=*/true);
  if (const nlohmann::json* a = r.Object(j, "auth", p)) {
    out->auth.emplace();
    FromJson(*a, detail::Reader::Join(p, "auth"), r, &*out->auth);
  }
}

inline nlohmann::json ToJson(const PullImageResult& v) { return {{"imageId", v.image_id}}; }
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, PullImageResult* out) {
  r.String(j, "imageId", p, &out->image_id);
}

inline nlohmann::json ToJson(const PodRef& v) {
  return {{"uid", v.uid}, {"namespace", v.namespace_name}, {"name", v.name}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, PodRef* out) {
  r.String(j, "uid", p, &out->uid);
  r.String(j, "namespace", p, &out->namespace_name);
  r.String(j, "name", p, &out->name);
}

inline nlohmann::json ToJson(const ContainerSpec& v) {
  nlohmann::json env = nlohmann::json::array(), ports = nlohmann::json::array(), mounts = nlohmann::json::array();
  for (const EnvVar& e : v.env) env.push_back({{"name", e.name}, {"value", e.value}});
  for (const PortSpec& q : v.ports) {
    ports.push_back({{"name", q.name},
                     {"containerPort", q.container_port},
                     {"hostPort", q.host_port},
                     {"protocol", q.protocol},
                     {"hostIP", q.host_ip}});
  }
  for (const Mount& m : v.mounts) {
    mounts.push_back({{"hostPath", m.host_path}, {"containerPath", m.container_path}, {"readOnly", m.read_only}});
  }
  return {{"name", v.name},       {"image", v.image},
          {"command", v.command}, {"args", v.args},
          {"env", env},           {"workingDir", v.working_dir},
          {"ports", ports},       {"resources", v.resources},
          {"mounts", mounts}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ContainerSpec* out) {
  r.String(j, "name", p, &out->name, /*required=*/true);
  r.String(j, "image", p, &out->image, /*required=*/true);
  r.Strings(j, "command", p, &out->command);
  r.Strings(j, "args", p, &out->args);
  r.Array(j, "env", p, &out->env, [&r](const nlohmann::json& e, const std::string& ep, EnvVar* o) {
    r.String(e, "name", ep, &o->name, /*required=*/true);
    r.String(e, "value", ep, &o->value);
  });
  r.String(j, "workingDir", p, &out->working_dir);
  r.Array(j, "ports", p, &out->ports, [&r](const nlohmann::json& e, const std::string& ep, PortSpec* o) {
    r.String(e, "name", ep, &o->name);
    r.Int(e, "containerPort", ep, &o->container_port);
    r.Int(e, "hostPort", ep, &o->host_port);
    r.String(e, "protocol", ep, &o->protocol);
    r.String(e, "hostIP", ep, &o->host_ip);
    if (r.ok() && (o->container_port < 1 || o->container_port > 65535)) {
      r.Fail(detail::Reader::Join(ep, "containerPort"), "must be in 1..65535");
    }
    if (r.ok() && (o->host_port < 0 || o->host_port > 65535)) {
      r.Fail(detail::Reader::Join(ep, "hostPort"), "must be in 0..65535");
    }
  });
  if (const nlohmann::json* res = r.Object(j, "resources", p)) out->resources = *res;
  r.Array(j, "mounts", p, &out->mounts, [&r](const nlohmann::json& e, const std::string& ep, Mount* o) {
    r.String(e, "hostPath", ep, &o->host_path, /*required=*/true);
    r.String(e, "containerPath", ep, &o->container_path, /*required=*/true);
    r.Bool(e, "readOnly", ep, &o->read_only);
  });
}

inline nlohmann::json ToJson(const PodRunSpec& v) {
  nlohmann::json containers = nlohmann::json::array();
  for (const ContainerSpec& c : v.containers) containers.push_back(ToJson(c));
  return {{"pod", ToJson(v.pod)}, {"labels", v.labels}, {"networkMode", v.network_mode}, {"containers", containers}};
}
// Also validates what every driver needs: a pod uid, at least one container, unique container
// names, a known network mode (whether the driver supports it is the SDK's check, not this one).
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, PodRunSpec* out) {
  const nlohmann::json* pod = r.Object(j, "pod", p, /*required=*/true);
  if (pod != nullptr) {
    FromJson(*pod, detail::Reader::Join(p, "pod"), r, &out->pod);
    if (r.ok() && out->pod.uid.empty()) r.Fail(detail::Reader::Join(p, "pod.uid"), "required");
  }
  r.StringMap(j, "labels", p, &out->labels);
  r.String(j, "networkMode", p, &out->network_mode);
  if (out->network_mode.empty()) out->network_mode = "host";
  bool known = false;
  for (const char* m : kNetworkModes) known = known || out->network_mode == m;
  if (r.ok() && !known) {
    r.Fail(detail::Reader::Join(p, "networkMode"), "\"" + out->network_mode + "\" is not one of host, bridge, none");
  }
  r.Array(j, "containers", p, &out->containers,
          [&r](const nlohmann::json& e, const std::string& ep, ContainerSpec* o) { FromJson(e, ep, r, o); });
  if (r.ok() && out->containers.empty()) r.Fail(detail::Reader::Join(p, "containers"), "must not be empty");
  std::set<std::string> names;
  for (const ContainerSpec& c : out->containers) {
    if (r.ok() && !names.insert(c.name).second) {
      r.Fail(detail::Reader::Join(p, "containers"), "duplicate container name \"" + c.name + "\"");
    }
  }
}

inline nlohmann::json ToJson(const PodRunHandle& v) {
  nlohmann::json containers = nlohmann::json::array();
  for (const ContainerRef& c : v.containers) containers.push_back({{"name", c.name}, {"id", c.id}});
  return {{"id", v.id}, {"pod", ToJson(v.pod)}, {"containers", containers}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, PodRunHandle* out) {
  r.String(j, "id", p, &out->id, /*required=*/true);
  if (const nlohmann::json* pod = r.Object(j, "pod", p)) FromJson(*pod, detail::Reader::Join(p, "pod"), r, &out->pod);
  r.Array(j, "containers", p, &out->containers, [&r](const nlohmann::json& e, const std::string& ep, ContainerRef* o) {
    r.String(e, "name", ep, &o->name);
    r.String(e, "id", ep, &o->id);
  });
}

// The handle inside a request ("handle": {...}), required.
inline void ReadHandle(const nlohmann::json& j, const std::string& p, detail::Reader& r, PodRunHandle* out) {
  if (const nlohmann::json* h = r.Object(j, "handle", p, /*required=*/true)) {
    FromJson(*h, detail::Reader::Join(p, "handle"), r, out);
  }
}

inline nlohmann::json ToJson(const HandleRequest& v) { return {{"handle", ToJson(v.handle)}}; }
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, HandleRequest* out) {
  ReadHandle(j, p, r, &out->handle);
}

inline nlohmann::json ToJson(const StopRequest& v) {
  return {{"handle", ToJson(v.handle)}, {"gracePeriodMs", v.grace_period_ms}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, StopRequest* out) {
  ReadHandle(j, p, r, &out->handle);
  r.Int(j, "gracePeriodMs", p, &out->grace_period_ms);
  if (r.ok() && (out->grace_period_ms < 0 || out->grace_period_ms > kMaxDurationMs)) {
    r.Fail(detail::Reader::Join(p, "gracePeriodMs"), "must be in 0.." + std::to_string(kMaxDurationMs));
  }
}

inline nlohmann::json ToJson(const WaitRequest& v) {
  return {{"handle", ToJson(v.handle)}, {"timeoutMs", v.timeout_ms}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, WaitRequest* out) {
  ReadHandle(j, p, r, &out->handle);
  r.Int(j, "timeoutMs", p, &out->timeout_ms);
  if (r.ok() && (out->timeout_ms < 0 || out->timeout_ms > kMaxDurationMs)) {
    r.Fail(detail::Reader::Join(p, "timeoutMs"), "must be in 0.." + std::to_string(kMaxDurationMs));
  }
}

inline const char* StateName(ContainerState s) {
  switch (s) {
    case ContainerState::kWaiting: return "waiting";
    case ContainerState::kRunning: return "running";
    case ContainerState::kTerminated: return "terminated";
  }
  return "waiting";
}

inline nlohmann::json ToJson(const ContainerStatus& v) {
  nlohmann::json j = {{"name", v.name},
                      {"id", v.id},
                      {"image", v.image},
                      {"imageId", v.image_id},
                      {"state", StateName(v.state)},
                      {"reason", v.reason},
                      {"message", v.message},
                      {"exitCode", v.exit_code},
                      {"ready", v.ready}};
  if (v.started_at_unix_nano) j["startedAtUnixNano"] = *v.started_at_unix_nano;
  if (v.finished_at_unix_nano) j["finishedAtUnixNano"] = *v.finished_at_unix_nano;
  return j;
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ContainerStatus* out) {
  r.String(j, "name", p, &out->name);
  r.String(j, "id", p, &out->id);
  r.String(j, "image", p, &out->image);
  r.String(j, "imageId", p, &out->image_id);
  std::string state;
  r.String(j, "state", p, &state, /*required=*/true);
  if (state == "waiting") {
    out->state = ContainerState::kWaiting;
  } else if (state == "running") {
    out->state = ContainerState::kRunning;
  } else if (state == "terminated") {
    out->state = ContainerState::kTerminated;
  } else if (r.ok()) {
    r.Fail(detail::Reader::Join(p, "state"), "\"" + state + "\" is not one of waiting, running, terminated");
  }
  r.String(j, "reason", p, &out->reason);
  r.String(j, "message", p, &out->message);
  r.Int(j, "exitCode", p, &out->exit_code);
  r.OptInt(j, "startedAtUnixNano", p, &out->started_at_unix_nano);
  r.OptInt(j, "finishedAtUnixNano", p, &out->finished_at_unix_nano);
  r.Bool(j, "ready", p, &out->ready);
}

inline nlohmann::json StatusArray(const std::vector<ContainerStatus>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const ContainerStatus& c : v) a.push_back(ToJson(c));
  return a;
}

inline nlohmann::json ToJson(const PodRunStatus& v) {
  return {{"containers", StatusArray(v.containers)}, {"recheckAfterMs", v.recheck_after_ms}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, PodRunStatus* out) {
  r.Array(j, "containers", p, &out->containers,
          [&r](const nlohmann::json& e, const std::string& ep, ContainerStatus* o) { FromJson(e, ep, r, o); });
  r.Int(j, "recheckAfterMs", p, &out->recheck_after_ms);
}

inline nlohmann::json ToJson(const WaitResult& v) {
  return {{"exited", v.exited}, {"containers", StatusArray(v.containers)}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, WaitResult* out) {
  r.Bool(j, "exited", p, &out->exited);
  r.Array(j, "containers", p, &out->containers,
          [&r](const nlohmann::json& e, const std::string& ep, ContainerStatus* o) { FromJson(e, ep, r, o); });
}

inline nlohmann::json ToJson(const ListRequest& v) { return {{"labelSelector", v.label_selector}}; }
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ListRequest* out) {
  r.StringMap(j, "labelSelector", p, &out->label_selector);
}

inline nlohmann::json ToJson(const PodRunList& v) {
  nlohmann::json items = nlohmann::json::array();
  for (const PodRunHandle& h : v.items) items.push_back(ToJson(h));
  return {{"items", items}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, PodRunList* out) {
  r.Array(j, "items", p, &out->items,
          [&r](const nlohmann::json& e, const std::string& ep, PodRunHandle* o) { FromJson(e, ep, r, o); });
}

inline nlohmann::json ToJson(const LogsRequest& v) {
  return {{"handle", ToJson(v.handle)}, {"container", v.container}, {"follow", v.follow}, {"tailLines", v.tail_lines}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, LogsRequest* out) {
  ReadHandle(j, p, r, &out->handle);
  r.String(j, "container", p, &out->container, /*required=*/true);
  r.Bool(j, "follow", p, &out->follow);
  r.Int(j, "tailLines", p, &out->tail_lines);
  if (r.ok() && out->tail_lines < -1) r.Fail(detail::Reader::Join(p, "tailLines"), "must be >= -1");
}

inline nlohmann::json ToJson(const ExecRequest& v) {
  return {
      {"handle", ToJson(v.handle)}, {"container", v.container}, {"command", v.command}, {"timeoutMs", v.timeout_ms}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ExecRequest* out) {
  ReadHandle(j, p, r, &out->handle);
  r.String(j, "container", p, &out->container, /*required=*/true);
  r.Strings(j, "command", p, &out->command);
  if (r.ok() && out->command.empty()) r.Fail(detail::Reader::Join(p, "command"), "must not be empty");
  r.Int(j, "timeoutMs", p, &out->timeout_ms);
  if (r.ok() && (out->timeout_ms < 0 || out->timeout_ms > kMaxDurationMs)) {
    r.Fail(detail::Reader::Join(p, "timeoutMs"), "must be in 0.." + std::to_string(kMaxDurationMs));
  }
}

inline nlohmann::json ToJson(const ExecResult& v) {
  return {{"exitCode", v.exit_code}, {"stdout", v.out}, {"stderr", v.err}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ExecResult* out) {
  r.Int(j, "exitCode", p, &out->exit_code);
  r.String(j, "stdout", p, &out->out);
  r.String(j, "stderr", p, &out->err);
}

inline nlohmann::json ToJson(const ImageList& v) {
  nlohmann::json images = nlohmann::json::array();
  for (const Image& i : v.images) {
    nlohmann::json image = {{"id", i.id}, {"tags", i.tags}, {"sizeBytes", i.size_bytes}};
    if (!i.digests.empty()) image["digests"] = i.digests;
    if (i.created_unix_nano) image["createdUnixNano"] = *i.created_unix_nano;
    if (i.pinned) image["pinned"] = true;
    images.push_back(std::move(image));
  }
  return {{"images", images}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ImageList* out) {
  r.Array(j, "images", p, &out->images, [&r](const nlohmann::json& e, const std::string& ep, Image* o) {
    r.String(e, "id", ep, &o->id, /*required=*/true);
    r.Strings(e, "tags", ep, &o->tags);
    r.Int(e, "sizeBytes", ep, &o->size_bytes);
    r.Strings(e, "digests", ep, &o->digests);
    r.OptInt(e, "createdUnixNano", ep, &o->created_unix_nano);
    r.Bool(e, "pinned", ep, &o->pinned);
  });
}

inline nlohmann::json ToJson(const ImageFsInfo& v) {
  nlohmann::json j = {{"capacityBytes", v.capacity_bytes}, {"availableBytes", v.available_bytes}};
  if (v.used_bytes) j["usedBytes"] = *v.used_bytes;
  if (!v.path.empty()) j["path"] = v.path;
  return j;
}
// Both sizes are required and consistent (0 < available <= capacity would be too strict: a full
// disk has 0 available), so that a host never divides by zero nor sees more free than there is.
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ImageFsInfo* out) {
  if (detail::Reader::Get(j, "capacityBytes") == nullptr) r.Fail(detail::Reader::Join(p, "capacityBytes"), "required");
  if (detail::Reader::Get(j, "availableBytes") == nullptr) {
    r.Fail(detail::Reader::Join(p, "availableBytes"), "required");
  }
  r.Int(j, "capacityBytes", p, &out->capacity_bytes);
  r.Int(j, "availableBytes", p, &out->available_bytes);
  r.OptInt(j, "usedBytes", p, &out->used_bytes);
  r.String(j, "path", p, &out->path);
  if (!r.ok()) return;
  if (out->capacity_bytes <= 0) r.Fail(detail::Reader::Join(p, "capacityBytes"), "must be positive");
  if (out->available_bytes < 0 || out->available_bytes > out->capacity_bytes) {
    r.Fail(detail::Reader::Join(p, "availableBytes"), "must be in 0..capacityBytes");
  }
  if (out->used_bytes && *out->used_bytes < 0) r.Fail(detail::Reader::Join(p, "usedBytes"), "must not be negative");
}

inline nlohmann::json ToJson(const RemoveImageRequest& v) { return {{"image", v.image}}; }
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, RemoveImageRequest* out) {
  r.String(j, "image", p, &out->image, /*required=*/true);
}

inline nlohmann::json ToJson(const ContainerExited& v) {
  return {{"handleId", v.handle_id}, {"podUid", v.pod_uid}, {"container", ToJson(v.container)}};
}
inline void FromJson(const nlohmann::json& j, const std::string& p, detail::Reader& r, ContainerExited* out) {
  r.String(j, "handleId", p, &out->handle_id, /*required=*/true);
  r.String(j, "podUid", p, &out->pod_uid);
  if (const nlohmann::json* c = r.Object(j, "container", p, /*required=*/true)) {
    FromJson(*c, detail::Reader::Join(p, "container"), r, &out->container);
  }
}

// ---- Whole documents -------------------------------------------------------------------------------

// The document text of `v`, with apiVersion and kind.
template <typename T>
std::string Encode(const T& v) {
  nlohmann::json j = ToJson(v);
  j["apiVersion"] = kApiVersion;
  j["kind"] = T::kKind;
  return detail::Dump(j);
}

// Decodes an already parsed document of kind T::kKind. On failure returns false and sets *error.
template <typename T>
bool DecodeJson(const nlohmann::json& j, T* out, std::string* error) {
  if (!j.is_object()) {
    *error = std::string(T::kKind) + ": not a JSON object";
    return false;
  }
  detail::Reader r;
  const nlohmann::json* api = detail::Reader::Get(j, "apiVersion");
  const nlohmann::json* kind = detail::Reader::Get(j, "kind");
  if (api == nullptr || !api->is_string() || api->get<std::string>() != kApiVersion) {
    r.Fail("apiVersion", std::string("must be \"") + kApiVersion + "\"" +
                             (api != nullptr ? " (got " + detail::Dump(*api) + ")" : ""));
  } else if (kind == nullptr || !kind->is_string() || kind->get<std::string>() != T::kKind) {
    r.Fail("kind",
           std::string("must be \"") + T::kKind + "\"" + (kind != nullptr ? " (got " + detail::Dump(*kind) + ")" : ""));
  } else {
    FromJson(j, "", r, out);
  }
  if (!r.ok()) *error = std::string(T::kKind) + ": " + r.error();
  return r.ok();
}

// Parses and decodes document text (NULL reads as an empty text, which is not JSON).
template <typename T>
bool Decode(const char* text, T* out, std::string* error) {
  nlohmann::json j = nlohmann::json::parse(text != nullptr ? text : "", nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    *error = std::string(T::kKind) + ": not valid JSON";
    return false;
  }
  return DecodeJson(j, out, error);
}

// The name of a capstan code ("NOT_FOUND"); "PLUGIN_ERROR" from CAPSTAN_ERR_PLUGIN_BASE on, and
// "UNKNOWN" for an unassigned reserved code.
inline const char* CodeName(int32_t code) {
  switch (code) {
    case CAPSTAN_OK: return "OK";
    case CAPSTAN_ERR_NOT_FOUND: return "NOT_FOUND";
    case CAPSTAN_ERR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case CAPSTAN_ERR_INVALID_CONFIG: return "INVALID_CONFIG";
    case CAPSTAN_ERR_UNSUPPORTED: return "UNSUPPORTED";
    case CAPSTAN_ERR_RETRY_LATER: return "RETRY_LATER";
    case CAPSTAN_ERR_UNAVAILABLE: return "UNAVAILABLE";
    case CAPSTAN_ERR_ALREADY_EXISTS: return "ALREADY_EXISTS";
    case CAPSTAN_ERR_CONFLICT: return "CONFLICT";
    case CAPSTAN_ERR_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case CAPSTAN_ERR_TIMEOUT: return "TIMEOUT";
    case CAPSTAN_ERR_INTERNAL: return "INTERNAL";
    case CAPSTAN_ERR_ABI_MISMATCH: return "ABI_MISMATCH";
    default: return code >= CAPSTAN_ERR_PLUGIN_BASE ? "PLUGIN_ERROR" : "UNKNOWN";
  }
}

}  // namespace capstan::sdk
