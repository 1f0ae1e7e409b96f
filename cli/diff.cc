// capstan diff -f FILE|DIR: what `capstan apply` would change, as kubectl diff shows it. Each
// object is applied with dryRun=All (the same three-way merge as apply, client/apply.h), the live
// and the would-be objects are written as YAML into two temporary directories and compared with
// `diff -u -N` (kubectl's default too). Exit 0: no differences; 1: differences; >1: an error.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "base/yaml.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/apply.h"
#include "client/manifest.h"

namespace capstan::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage =
    "Diff the live objects against what applying the files would make of them (server-side dry run).\n"
    "Exit status: 0 no differences, 1 differences found, >1 an error.\n\n"
    "Usage:\n"
    "  capstan diff -f FILENAME|DIR|- [-R] [flags]\n\n"
    "Flags:\n";

// What a diff should not show: fields that change on every write and carry no intent.
json ForDiff(json obj) {
  if (!obj.is_object()) return obj;
  if (obj.contains("metadata") && obj["metadata"].is_object()) {
    json& m = obj["metadata"];
    for (const char* f : {"managedFields", "resourceVersion", "generation"}) m.erase(f);
  }
  return obj;
}

}  // namespace

int RunDiff(const GlobalOptions& global, const Args& args) {
  std::vector<std::string> filenames;
  bool recursive = false;
  FlagSet flag_set("capstan diff");
  flag_set.AddStringList("filename", 'f', &filenames, "File, directory (its .yaml, .yml and .json files) or - for stdin.");
  flag_set.AddBool("recursive", 'R', &recursive, "Also read the directories inside the -f directories.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("diff", parsed.message()) + 1;
  if (flag_set.help_requested()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (filenames.empty()) return UsageError("diff", "must specify one of -f or --filename") + 1;
  Result<std::vector<client::Manifest>> manifests = client::LoadManifests(filenames, recursive, &std::cin);
  if (!manifests.ok()) {
    PrintLocalError(manifests.status().message());
    return 2;
  }
  Result<std::unique_ptr<Session>> session_or = OpenSession(global);
  if (!session_or.ok()) {
    PrintLocalError(session_or.status().message());
    return 2;
  }
  Session& session = **session_or;
  client::ApplyOptions options;
  if (session.namespace_explicit) options.explicit_namespace = session.namespace_name;
  options.default_namespace = session.namespace_name;
  options.server_dry_run = true;

  char pattern[] = "/tmp/capstan-diff-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    PrintLocalError("cannot create a temporary directory");
    return 2;
  }
  const fs::path root = pattern;
  fs::create_directories(root / "LIVE");
  fs::create_directories(root / "MERGED");
  int status = 0;
  for (const client::Manifest& manifest : *manifests) {
    Result<client::ApplyResult> merged = client::ApplyObject(*session.client, *session.discovery, manifest.object, options);
    if (!merged.ok()) {
      std::fprintf(stderr, "error: %s: %s: %s\n", manifest.Location().c_str(), manifest.Describe().c_str(),
                   merged.status().message().c_str());
      status = 2;
      continue;
    }
    // kubectl's file names: group.version.Kind.namespace.name.
    std::string file = merged->resource.group + (merged->resource.group.empty() ? "" : ".") + merged->resource.version +
                       "." + merged->resource.kind + "." + (merged->namespace_name.empty() ? "" : merged->namespace_name + ".") +
                       merged->name;
    Result<json> live = session.client->Get(client::ObjectPath(merged->resource, merged->namespace_name, merged->name));
    if (live.ok()) std::ofstream(root / "LIVE" / file) << ToYaml(ForDiff(*live));
    std::ofstream(root / "MERGED" / file) << ToYaml(ForDiff(merged->object));
  }
  std::fflush(stdout);
  std::string command = "cd " + root.string() + " && diff -u -N LIVE MERGED";
  int rc = std::system(command.c_str());
  std::error_code ec;
  fs::remove_all(root, ec);
  if (status != 0) return status;
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) > 1) {
    PrintLocalError("running diff -u -N failed (is diffutils installed?)");
    return 2;
  }
  return WEXITSTATUS(rc);
}

}  // namespace capstan::cli
