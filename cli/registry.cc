// capstan registry: plan and run RegistryCleanupPolicies (docs/registry-cleanup.md).
//
//   plan NAME | -f FILE   scans the registry from this machine and prints what a run would do
//                         (REPOSITORY TAG CREATED SIZE DECISION REASON); changes nothing. The
//                         policy comes from the server (NAME) or a file; the Secrets it names and
//                         the in-use set (Pods, ReplicaSets, Deployments) are read through the API
//                         with the user's credentials, so a file can be tried before it is applied.
//   run NAME              sets the registry.capstan.io/requestedAt annotation, which the
//                         controller answers with one run, and waits for its result.
#include <chrono>
#include <cstdio>
#include <thread>

#include "api/kinds/printing.h"
#include "cli/printers.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/http_api_client.h"
#include "client/manifest.h"
#include "controller/registry/cleanup_run.h"
#include "controller/registry/policy_spec.h"
#include "controller/registry/run_report.h"

namespace capstan::cli {
namespace {

constexpr const char* kUsage =
    "Plan or run a RegistryCleanupPolicy (registry.capstan.io/v1alpha1, short name rcp).\n\n"
    "Usage:\n"
    "  capstan registry plan NAME [-o wide|json]   what a run of policy NAME would remove; changes nothing\n"
    "  capstan registry plan -f FILE              the same for a policy in a file (not applied)\n"
    "  capstan registry run NAME [--wait=false] [--timeout=10m]\n"
    "                                             run policy NAME now (through the controller)\n\n"
    "plan reaches the registry from this machine; Secrets and workloads are read through the API.\n"
    "A tag is kept when any keep rule holds (in-use, tag-regex, newest, newer-than, no created\n"
    "time, child of a kept index); every other tag is removed: its manifest deleted by digest, or,\n"
    "when a kept tag shares the digest, only the tag.\n\n"
    "Flags:\n";

constexpr char kPolicies[] = "/apis/registry.capstan.io/v1alpha1/namespaces/";

std::string PolicyPath(const std::string& ns, const std::string& name) {
  return kPolicies + ns + "/registrycleanuppolicies/" + name;
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f%s" : "%.1f%s", value, units[unit]);
  return buf;
}

int Plan(Session& session, const std::string& name, const std::string& file, const std::string& output) {
  nlohmann::json policy;
  if (!file.empty()) {
    Result<std::vector<client::Manifest>> manifests = client::LoadManifests({file}, false, nullptr);
    if (!manifests.ok()) {
      PrintLocalError(manifests.status().message());
      return 1;
    }
    for (const client::Manifest& m : *manifests) {
      if (m.object.value("kind", "") == "RegistryCleanupPolicy") {
        policy = m.object;
        break;
      }
    }
    if (policy.is_null()) {
      PrintLocalError(file + ": no RegistryCleanupPolicy in it");
      return 1;
    }
  } else {
    Result<nlohmann::json> got = session.client->Get(PolicyPath(session.namespace_name, name));
    if (!got.ok()) {
      PrintError(got.status());
      return 1;
    }
    policy = *got;
  }
  std::string ns = policy["metadata"].value("namespace", session.namespace_name);
  Result<registry::CleanupSpec> spec = registry::ParseCleanupSpec(policy);
  if (!spec.ok()) {
    PrintLocalError((file.empty() ? name : file) + ": " + spec.status().message());
    return 1;
  }
  client::HttpApiClient api(session.client.get());
  registry::InUseSet in_use;
  if (spec->retention.keep_in_use) {
    Result<registry::InUseSet> listed = registry::ListInUse(api, spec->url);
    if (!listed.ok()) {
      PrintError(listed.status());
      return 1;
    }
    in_use = std::move(listed).value();
  }
  registry::RunReport report = registry::RunCleanup(api, ns, *spec, in_use, /*dry_run=*/true);
  if (!report.error.ok()) {
    PrintLocalError(report.error.message());
    return 1;
  }
  if (output == "json") {
    std::printf("%s\n", registry::DecisionRows(report).dump(2).c_str());
  } else {
    TextTable table;
    table.header = {"REPOSITORY", "TAG", "CREATED", "SIZE", "DECISION", "REASON"};
    if (output == "wide") table.header.push_back("DIGEST");
    for (const registry::TagDecision& d : report.plan.decisions) {
      table.rows.push_back({d.repository, d.tag, d.created.empty() ? "<none>" : d.created, HumanBytes(d.size),
                            registry::ActionName(d.action), d.reason});
      if (output == "wide") table.rows.back().push_back(d.digest);
    }
    std::printf("%s", FormatTable(table).c_str());
    int64_t kept = 0;
    for (const auto& [reason, n] : report.plan.kept_by_reason) kept += n;
    std::printf("\n%lld tags in %lld repositories: %lld kept, %lld to delete, %lld to untag; %s reclaimable by "
                "garbage collection\n",
                static_cast<long long>(report.plan.scanned), static_cast<long long>(report.repositories),
                static_cast<long long>(kept), static_cast<long long>(report.plan.to_delete),
                static_cast<long long>(report.plan.to_untag), HumanBytes(report.plan.bytes_reclaimable).c_str());
  }
  for (const auto& [repo, message] : report.repository_errors) {
    std::fprintf(stderr, "warning: %s: not scanned: %s\n", repo.c_str(), message.c_str());
  }
  return report.repository_errors.empty() ? 0 : 1;
}

int Run(Session& session, const std::string& name, bool wait, std::chrono::milliseconds timeout) {
  std::string path = PolicyPath(session.namespace_name, name);
  auto now = std::chrono::system_clock::now();
  // Unique per request (nanoseconds): the controller runs once per new value.
  std::string requested = api::kinds::FormatRfc3339(std::chrono::system_clock::to_time_t(now)) + "/" +
                          std::to_string(now.time_since_epoch().count());
  nlohmann::json patch = {{"metadata", {{"annotations", {{registry::kRequestedAtAnnotation, requested}}}}}};
  Result<nlohmann::json> patched = session.client->Patch(path, client::PatchType::kMerge, patch);
  if (!patched.ok()) {
    PrintError(patched.status());
    return 1;
  }
  if (!wait) {
    std::printf("registrycleanuppolicy.registry.capstan.io/%s run requested\n", name.c_str());
    return 0;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<nlohmann::json> got = session.client->Get(path);
    if (!got.ok()) {
      PrintError(got.status());
      return 1;
    }
    const nlohmann::json status = got->value("status", nlohmann::json::object());
    if (status.value("lastHandledRequest", "") == requested) {
      const nlohmann::json run = status.value("lastRun", nlohmann::json::object());
      const nlohmann::json counts = status.value("counts", nlohmann::json::object());
      std::string result = run.value("result", "");
      std::printf("registrycleanuppolicy.registry.capstan.io/%s %s: %lld tags scanned, %lld deleted, %lld untagged, "
                  "%lld skipped, %lld failed (decisions: configmap/%s)\n",
                  name.c_str(), result.c_str(), static_cast<long long>(counts.value("scanned", 0)),
                  static_cast<long long>(counts.value("deleted", 0)), static_cast<long long>(counts.value("untagged", 0)),
                  static_cast<long long>(counts.value("skipped", 0)), static_cast<long long>(counts.value("failed", 0)),
                  run.value("decisionsConfigMap", "").c_str());
      for (const nlohmann::json& e : status.value("errors", nlohmann::json::array())) {
        std::fprintf(stderr, "error: %s%s%s: %s\n", e.value("repository", "").c_str(),
                     e.value("tag", "").empty() ? "" : ":", e.value("tag", "").c_str(), e.value("message", "").c_str());
      }
      return result == "Succeeded" || result == "DryRun" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  PrintLocalError("timed out waiting for the run of " + name + " (it may still finish: capstan describe rcp " + name + ")");
  return 1;
}

}  // namespace

int RunRegistry(const GlobalOptions& global, const Args& args) {
  std::string file;
  std::string output;
  std::string wait_text = "true";
  std::string timeout_text = "10m";
  FlagSet flag_set("capstan registry");
  flag_set.AddString("filename", 'f', &file, "plan: a file holding the RegistryCleanupPolicy to plan.");
  flag_set.AddString("output", 'o', &output, "plan: wide (adds DIGEST) or json.");
  flag_set.AddString("wait", 0, &wait_text, "run: wait for the run's result (default true).");
  flag_set.AddString("timeout", 0, &timeout_text, "run: how long to wait (default 10m).");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("registry", parsed.message());
  if (flag_set.help_requested() || positional.empty()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return positional.empty() && !flag_set.help_requested() ? 1 : 0;
  }
  const std::string& sub = positional[0];
  if (output != "" && output != "wide" && output != "json") {
    return UsageError("registry", "--output must be wide or json, not " + output);
  }
  if (wait_text != "true" && wait_text != "false") return UsageError("registry", "--wait must be true or false");
  Result<std::chrono::milliseconds> timeout = ParseDuration(timeout_text);
  if (!timeout.ok()) return UsageError("registry", timeout.status().message());
  if (sub == "plan") {
    if (file.empty() == (positional.size() != 2)) {
      return UsageError("registry", "plan takes a policy NAME or -f FILE (one of them)");
    }
  } else if (sub == "run") {
    if (positional.size() != 2 || !file.empty()) return UsageError("registry", "run takes a policy NAME");
  } else {
    return UsageError("registry", "unknown subcommand \"" + sub + "\" (plan, run)");
  }
  Result<std::unique_ptr<Session>> session = OpenSession(global);
  if (!session.ok()) {
    PrintLocalError(session.status().message());
    return 1;
  }
  if (sub == "plan") return Plan(**session, positional.size() == 2 ? positional[1] : "", file, output);
  return Run(**session, positional[1], wait_text == "true", *timeout);
}

}  // namespace capstan::cli
