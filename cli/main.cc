// capstan: `capstan server` runs the API server and controllers; every other verb is a
// kubectl-style client of it.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/server_command.h"
#include "cli/session.h"
#include "cli/verbs.h"

namespace {

using capstan::cli::Args;
using capstan::cli::GlobalOptions;

struct Verb {
  const char* name;
  int (*run)(const GlobalOptions&, const Args&);
  const char* summary;
};

constexpr Verb kVerbs[] = {
    {"apply", capstan::cli::RunApply, "Apply a configuration from files or stdin (create or update)."},
    {"get", capstan::cli::RunGet, "Display one or many resources."},
    {"describe", capstan::cli::RunDescribe, "Show details of a resource, with its conditions and events."},
    {"delete", capstan::cli::RunDelete, "Delete resources by name, label selector or file."},
    {"scale", capstan::cli::RunScale, "Set a new size for a Deployment or ReplicaSet."},
    {"rollout", capstan::cli::RunRollout, "Manage a Deployment's rollout: status, history, undo, restart, pause, resume."},
    {"logs", capstan::cli::RunLogs, "Print the logs of a container in a pod (-f to follow)."},
    {"exec", capstan::cli::RunExec, "Run a command in a container of a pod."},
    {"api-resources", capstan::cli::RunApiResources, "Print the resource types the server serves."},
    {"version", capstan::cli::RunVersion, "Print the client and server versions."},
    {"plugins", capstan::cli::RunPlugins, "List the driver plugins this machine can load (plugins list)."},
    {"registry", capstan::cli::RunRegistry, "Plan or run a RegistryCleanupPolicy now (registry plan|run)."},
    {"diff", capstan::cli::RunDiff, "Diff live objects against files (server-side dry run); exit 1 on differences."},
    {"gitops", capstan::cli::RunGitOps, "GitOps: status, reconcile sync/NAME, bootstrap --url URL --path PATH."},
};

void PrintUsage() {
  std::printf("capstan: a small declarative cluster controller with a Kubernetes-compatible API.\n\n"
              "Usage:\n  capstan server [flags]        Run the API server and controllers (see capstan server --help).\n"
              "  capstan admin backup OUT      Back up the store (see capstan admin --help).\n"
              "  capstan VERB [args] [flags]   Talk to a running server, kubectl-style.\n\nVerbs:\n");
  for (const Verb& verb : kVerbs) std::printf("  %-15s%s\n", verb.name, verb.summary);
  std::printf("\n%s\nUse \"capstan VERB --help\" for more about a verb.\n", capstan::cli::GlobalFlagHelp().c_str());
}

int Main(int argc, char** argv) {
  // `server` and `admin` parse their own flags (they have no use for the client's global ones)
  // and get the arguments after the verb.
  if (argc >= 2 && std::string(argv[1]) == "server") return capstan::cli::RunServerCommand(argc - 2, argv + 2);
  if (argc >= 2 && std::string(argv[1]) == "admin") return capstan::cli::RunAdminCommand(argc - 2, argv + 2);

  Args args(argv + 1, argv + argc);
  GlobalOptions global;
  if (capstan::Status status = capstan::cli::ExtractGlobalFlags(&args, &global); !status.ok()) {
    std::fprintf(stderr, "error: %s\nSee 'capstan --help' for usage.\n", status.message().c_str());
    return 1;
  }
  capstan::cli::ApplyVerbosity(global.verbosity);
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    PrintUsage();
    return args.empty() ? 1 : 0;
  }
  if (args.front() == "help") {
    if (args.size() == 1) {
      PrintUsage();
      return 0;
    }
    args = {args[1], "--help"};
  }
  if (args.front() == "server" || args.front() == "admin") {
    std::fprintf(stderr, "error: put `%s` first: capstan %s [flags]\n", args.front().c_str(), args.front().c_str());
    return 1;
  }
  for (const Verb& verb : kVerbs) {
    if (args.front() == verb.name) return verb.run(global, Args(args.begin() + 1, args.end()));
  }
  if (args.front()[0] == '-') {
    std::fprintf(stderr, "error: unknown flag: %s\nSee 'capstan --help' for usage.\n", args.front().c_str());
  } else {
    std::fprintf(stderr, "error: unknown command \"%s\" for \"capstan\"\nSee 'capstan --help' for usage.\n",
                 args.front().c_str());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Last line of defence for the "no exception escapes" rule: report, never abort with a trace.
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: internal error\n");
  }
  return 1;
}
