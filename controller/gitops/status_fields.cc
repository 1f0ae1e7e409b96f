#include "controller/gitops/status_fields.h"

#include "base/duration.h"
#include "client/event_recorder.h"
#include "client/json_fields.h"

namespace capstan::controller::gitops {

using nlohmann::json;
using client::Field;
using client::StringField;

std::string GitOpsObjectPath(const char* plural, const std::string& ns_name) {
  size_t slash = ns_name.find('/');
  return std::string(kGitOpsGroupVersion) + "/namespaces/" + ns_name.substr(0, slash) + "/" + plural + "/" +
         ns_name.substr(slash + 1);
}

std::string NowRfc3339() { return client::FormatRfc3339(std::chrono::system_clock::now()); }

std::chrono::milliseconds DurationField(const json& spec, const char* field, std::chrono::milliseconds fallback) {
  auto d = ParseDuration(StringField(spec, field));
  return d && d->count() > 0 ? *d : fallback;
}

json SetCondition(json conditions, const std::string& type, bool status, const std::string& reason,
                  const std::string& message, int64_t generation) {
  if (!conditions.is_array()) conditions = json::array();
  std::string value = status ? "True" : "False";
  for (json& c : conditions) {
    if (StringField(c, "type") != type) continue;
    if (StringField(c, "status") != value) c["lastTransitionTime"] = NowRfc3339();
    c["status"] = value;
    c["reason"] = reason;
    c["message"] = message;
    c["observedGeneration"] = generation;
    return conditions;
  }
  conditions.push_back({{"type", type}, {"status", value}, {"reason", reason}, {"message", message},
                        {"lastTransitionTime", NowRfc3339()}, {"observedGeneration", generation}});
  return conditions;
}

json RemoveCondition(json conditions, const std::string& type) {
  if (!conditions.is_array()) return json::array();
  json out = json::array();
  for (json& c : conditions) {
    if (StringField(c, "type") != type) out.push_back(std::move(c));
  }
  return out;
}

const json* ReadyCondition(const json& obj) {
  for (const json& c : Field(Field(obj, "status"), "conditions")) {
    if (StringField(c, "type") == "Ready") return &c;
  }
  return nullptr;
}

std::string CommitOf(const std::string& revision) {
  size_t at = revision.rfind("sha1:");
  return at == std::string::npos ? "" : revision.substr(at + 5);
}

std::string AnnotationOf(const json& obj, const char* key) {
  return StringField(Field(Field(obj, "metadata"), "annotations"), key);
}

bool BoolField(const json& spec, const char* field) { return Field(spec, field).is_boolean() && Field(spec, field).get<bool>(); }

}  // namespace capstan::controller::gitops
