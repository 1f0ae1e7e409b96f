// capstan rollout: manage the rollout of Deployments as kubectl does — status (waits),
// history, undo, restart, pause, resume. The decisions are kubectl's client-side ones, in
// controller/deployment/rollback.h (undo, history) and cli/rollout_printer.h (the rest).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <thread>

#include "api/selector/selector.h"
#include "cli/resource_args.h"
#include "cli/rollout_printer.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/json_fields.h"
#include "client/list.h"
#include "controller/deployment/rollback.h"
#include "controller/replicaset/object_util.h"

namespace capstan::cli {
namespace {

using client::Field;
using client::MetaString;
using client::ResourceInfo;
using client::StringField;
using controller::deployment::ObjectList;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "Manage the rollout of one or more Deployments.\n\n"
    "Usage:\n"
    "  capstan rollout SUBCOMMAND (TYPE NAME | TYPE/NAME) [flags]\n\n"
    "Subcommands:\n"
    "  status    Show the status of the rollout, waiting until it is done (--watch=false: once)\n"
    "  history   View the rollout history (--revision N: that revision's pod template)\n"
    "  undo      Roll back to the previous revision (--to-revision N: to revision N)\n"
    "  restart   Restart: roll out the same template again with a kubectl.kubernetes.io/restartedAt annotation\n"
    "  pause     Mark as paused: template changes are not rolled out until resumed\n"
    "  resume    Resume a paused Deployment\n\n"
    "Examples:\n"
    "  capstan rollout status deployment/web --timeout 5m\n"
    "  capstan rollout history deploy/web --revision 2\n"
    "  capstan rollout undo deployment web --to-revision 1\n"
    "  capstan rollout restart deployment/web\n\n"
    "Use \"capstan rollout SUBCOMMAND --help\" for the flags of a subcommand.\n";

struct Subcommand {
  const char* name;
  const char* summary;
  const char* usage;
};

constexpr Subcommand kSubcommands[] = {
    {"status", "Show the status of the rollout.",
     "  capstan rollout status (TYPE NAME | TYPE/NAME) [--watch=false] [--timeout 5m] [--revision N]\n\n"
     "Waits until the rollout is done (exit 0), its progress deadline is exceeded (exit 1) or the\n"
     "--timeout passes (exit 1). --watch=false prints the status once.\n"},
    {"history", "View rollout history.", "  capstan rollout history (TYPE NAME | TYPE/NAME) [--revision N]\n"},
    {"undo", "Undo a previous rollout.", "  capstan rollout undo (TYPE NAME | TYPE/NAME) [--to-revision N]\n"},
    {"restart", "Restart a resource.", "  capstan rollout restart (TYPE NAME | TYPE/NAME)\n"},
    {"pause", "Mark the provided resource as paused.", "  capstan rollout pause (TYPE NAME | TYPE/NAME)\n"},
    {"resume", "Resume a paused resource.", "  capstan rollout resume (TYPE NAME | TYPE/NAME)\n"},
};

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// The Deployments named on the command line, in the session's namespace.
struct Deployments {
  ResourceInfo resource;
  std::string namespace_name;
  std::vector<std::string> names;
  std::string Display(const std::string& name) const { return resource.DisplayKind() + "/" + name; }
  std::string Path(const std::string& name) const { return client::ObjectPath(resource, namespace_name, name); }
};

// Resolves "deployment/web", "deployment web", "deploy/web". Prints the error and returns
// std::nullopt when the arguments do not name Deployments.
std::optional<Deployments> ResolveDeployments(Session& session, const std::string& sub,
                                              const std::vector<std::string>& positional) {
  Result<std::vector<ResourceTarget>> targets = ResolveTargets(session, positional);
  if (!targets.ok()) {
    PrintTargetError(targets.status());
    return std::nullopt;
  }
  if (targets->size() != 1) {
    PrintLocalError("rollout " + sub + " takes one resource type");
    return std::nullopt;
  }
  ResourceTarget& target = targets->front();
  if (target.resource.group != "apps" || target.resource.kind != "Deployment") {
    PrintLocalError("rollout " + sub + " is only supported for deployments, not " + target.resource.DisplayResource());
    return std::nullopt;
  }
  if (target.names.empty()) {
    PrintLocalError("you must specify the name of the deployment: capstan rollout " + sub + " deployment/NAME");
    return std::nullopt;
  }
  return Deployments{target.resource, session.namespace_name, target.names};
}

// The ReplicaSets the Deployment controls (found by its selector, kept by controller reference).
Result<ObjectList> ReplicaSetsOf(Session& session, const std::string& namespace_name, const json& deployment) {
  Result<ResourceInfo> replicasets = session.discovery->Resolve("replicasets.apps");
  if (!replicasets.ok()) return replicasets.status();
  Result<api::LabelSelector> selector = api::LabelSelector::FromObject(Field(Field(deployment, "spec"), "selector"));
  if (!selector.ok()) return selector.status();
  client::ListOptions options;
  options.label_selector = selector->ToString();
  Result<json> list =
      client::ListAll(*session.client, *replicasets, client::CollectionPath(*replicasets, namespace_name), options);
  if (!list.ok()) return list.status();
  std::string uid = MetaString(deployment, "uid");
  ObjectList out;
  for (const json& item : Field(*list, "items")) {
    if (!uid.empty() && !controller::replicaset::IsControlledBy(item, uid)) continue;
    out.push_back(std::make_shared<const json>(item));
  }
  return out;
}

// ---- status -----------------------------------------------------------------------------------

struct StatusWatch {
  Session& session;
  const Deployments& target;
  std::string name;
  bool watch = true;
  int64_t revision = 0;
  std::optional<Clock::time_point> deadline;  // none: wait for ever
  std::string last_message;

