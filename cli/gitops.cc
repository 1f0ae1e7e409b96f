// capstan gitops status | reconcile | bootstrap: the GitOps objects (docs/gitops.md) from the
// command line, as `flux get`, `flux reconcile` and `flux bootstrap` (minus the repository
// writes) do.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/session.h"
#include "cli/verbs.h"
#include "client/event_recorder.h"
#include "client/json_fields.h"

namespace capstan::cli {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;

constexpr char kBase[] = "/apis/gitops.capstan.io/v1alpha1/namespaces/";
constexpr char kRequestedAt[] = "gitops.capstan.io/requestedAt";

constexpr const char* kUsage =
    "Manage GitOps: GitRepositories and the Syncs that apply them.\n\n"
    "Usage:\n"
    "  capstan gitops status [-A]                   Repositories and syncs: revision, ready, message.\n"
    "  capstan gitops reconcile sync/NAME|gitrepository/NAME [--timeout 2m]\n"
    "                                               Fetch and apply now, and wait for the result.\n"
    "  capstan gitops bootstrap --url URL --path PATH [--branch B] [--name N] [--interval 1m]\n"
    "                                               Create a GitRepository and a Sync of PATH in it.\n\n"
    "Flags:\n";

json Ready(const json& obj) {
  for (const json& c : Field(Field(obj, "status"), "conditions")) {
    if (StringField(c, "type") == "Ready") return c;
  }
  return json::object();
}

int PrintStatus(Session& session, bool all_namespaces) {
  std::string prefix = all_namespaces ? "/apis/gitops.capstan.io/v1alpha1/" : kBase + session.namespace_name + "/";
  Result<json> repos = session.client->Get(prefix + "gitrepositories");
  Result<json> syncs = session.client->Get(prefix + "syncs");
  if (!repos.ok() || !syncs.ok()) {
    PrintError(!repos.ok() ? repos.status() : syncs.status());
    return 1;
  }
  std::printf("%-28s %-42s %-6s %s\n", "GITREPOSITORY", "REVISION", "READY", "MESSAGE");
  for (const json& r : Field(*repos, "items")) {
    const json& meta = Field(r, "metadata");
    std::string name = (all_namespaces ? StringField(meta, "namespace") + "/" : "") + StringField(meta, "name");
    json ready = Ready(r);
    std::printf("%-28s %-42s %-6s %s\n", name.c_str(), StringField(Field(Field(r, "status"), "artifact"), "revision").c_str(),
                StringField(ready, "status").c_str(), StringField(ready, "message").c_str());
  }
  std::printf("\n%-28s %-42s %-6s %s\n", "SYNC", "REVISION", "READY", "MESSAGE");
  for (const json& s : Field(*syncs, "items")) {
    const json& meta = Field(s, "metadata");
    std::string name = (all_namespaces ? StringField(meta, "namespace") + "/" : "") + StringField(meta, "name");
    json ready = Ready(s);
    std::printf("%-28s %-42s %-6s %s\n", name.c_str(), StringField(Field(s, "status"), "lastAppliedRevision").c_str(),
                StringField(ready, "status").c_str(), StringField(ready, "message").c_str());
  }
  return 0;
}

// Sets the requestedAt annotation and waits until the controller reports having handled it: a
// watch of the object from the patch's resourceVersion (a no-op run takes milliseconds: polling
// would add its own period), polling as a fallback when the watch ends or fails.
Result<json> RequestAndWait(Session& session, const std::string& path, std::chrono::seconds timeout) {
  std::string stamp = client::FormatRfc3339(std::chrono::system_clock::now()) + "-" +
                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  json patch = {{"metadata", {{"annotations", {{kRequestedAt, stamp}}}}}};
  Result<json> patched = session.client->Patch(path, client::PatchType::kMerge, patch);
  if (!patched.ok()) return patched.status();
  auto handled = [&](const json& obj) { return StringField(Field(obj, "status"), "lastHandledReconcileAt") == stamp; };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const size_t slash = path.rfind('/');
  client::Query query{{"watch", "true"},
                      {"fieldSelector", "metadata.name=" + path.substr(slash + 1)},
                      {"resourceVersion", StringField(Field(*patched, "metadata"), "resourceVersion")},
                      {"timeoutSeconds", std::to_string(std::max<int64_t>(1, timeout.count()))}};
  json seen;
  (void)session.client->Watch(path.substr(0, slash), query, [&](const json& event) {
    if (handled(Field(event, "object"))) seen = Field(event, "object");
    return seen.is_null() && std::chrono::steady_clock::now() < deadline;
  }, "", timeout + std::chrono::seconds(1));
  if (!seen.is_null()) return seen;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<json> obj = session.client->Get(path);
    if (!obj.ok()) return obj.status();
    if (handled(*obj)) return obj;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status::Unavailable("timed out after " + std::to_string(timeout.count()) + "s waiting for " + path);
}

int Reconcile(Session& session, const std::string& target, std::chrono::seconds timeout) {
  size_t slash = target.find('/');
  std::string kind = slash == std::string::npos ? "" : target.substr(0, slash);
  std::string name = slash == std::string::npos ? "" : target.substr(slash + 1);
  bool is_sync = kind == "sync" || kind == "syncs" || kind == "ks";
  bool is_repo = kind == "gitrepository" || kind == "gitrepositories" || kind == "gitrepo" || kind == "source";
  if (name.empty() || (!is_sync && !is_repo)) return UsageError("gitops reconcile", "expected sync/NAME or gitrepository/NAME");
  std::string ns_base = kBase + session.namespace_name + "/";
  std::string repo_name = name;
  if (is_sync) {
    Result<json> sync = session.client->Get(ns_base + "syncs/" + name);
    if (!sync.ok()) {
      PrintError(sync.status());
      return 1;
    }
    repo_name = StringField(Field(Field(*sync, "spec"), "sourceRef"), "name");
  }
  // The source first, so the sync sees the newest commit.
  std::printf("► fetching gitrepository/%s\n", repo_name.c_str());
  std::fflush(stdout);
  Result<json> repo = RequestAndWait(session, ns_base + "gitrepositories/" + repo_name, timeout);
  if (!repo.ok()) {
    PrintError(repo.status());
    return 1;
  }
  json ready = Ready(*repo);
  std::printf("%s gitrepository/%s: %s\n", StringField(ready, "status") == "True" ? "✔" : "✗", repo_name.c_str(),
              StringField(ready, "message").c_str());
  if (!is_sync) return StringField(ready, "status") == "True" ? 0 : 1;
  std::printf("► applying sync/%s\n", name.c_str());
  std::fflush(stdout);
  Result<json> sync = RequestAndWait(session, ns_base + "syncs/" + name, timeout);
  if (!sync.ok()) {
    PrintError(sync.status());
    return 1;
  }
  ready = Ready(*sync);
  bool ok = StringField(ready, "status") == "True";
  std::printf("%s sync/%s: %s (%s) at %s\n", ok ? "✔" : "✗", name.c_str(), StringField(ready, "message").c_str(),
              StringField(ready, "reason").c_str(), StringField(Field(*sync, "status"), "lastAttemptedRevision").c_str());
  return ok ? 0 : 1;
}

int Bootstrap(Session& session, const std::string& url, const std::string& path, const std::string& branch,
              const std::string& name, const std::string& interval) {
  std::string ns_base = kBase + session.namespace_name + "/";
  json repo = {{"apiVersion", "gitops.capstan.io/v1alpha1"},
               {"kind", "GitRepository"},
               {"metadata", {{"name", name}}},
               {"spec", {{"url", url}, {"ref", {{"branch", branch}}}, {"interval", interval}}}};
  json sync = {{"apiVersion", "gitops.capstan.io/v1alpha1"},
               {"kind", "Sync"},
               {"metadata", {{"name", name}}},
               {"spec", {{"sourceRef", {{"kind", "GitRepository"}, {"name", name}}}, {"path", path}, {"prune", true},
                         {"interval", interval}}}};
  for (auto [plural, obj] : {std::pair<const char*, json*>{"gitrepositories", &repo}, {"syncs", &sync}}) {
    Result<json> created = session.client->Create(ns_base + plural, *obj);
    if (!created.ok() && created.status().IsAlreadyExists()) {
      created = session.client->Patch(ns_base + plural + "/" + name, client::PatchType::kMerge, json{{"spec", (*obj)["spec"]}});
    }
    if (!created.ok()) {
      PrintError(created.status());
      return 1;
    }
    std::printf("%s/%s configured\n", plural, name.c_str());
  }
  return 0;
}

}  // namespace

