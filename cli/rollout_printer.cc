#include "cli/rollout_printer.h"

#include <charconv>
#include <cstdio>

#include "cli/printers.h"
#include "client/json_fields.h"
#include "controller/deployment/deployment_sync.h"

namespace capstan::cli {
namespace {

using client::Field;
using client::IntField;
using client::MetaString;
using client::StringField;
using nlohmann::json;

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

bool IsPaused(const json& deployment) { return client::BoolField(Field(deployment, "spec"), "paused"); }

}  // namespace

Result<RolloutStatus> DeploymentRolloutStatus(const json& deployment, int64_t revision) {
  const std::string name = MetaString(deployment, "name");
  if (revision > 0) {
    // deploymentutil.Revision: the annotation, 0 when absent.
    int64_t running = 0;
    const json& annotations = Field(Field(deployment, "metadata"), "annotations");
    std::string text = StringField(annotations, controller::deployment::kRevisionAnnotation);
    if (!text.empty()) {
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), running);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return Status::BadRequest("cannot get the revision of deployment " + Quoted(name) + ": invalid revision " +
                                  Quoted(text));
      }
    }
    if (revision != running) {
      return Status::BadRequest("desired revision (" + std::to_string(revision) +
                                ") is different from the running revision (" + std::to_string(running) + ")");
    }
  }
  const json& spec = Field(deployment, "spec");
  const json& status = Field(deployment, "status");
  int64_t generation = IntField(Field(deployment, "metadata"), "generation");
  if (generation > IntField(status, "observedGeneration")) {
    return RolloutStatus{"Waiting for deployment spec update to be observed...\n", false};
  }
  const json& conditions = Field(status, "conditions");
  if (conditions.is_array()) {
    for (const json& condition : conditions) {
      if (StringField(condition, "type") == "Progressing" &&
          StringField(condition, "reason") == "ProgressDeadlineExceeded") {
        return Status::BadRequest("deployment " + Quoted(name) + " exceeded its progress deadline");
      }
    }
  }
  const std::string waiting = "Waiting for deployment " + Quoted(name) + " rollout to finish: ";
  int64_t updated = IntField(status, "updatedReplicas");
  int64_t replicas = IntField(status, "replicas");
  int64_t available = IntField(status, "availableReplicas");
  const json& wanted = Field(spec, "replicas");
  if (wanted.is_number_integer() && updated < wanted.get<int64_t>()) {
    return RolloutStatus{waiting + std::to_string(updated) + " out of " + std::to_string(wanted.get<int64_t>()) +
                             " new replicas have been updated...\n",
                         false};
  }
  if (replicas > updated) {
    return RolloutStatus{waiting + std::to_string(replicas - updated) + " old replicas are pending termination...\n",
                         false};
  }
  if (available < updated) {
    return RolloutStatus{
        waiting + std::to_string(available) + " of " + std::to_string(updated) + " updated replicas are available...\n",
        false};
  }
  return RolloutStatus{"deployment " + Quoted(name) + " successfully rolled out\n", true};
}

Result<json> PausePatch(const json& deployment, bool pause) {
  if (pause && IsPaused(deployment)) return Status::BadRequest("is already paused");
  if (!pause && !IsPaused(deployment)) return Status::BadRequest("is not paused");
  return json{{"spec", {{"paused", pause}}}};
}

Result<json> RestartPatch(const json& deployment, const std::string& now_rfc3339) {
  if (IsPaused(deployment)) return Status::BadRequest("can't restart paused deployment (run rollout resume first)");
  return json{{"spec", {{"template", {{"metadata", {{"annotations", {{kRestartedAtAnnotation, now_rfc3339}}}}}}}}}};
}

std::string Rfc3339Local(std::time_t t) {
  std::tm local{};
  localtime_r(&t, &local);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &local);
  long offset = local.tm_gmtoff;
  if (offset == 0) return std::string(text) + "Z";
  char zone[48];  // generous: the compiler cannot bound the hours
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  std::snprintf(zone, sizeof zone, "%c%02ld:%02ld", sign, offset / 3600, (offset % 3600) / 60);
  return std::string(text) + zone;
}

Result<std::string> FormatRolloutHistory(const std::string& display,
                                         const std::vector<controller::deployment::RevisionInfo>& history,
                                         int64_t revision) {
  // kubectl's name printer: "<display> <text>\n", where the table text ends in its own newline.
  if (revision <= 0 && history.empty()) return display + " \nNo rollout history found.\n";
  if (revision <= 0) return display + " \n" + controller::deployment::FormatRevisionHistory(history) + "\n";
  for (const auto& info : history) {
    if (info.revision != revision) continue;
    json pod_template = info.pod_template.is_object() ? info.pod_template : json::object();
    if (!info.change_cause.empty()) {
      if (!pod_template["metadata"].is_object()) pod_template["metadata"] = json::object();
      json& annotations = pod_template["metadata"]["annotations"];
      if (!annotations.is_object()) annotations = json::object();
      annotations[controller::deployment::kChangeCauseAnnotation] = info.change_cause;
    }
    std::string out = display + " with revision #" + std::to_string(revision) + "\nPod Template:\n";
    std::string yaml = ToYamlText(pod_template);
    size_t start = 0;
    while (start < yaml.size()) {
      size_t end = yaml.find('\n', start);
      if (end == std::string::npos) end = yaml.size();
      std::string line = yaml.substr(start, end - start);
      out += line.empty() ? "\n" : "  " + line + "\n";
      start = end + 1;
    }
    return out + "\n";
  }
  return Status::NotFound("unable to find the specified revision");
}

}  // namespace capstan::cli