  // The exit code once the rollout is decided (or looked at once, without --watch).
  std::optional<int> Show(const json& deployment) {
    Result<RolloutStatus> status = DeploymentRolloutStatus(deployment, revision);
    if (!status.ok()) {
      PrintLocalError(status.status().message());
      return 1;
    }
    // Every change of the object is an event; print a line when what it says changes.
    if (status->message != last_message) Print(status->message);
    last_message = status->message;
    if (status->done || !watch) return 0;
    return std::nullopt;
  }

  bool Expired() const { return deadline && Clock::now() >= *deadline; }

  int TimedOut() const {
    PrintLocalError("timed out waiting for the condition");
    return 1;
  }

  // Get, then watch from there; again after an expired watch or a lost connection.
  int Run() {
    const std::string collection = client::CollectionPath(target.resource, target.namespace_name);
    for (;;) {
      Result<json> deployment = session.client->Get(target.Path(name));
      if (!deployment.ok()) {
        if (IsServerAnswer(deployment.status()) || !deadline) {
          PrintError(deployment.status());
          return 1;
        }
        if (Expired()) return TimedOut();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      if (std::optional<int> code = Show(*deployment)) return *code;
      std::string resource_version = MetaString(*deployment, "resourceVersion");
      std::optional<int> code = WatchFrom(collection, &resource_version);
      if (code) return *code;
      if (Expired()) return TimedOut();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // Watches until decided (an exit code) or the watch must start over from a fresh Get (nullopt).
  std::optional<int> WatchFrom(const std::string& collection, std::string* resource_version) {
    for (;;) {
      if (Expired()) return TimedOut();
      client::Query query{{"watch", "true"},
                          {"fieldSelector", "metadata.name=" + name},
                          {"allowWatchBookmarks", "true"},
                          {"resourceVersion", *resource_version}};
      std::chrono::milliseconds idle = std::chrono::hours(24);
      if (deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
        // The server ends the watch at the deadline; the idle limit is the backstop.
        query.emplace_back("timeoutSeconds", std::to_string(std::max<int64_t>(1, (left.count() + 999) / 1000)));
        idle = left + std::chrono::milliseconds(500);
      }
      std::optional<int> code;
      Status status = session.client->Watch(
          collection, query,
          [&](const json& event) {
            const json& object = Field(event, "object");
            std::string rv = MetaString(object, "resourceVersion");
            if (!rv.empty()) *resource_version = rv;
            std::string type = StringField(event, "type");
            if (type == "DELETED") {
              PrintLocalError("object has been deleted");
              code = 1;
            } else if (type == "ADDED" || type == "MODIFIED") {
              code = Show(object);
            }
            return !code && !Expired();
          },
          "", idle);
      if (code) return code;
      if (Expired()) return TimedOut();
      if (!status.ok()) {
        if (status.code() == Code::kExpired || !IsServerAnswer(status)) return std::nullopt;  // Get again
        PrintError(status);
        return 1;
      }
      // The server ended the watch (its timeout): go on from where it was.
    }
  }
};

int RunStatus(Session& session, const Deployments& target, bool watch, int64_t revision,
              std::chrono::milliseconds timeout) {
  if (target.names.size() != 1) {
    PrintLocalError("rollout status is only supported on individual resources - " +
                    std::to_string(target.names.size()) + " resources were found");
    return 1;
  }
  StatusWatch status_watch{session, target, target.names.front(), watch, revision, std::nullopt, ""};
  if (timeout.count() > 0) status_watch.deadline = Clock::now() + timeout;
  return status_watch.Run();
}

// ---- history, undo ----------------------------------------------------------------------------

// A Deployment and the ReplicaSets it controls: what history and undo read.
Status LoadWithReplicaSets(Session& session, const Deployments& target, const std::string& name, json* deployment,
                           ObjectList* replicasets) {
  Result<json> got = session.client->Get(target.Path(name));
  if (!got.ok()) return got.status();
  Result<ObjectList> owned = ReplicaSetsOf(session, target.namespace_name, *got);
  if (!owned.ok()) return owned.status();
  *deployment = std::move(*got);
  *replicasets = std::move(*owned);
  return Status::Ok();
}

int RunHistory(Session& session, const Deployments& target, int64_t revision) {
  int exit_code = 0;
  for (const std::string& name : target.names) {
    json deployment;
    ObjectList replicasets;
    if (Status st = LoadWithReplicaSets(session, target, name, &deployment, &replicasets); !st.ok()) {
      PrintError(st);
      exit_code = 1;
      continue;
    }
    Result<std::string> text =
        FormatRolloutHistory(target.Display(name), controller::deployment::RevisionHistory(replicasets), revision);
    if (!text.ok()) {
      PrintLocalError(text.status().message());
      exit_code = 1;
      continue;
    }
    Print(*text);
  }
  return exit_code;
}

// rollback.h words its refusals for kubectl users; ours type capstan.
std::string ForCapstan(std::string message) {
  const std::string from = "'kubectl rollout";
  if (size_t at = message.find(from); at != std::string::npos) message.replace(at, from.size(), "'capstan rollout");
  return message;
}

int RunUndo(Session& session, const Deployments& target, int64_t to_revision) {
  int exit_code = 0;
  for (const std::string& name : target.names) {
    json deployment;
    ObjectList replicasets;
    if (Status st = LoadWithReplicaSets(session, target, name, &deployment, &replicasets); !st.ok()) {
      PrintError(st);
      exit_code = 1;
      continue;
    }
    Result<controller::deployment::RollbackPlan> plan =
        controller::deployment::PlanRollback(deployment, replicasets, to_revision);
    if (!plan.ok()) {
      PrintLocalError(ForCapstan(plan.status().message()));
      exit_code = 1;
      continue;
    }
    if (!plan->skipped) {
      Result<json> patched = session.client->Patch(target.Path(name), client::PatchType::kJson, plan->JsonPatch());
      if (!patched.ok()) {
        PrintLocalError("failed restoring revision " + std::to_string(plan->revision) + ": " +
                        patched.status().message());
        exit_code = 1;
        continue;
      }
    }
    Print(target.Display(name) + " " + plan->Message() + "\n");
  }
  return exit_code;
}

// ---- restart, pause, resume -------------------------------------------------------------------

// Gets each Deployment, asks `make_patch` for the strategic merge patch (or kubectl's refusal)
// and sends it; prints "deployment.apps/web <done>".
template <typename MakePatch>
int PatchEach(Session& session, const Deployments& target, const std::string& done, MakePatch make_patch) {
  int exit_code = 0;
  for (const std::string& name : target.names) {
    Result<json> deployment = session.client->Get(target.Path(name));
    if (!deployment.ok()) {
      PrintError(deployment.status());
      exit_code = 1;
      continue;
    }
    Result<json> patch = make_patch(*deployment);
    if (!patch.ok()) {
      PrintLocalError(target.resource.DisplayResource() + " \"" + name + "\" " + patch.status().message());
      exit_code = 1;
      continue;
    }
    Result<json> patched = session.client->Patch(target.Path(name), client::PatchType::kStrategic, *patch);
    if (!patched.ok()) {
      PrintLocalError("failed to patch: " + patched.status().message());
      exit_code = 1;
      continue;
    }
    Print(target.Display(name) + " " + done + "\n");
  }
  return exit_code;
}

}  // namespace

int RunRollout(const GlobalOptions& global, const Args& args) {
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    std::printf("%s", kUsage);
    return args.empty() ? 1 : 0;
  }
  const std::string sub = args.front();
  const Subcommand* subcommand = nullptr;
  for (const Subcommand& candidate : kSubcommands) {
    if (sub == candidate.name) subcommand = &candidate;
  }
  if (subcommand == nullptr) {
    std::fprintf(stderr, "error: unknown command \"%s\" for \"capstan rollout\"\nSee 'capstan rollout --help' for usage.\n",
                 sub.c_str());
    return 1;
  }
  const std::string verb = "rollout " + sub;

  bool watch = true;
  std::string timeout_text = "0";
  std::string revision_text = "0";
  std::string to_revision_text = "0";
  FlagSet flag_set("capstan " + verb);
  if (sub == "status") {
    flag_set.AddBool("watch", 'w', &watch, "Watch the status of the rollout until it's done (default true).");
    flag_set.AddString("timeout", 0, &timeout_text, "How long to wait before giving up (\"5m\"; 0, the default: never).");
    flag_set.AddString("revision", 0, &revision_text, "Fail unless the Deployment is at this revision (0: the latest).");
  } else if (sub == "history") {
    flag_set.AddString("revision", 0, &revision_text, "Show the pod template of this revision.");
  } else if (sub == "undo") {
    flag_set.AddString("to-revision", 0, &to_revision_text, "The revision to roll back to (0, the default: the previous one).");
  }
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(Args(args.begin() + 1, args.end()), &positional); !parsed.ok()) {
    return UsageError(verb, parsed.message());
  }
  if (flag_set.help_requested()) {
    std::printf("%s\n\nUsage:\n%s\nFlags:\n%s\n%s", subcommand->summary, subcommand->usage,
                flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  Result<std::chrono::milliseconds> timeout = ParseDuration(timeout_text);
  if (!timeout.ok()) return UsageError(verb, "--timeout: " + timeout.status().message());
  Result<int64_t> revision = ParseIntFlag("revision", revision_text);
  if (!revision.ok()) return UsageError(verb, revision.status().message());
  if (*revision < 0) return UsageError(verb, "revision must be a positive integer: " + revision_text);
  Result<int64_t> to_revision = ParseIntFlag("to-revision", to_revision_text);
  if (!to_revision.ok()) return UsageError(verb, to_revision.status().message());
  if (positional.empty()) return UsageError(verb, "required resource not specified");

  Result<std::unique_ptr<Session>> session_or = OpenSession(global);
  if (!session_or.ok()) {
    PrintLocalError(session_or.status().message());
    return 1;
  }
  Session& session = **session_or;
  std::optional<Deployments> target = ResolveDeployments(session, sub, positional);
  if (!target) return 1;

  if (sub == "status") return RunStatus(session, *target, watch, *revision, *timeout);
  if (sub == "history") return RunHistory(session, *target, *revision);
  if (sub == "undo") return RunUndo(session, *target, *to_revision);
  if (sub == "restart") {
    std::string now = Rfc3339Local(std::time(nullptr));
    return PatchEach(session, *target, "restarted", [&](const json& d) { return RestartPatch(d, now); });
  }
  bool pause = sub == "pause";
  return PatchEach(session, *target, pause ? "paused" : "resumed", [&](const json& d) { return PausePatch(d, pause); });
}

}  // namespace capstan::cli