int RunGitOps(const GlobalOptions& global, const Args& args) {
  bool all_namespaces = false;
  std::string url, path = "./", branch = "main", name = "capstan-system", interval = "1m", timeout = "2m";
  FlagSet flag_set("capstan gitops");
  flag_set.AddBool("all-namespaces", 'A', &all_namespaces, "status: every namespace.");
  flag_set.AddString("url", 0, &url, "bootstrap: the repository's URL.");
  flag_set.AddString("path", 0, &path, "bootstrap: the directory to apply (default ./).");
  flag_set.AddString("branch", 0, &branch, "bootstrap: the branch to follow (default main).");
  flag_set.AddString("name", 0, &name, "bootstrap: the name of both objects (default capstan-system).");
  flag_set.AddString("interval", 0, &interval, "bootstrap: fetch and sync interval (default 1m).");
  flag_set.AddString("timeout", 0, &timeout, "reconcile: how long to wait, in s or m (default 2m).");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("gitops", parsed.message());
  if (flag_set.help_requested() || positional.empty()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return positional.empty() && !flag_set.help_requested() ? 1 : 0;
  }
  const std::string& command = positional[0];
  if (command != "status" && command != "reconcile" && command != "bootstrap") {
    return UsageError("gitops", "unknown command \"" + command + "\": status, reconcile or bootstrap");
  }
  if (command == "reconcile" && positional.size() != 2) return UsageError("gitops reconcile", "expected sync/NAME");
  if (command == "bootstrap" && url.empty()) return UsageError("gitops bootstrap", "--url is required");
  int seconds = 0;
  try {
    seconds = std::stoi(timeout) * (timeout.ends_with("m") ? 60 : 1);
  } catch (const std::exception&) {
    return UsageError("gitops", "--timeout must be like 90s or 2m");
  }
  Result<std::unique_ptr<Session>> session = OpenSession(global);
  if (!session.ok()) {
    PrintLocalError(session.status().message());
    return 1;
  }
  if (command == "status") return PrintStatus(**session, all_namespaces);
  if (command == "reconcile") return Reconcile(**session, positional[1], std::chrono::seconds(seconds));
  return Bootstrap(**session, url, path, branch, name, interval);
}

}  // namespace capstan::cli
