// capstan delete: delete objects named on the command line, selected by labels, or declared in
// manifests; by default waits until they are gone (finalizers and foreground deletion done).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/resource_args.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/json_fields.h"
#include "client/list.h"
#include "client/manifest.h"

namespace capstan::cli {
namespace {

using client::MetaString;
using client::ResourceInfo;
using nlohmann::json;

constexpr const char* kUsage =
    "Delete resources by file names, stdin, resources and names, or by resources and label selector.\n\n"
    "Usage:\n"
    "  capstan delete -f FILENAME|DIR|- [-R] [flags]\n"
    "  capstan delete TYPE NAME... [flags]\n"
    "  capstan delete TYPE/NAME... [flags]\n"
    "  capstan delete TYPE (-l SELECTOR | --all) [flags]\n\n"
    "Examples:\n"
    "  capstan delete deploy web\n"
    "  capstan delete pods -l app=web --wait=false\n"
    "  capstan delete -f manifests/ -R --cascade=foreground\n\n"
    "Flags:\n";

struct Victim {
  ResourceInfo resource;
  std::string namespace_name;
  std::string name;
};

struct Deleted {
  Victim victim;
  std::string uid;  // of the object the server is deleting; empty: already gone
};

Result<std::string> PropagationPolicy(const std::string& cascade) {
  if (cascade == "background" || cascade == "true") return std::string("Background");
  if (cascade == "foreground") return std::string("Foreground");
  if (cascade == "orphan" || cascade == "false") return std::string("Orphan");
  return Status::BadRequest("invalid --cascade \"" + cascade + "\": must be background, foreground or orphan");
}

// Polls until every object is gone (404, or replaced by a new one with another uid).
bool WaitForDeletion(Session& session, const std::vector<Deleted>& deleted, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool all_gone = true;
  for (const Deleted& item : deleted) {
    if (item.uid.empty()) continue;
    const Victim& v = item.victim;
    for (;;) {
      Result<json> object = session.client->Get(client::ObjectPath(v.resource, v.namespace_name, v.name));
      if (!object.ok() && object.status().IsNotFound()) break;
      if (object.ok() && MetaString(*object, "uid") != item.uid) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        std::fprintf(stderr, "error: timed out waiting for the deletion of %s/%s\n", v.resource.DisplayResource().c_str(),
                     v.name.c_str());
        all_gone = false;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return all_gone;
}

}  // namespace

int RunDelete(const GlobalOptions& global, const Args& args) {
  std::vector<std::string> filenames;
  bool recursive = false;
  bool ignore_not_found = false;
  bool all = false;
  bool wait = true;
  std::string selector;
  std::string cascade = "background";
  std::string timeout_text = "60s";
  std::string grace_text = "-1";
  bool force = false;
  FlagSet flag_set("capstan delete");
  flag_set.AddStringList("filename", 'f', &filenames, "File, directory or - whose objects to delete.");
  flag_set.AddBool("recursive", 'R', &recursive, "Also read the directories inside the -f directories.");
  flag_set.AddString("selector", 'l', &selector, "Delete the objects of TYPE matching this label selector.");
  flag_set.AddBool("all", 0, &all, "Delete every object of TYPE in the namespace.");
  flag_set.AddBool("ignore-not-found", 0, &ignore_not_found, "Treat \"not found\" as a successful delete.");
  flag_set.AddString("cascade", 0, &cascade, "Dependents: background (default), foreground or orphan.");
  flag_set.AddBool("wait", 0, &wait, "Wait until the objects are gone (default true).");
  flag_set.AddString("timeout", 0, &timeout_text, "How long --wait waits (default 60s).");
  flag_set.AddString("grace-period", 0, &grace_text,
                     "Seconds a Pod's containers get to stop (-1, the default: the Pod's own "
                     "terminationGracePeriodSeconds; 0 means 1 unless --force).");
  flag_set.AddBool("force", 0, &force, "Remove Pods at once (grace 0), without waiting for their node to stop them.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("delete", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  Result<std::string> policy = PropagationPolicy(cascade);
  if (!policy.ok()) return UsageError("delete", policy.status().message());
  Result<int64_t> grace_or = ParseIntFlag("grace-period", grace_text);
  if (!grace_or.ok()) return UsageError("delete", grace_or.status().message());
  int64_t grace = *grace_or;
  if (grace < -1) return UsageError("delete", "--grace-period must be -1 or greater, not " + grace_text);
  // As kubectl: --force removes at once (grace 0); grace 0 without it means "as soon as possible"
  // (1 s), never a silent force.
  if (force && grace <= 0) grace = 0;
  else if (grace == 0) grace = 1;
  Result<std::chrono::milliseconds> timeout = ParseDuration(timeout_text);
  if (!timeout.ok()) return UsageError("delete", "--timeout: " + timeout.status().message());
  if (filenames.empty() && positional.empty()) {
    return UsageError("delete", "you must provide one or more resources by argument or filename");
  }
  if (!filenames.empty() && !positional.empty()) {
    return UsageError("delete", "give either -f or resource arguments, not both");
  }

  std::vector<client::Manifest> manifests;
  if (!filenames.empty()) {
    Result<std::vector<client::Manifest>> loaded = client::LoadManifests(filenames, recursive, &std::cin);
    if (!loaded.ok()) {
      PrintLocalError(loaded.status().message());
      return 1;
    }
    manifests = std::move(*loaded);
  }

  Result<std::unique_ptr<Session>> session_or = OpenSession(global);
  if (!session_or.ok()) {
    PrintLocalError(session_or.status().message());
    return 1;
  }
  Session& session = **session_or;
  int exit_code = 0;

  std::vector<Victim> victims;
  for (const client::Manifest& manifest : manifests) {
    Result<ResourceInfo> resource = session.discovery->ResolveKind(manifest.object["apiVersion"].get<std::string>(),
                                                                   manifest.object["kind"].get<std::string>());
    if (!resource.ok()) {
      PrintLocalError(manifest.Location() + ": " + resource.status().message());
      exit_code = 1;
      continue;
    }
    std::string ns = MetaString(manifest.object, "namespace");
    if (ns.empty()) ns = session.namespace_name;
    victims.push_back({*resource, resource->namespaced ? ns : "", MetaString(manifest.object, "name")});
  }
  if (!positional.empty()) {
    Result<std::vector<ResourceTarget>> targets = ResolveTargets(session, positional);
    if (!targets.ok()) {
      PrintTargetError(targets.status());
      return 1;
    }
    for (const ResourceTarget& target : *targets) {
      std::string ns = target.resource.namespaced ? session.namespace_name : "";
      if (!target.names.empty()) {
        if (!selector.empty() || all) return UsageError("delete", "names cannot be combined with -l or --all");
        for (const std::string& name : target.names) victims.push_back({target.resource, ns, name});
        continue;
      }
      if (selector.empty() && !all) {
        return UsageError("delete", "resource(s) were provided, but no name was specified; use -l SELECTOR or --all");
      }
      client::ListOptions list_options;
      list_options.label_selector = selector;
      Result<json> list = client::ListAll(*session.client, target.resource, client::CollectionPath(target.resource, ns),
                                          list_options);
      if (!list.ok()) {
        PrintError(list.status());
        return 1;
      }
      for (const json& item : client::Field(*list, "items")) {
        victims.push_back({target.resource, ns, MetaString(item, "name")});
      }
    }
    if (victims.empty() && exit_code == 0) {
      std::fprintf(stderr, "No resources found\n");
      return 0;
    }
  }

  json delete_options = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"propagationPolicy", *policy}};
  if (grace >= 0) delete_options["gracePeriodSeconds"] = grace;
  std::vector<Deleted> deleted;
  for (const Victim& victim : victims) {
    Result<json> answer =
        session.client->Delete(client::ObjectPath(victim.resource, victim.namespace_name, victim.name), delete_options);
    if (!answer.ok()) {
      if (answer.status().IsNotFound() && ignore_not_found) continue;
      PrintError(answer.status());
      exit_code = 1;
      continue;
    }
    std::printf("%s \"%s\" deleted\n", victim.resource.DisplayKind().c_str(), victim.name.c_str());
    std::fflush(stdout);
    // The answer is the object (still being deleted: finalizers, foreground) or a Status.
    std::string uid = client::StringField(*answer, "kind") == "Status" ? "" : MetaString(*answer, "uid");
    deleted.push_back({victim, uid});
  }
  if (wait && !WaitForDeletion(session, deleted, *timeout)) exit_code = 1;
  return exit_code;
}

}  // namespace capstan::cli
