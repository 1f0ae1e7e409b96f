// capstan scale: set the replicas of Deployments and ReplicaSets (any kind with a /scale
// subresource) through that subresource, as kubectl does: GET the Scale, check the
// --current-replicas and --resource-version preconditions, PUT it back with the new count
// (retrying when someone else wrote in between, unless --resource-version pins the version).
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/resource_args.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/json_fields.h"

namespace capstan::cli {
namespace {

using client::Field;
using client::MetaString;
using client::ResourceInfo;
using nlohmann::json;

constexpr const char* kUsage =
    "Set a new size for a Deployment or ReplicaSet.\n\n"
    "Usage:\n"
    "  capstan scale TYPE NAME... --replicas=COUNT [--current-replicas=COUNT] [--resource-version=VERSION]\n"
    "  capstan scale TYPE/NAME... --replicas=COUNT [flags]\n\n"
    "With --current-replicas or --resource-version, the size changes only if the current size or\n"
    "resource version is that value.\n\n"
    "Examples:\n"
    "  capstan scale deployment web --replicas 5\n"
    "  capstan scale deploy/web --replicas=3 --current-replicas=5\n"
    "  capstan scale rs web-6d4cf56db6 --replicas 0\n\n"
    "Flags:\n";

constexpr const char* kReplicasRequired =
    "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0";

// How long a scale retries after write conflicts (kubectl: five minutes, every second).
constexpr std::chrono::seconds kConflictRetry{30};

// Whether the server serves RESOURCE/scale (its discovery document lists it). True when the
// document cannot be read: the scale request itself will then say what is wrong.
bool HasScaleSubresource(Session& session, const ResourceInfo& resource) {
  std::string path = resource.group.empty() ? "/api/" + resource.version
                                            : "/apis/" + resource.group + "/" + resource.version;
  Result<json> document = session.client->Get(path);
  if (!document.ok()) return true;
  const json& resources = Field(*document, "resources");
  if (!resources.is_array()) return true;
  for (const json& entry : resources) {
    if (client::StringField(entry, "name") == resource.plural + "/scale") return true;
  }
  return false;
}

struct Preconditions {
  int64_t current_replicas = -1;  // -1: not checked
  std::string resource_version;   // empty: not checked
};

// kubectl's PreconditionError text, or OK.
Status CheckPreconditions(const Preconditions& preconditions, const json& scale) {
  int64_t replicas = client::IntField(Field(scale, "spec"), "replicas");
  if (preconditions.current_replicas != -1 && replicas != preconditions.current_replicas) {
    return Status::Conflict("Expected replicas to be " + std::to_string(preconditions.current_replicas) + ", was " +
                            std::to_string(replicas));
  }
  std::string rv = MetaString(scale, "resourceVersion");
  if (!preconditions.resource_version.empty() && rv != preconditions.resource_version) {
    return Status::Conflict("Expected resource version to be " + preconditions.resource_version + ", was " + rv);
  }
  return Status::Ok();
}

// Scales one object; prints the outcome. Returns the exit code.
int ScaleOne(Session& session, const ResourceInfo& resource, const std::string& name, int64_t replicas,
             const Preconditions& preconditions) {
  const std::string path = client::ObjectPath(resource, session.namespace_name, name) + "/scale";
  auto give_up = std::chrono::steady_clock::now() + kConflictRetry;
  for (;;) {
    Result<json> scale = session.client->Get(path);
    if (!scale.ok()) {
      PrintError(scale.status());
      return 1;
    }
    if (Status checked = CheckPreconditions(preconditions, *scale); !checked.ok()) {
      PrintLocalError(checked.message());
      return 1;
    }
    json desired = *scale;
    desired["spec"]["replicas"] = replicas;  // metadata.resourceVersion stays: the server checks it
    Result<json> updated = session.client->Update(path, desired);
    if (updated.ok()) break;
    bool retry = updated.status().IsConflict() && preconditions.resource_version.empty() &&
                 std::chrono::steady_clock::now() < give_up;
    if (!retry) {
      PrintError(updated.status());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::printf("%s/%s scaled\n", resource.DisplayKind().c_str(), name.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int RunScale(const GlobalOptions& global, const Args& args) {
  std::string replicas_text;
  std::string current_text = "-1";
  Preconditions preconditions;
  FlagSet flag_set("capstan scale");
  flag_set.AddString("replicas", 0, &replicas_text, "The new desired number of replicas. Required.");
  flag_set.AddString("current-replicas", 0, &current_text,
                     "Precondition: scale only if the current size is this (-1, the default: no condition).");
  flag_set.AddString("resource-version", 0, &preconditions.resource_version,
                     "Precondition: scale only if the resource version is this.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("scale", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (!flag_set.Seen("replicas")) return UsageError("scale", kReplicasRequired);
  Result<int64_t> replicas = ParseIntFlag("replicas", replicas_text);
  if (!replicas.ok()) return UsageError("scale", replicas.status().message());
  if (*replicas < 0) return UsageError("scale", kReplicasRequired);
  Result<int64_t> current = ParseIntFlag("current-replicas", current_text);
  if (!current.ok()) return UsageError("scale", current.status().message());
  if (*current < -1) return UsageError("scale", "The --current-replicas must specify an integer of -1 or greater");
  preconditions.current_replicas = *current;
  if (positional.empty()) {
    return UsageError("scale", "you must specify the resource to scale: capstan scale TYPE NAME --replicas=COUNT");
  }

  Result<std::unique_ptr<Session>> session_or = OpenSession(global);
  if (!session_or.ok()) {
    PrintLocalError(session_or.status().message());
    return 1;
  }
  Session& session = **session_or;
  Result<std::vector<ResourceTarget>> targets = ResolveTargets(session, positional);
  if (!targets.ok()) {
    PrintTargetError(targets.status());
    return 1;
  }
  for (const ResourceTarget& target : *targets) {
    if (target.names.empty()) {
      std::string kind = client::ToLower(target.resource.kind);
      return UsageError("scale", "you must specify the name of the " + kind + " to scale: capstan scale " + kind +
                                     " NAME --replicas=COUNT");
    }
    if (!HasScaleSubresource(session, target.resource)) {
      PrintLocalError(target.resource.DisplayResource() + " cannot be scaled: the server has no " +
                      target.resource.plural + "/scale subresource");
      return 1;
    }
  }
  int exit_code = 0;
  for (const ResourceTarget& target : *targets) {
    for (const std::string& name : target.names) {
      if (ScaleOne(session, target.resource, name, *replicas, preconditions) != 0) exit_code = 1;
    }
  }
  return exit_code;
}

}  // namespace capstan::cli
