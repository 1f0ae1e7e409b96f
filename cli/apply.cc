// capstan apply -f: create or update objects from manifests, kubectl-style (client-side apply
// with the last-applied-configuration annotation; see client/apply.h).
#include <cstdio>
#include <iostream>

#include "cli/session.h"
#include "cli/verbs.h"
#include "client/apply.h"
#include "client/manifest.h"

namespace capstan::cli {
namespace {

constexpr const char* kUsage =
    "Apply a configuration to resources from files, directories or standard input.\n"
    "Objects are created when missing and patched otherwise; fields removed from the manifest since\n"
    "the last apply are removed from the object.\n\n"
    "Usage:\n"
    "  capstan apply -f FILENAME|DIR|- [-R] [flags]\n\n"
    "Examples:\n"
    "  capstan apply -f deploy.yaml\n"
    "  capstan apply -f manifests/ -R -n prod\n"
    "  cat deploy.yaml | capstan apply -f -\n\n"
    "Flags:\n";

}  // namespace

int RunApply(const GlobalOptions& global, const Args& args) {
  std::vector<std::string> filenames;
  bool recursive = false;
  std::string dry_run = "none";
  FlagSet flag_set("capstan apply");
  flag_set.AddStringList("filename", 'f', &filenames, "File, directory (its .yaml, .yml and .json files) or - for stdin.");
  flag_set.AddBool("recursive", 'R', &recursive, "Also read the directories inside the -f directories.");
  flag_set.AddString("dry-run", 0, &dry_run, "\"none\" (default) or \"server\": the server checks everything, stores nothing.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("apply", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (!positional.empty()) return UsageError("apply", "unexpected argument \"" + positional.front() + "\"; use -f FILE");
  if (filenames.empty()) return UsageError("apply", "must specify one of -f or --filename");
  if (dry_run != "none" && dry_run != "server") {
    return UsageError("apply", "--dry-run must be \"none\" or \"server\", not \"" + dry_run + "\"");
  }

  // Every document is read and checked before anything is sent: a typo in the third file must
  // not leave the first two applied.
  Result<std::vector<client::Manifest>> manifests = client::LoadManifests(filenames, recursive, &std::cin);
  if (!manifests.ok()) {
    PrintLocalError(manifests.status().message());
    return 1;
  }
  if (manifests->empty()) {
    PrintLocalError("no objects passed to apply");
    return 1;
  }

  Result<std::unique_ptr<Session>> session_or = OpenSession(global);
  if (!session_or.ok()) {
    PrintLocalError(session_or.status().message());
    return 1;
  }
  Session& session = **session_or;
  client::ApplyOptions options;
  if (session.namespace_explicit) options.explicit_namespace = session.namespace_name;
  options.default_namespace = session.namespace_name;
  options.server_dry_run = dry_run == "server";

  // Kinds the server does not serve, and namespace clashes, are also found before applying.
  std::vector<std::string> display(manifests->size());
  std::vector<nlohmann::json> objects;
  for (size_t i = 0; i < manifests->size(); ++i) {
    const client::Manifest& manifest = (*manifests)[i];
    const nlohmann::json& object = manifest.object;
    Result<client::ResourceInfo> resource =
        session.discovery->ResolveKind(object["apiVersion"].get<std::string>(), object["kind"].get<std::string>());
    if (!resource.ok()) {
      if (resource.status().IsNotFound()) {
        PrintLocalError(manifest.Location() + ": " + resource.status().message() +
                        " (the server does not serve this kind)");
      } else {
        PrintError(resource.status());
      }
      return 1;
    }
    if (Result<nlohmann::json> prepared = client::PrepareDeclared(object, *resource, options); !prepared.ok()) {
      PrintLocalError(manifest.Location() + ": " + prepared.status().message());
      return 1;
    }
    display[i] = resource->DisplayKind() + "/" + object["metadata"]["name"].get<std::string>();
    objects.push_back(object);
  }

  std::vector<std::string> applied;
  std::vector<std::string> failed;
  const char* suffix = options.server_dry_run ? " (server dry run)" : "";
  std::vector<size_t> order = client::ApplyOrder(objects);
  for (size_t position = 0; position < order.size(); ++position) {
    size_t i = order[position];
    const client::Manifest& manifest = (*manifests)[i];
    Result<client::ApplyResult> result = client::ApplyObject(*session.client, *session.discovery, manifest.object, options);
    if (result.ok()) {
      std::printf("%s %s%s\n", result->DisplayName().c_str(), client::ApplyActionName(result->action), suffix);
      std::fflush(stdout);
      applied.push_back(display[i]);
      continue;
    }
    std::fprintf(stderr, "error: %s: document %d (%s): %s\n", manifest.source.c_str(), manifest.document,
                 manifest.Describe().c_str(), result.status().message().c_str());
    failed.push_back(display[i]);
    // The server went away: the remaining objects would fail the same way, one error each.
    if (result.status().code() == Code::kUnavailable && !IsServerAnswer(result.status()) &&
        result.status().message().find("cannot connect") != std::string::npos) {
      for (size_t rest = position + 1; rest < order.size(); ++rest) failed.push_back(display[order[rest]]);
      break;
    }
  }

  if (failed.empty()) return 0;
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
    return out.empty() ? std::string("none") : out;
  };
  std::fprintf(stderr, "error: %zu of %zu objects failed; applied: %s; failed: %s\n", failed.size(), objects.size(),
               join(applied).c_str(), join(failed).c_str());
  return 1;
}

}  // namespace capstan::cli
