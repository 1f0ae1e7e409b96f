// capstan logs and capstan exec: a Pod's output and a command run in it, through the pods/log
// and pods/exec subresources (api/pod_streams.h), which the node agent running the Pod answers.
#include <cstdio>

#include "cli/session.h"
#include "cli/verbs.h"
#include "client/json_fields.h"

namespace capstan::cli {
namespace {

using nlohmann::json;

constexpr const char* kLogsUsage =
    "Print the logs of a container in a pod.\n\n"
    "Usage:\n  capstan logs [-f] [--tail N] [-c CONTAINER] POD\n\n"
    "Examples:\n"
    "  capstan logs web-7d9f8-abcde\n"
    "  capstan logs -f --tail 20 pod/web-7d9f8-abcde -c app\n\n"
    "Flags:\n";

constexpr const char* kExecUsage =
    "Run a command in a container of a pod and print its output; exits with the command's code.\n\n"
    "Usage:\n  capstan exec [-c CONTAINER] POD -- COMMAND [ARGS...]\n\n"
    "The command runs to its end without a terminal or stdin (interactive sessions are not\n"
    "supported yet).\n\n"
    "Examples:\n"
    "  capstan exec web-7d9f8-abcde -- cat /etc/hostname\n"
    "  capstan exec pod/web-7d9f8-abcde -c sidecar -- sh -c 'echo $PORT'\n\n"
    "Flags:\n";

// "NAME", "pod/NAME" or "pods/NAME" -> NAME; empty when it names another type.
std::string PodName(const std::string& arg) {
  const auto slash = arg.find('/');
  if (slash == std::string::npos) return arg;
  const std::string type = arg.substr(0, slash);
  if (type != "pod" && type != "pods" && type != "po") return "";
  return arg.substr(slash + 1);
}

std::string PodPath(const Session& session, const std::string& name) {
  return "/api/v1/namespaces/" + session.namespace_name + "/pods/" + name;
}

}  // namespace

int RunLogs(const GlobalOptions& global, const Args& args) {
  bool follow = false;
  std::string tail = "-1", container, limit;
  FlagSet flags("capstan logs");
  flags.AddBool("follow", 'f', &follow, "Keep printing new output until the container ends.");
  flags.AddString("tail", 0, &tail, "Lines of recent output to print (-1, the default: all).");
  flags.AddString("container", 'c', &container, "The container (default: the pod's only one).");
  flags.AddString("limit-bytes", 0, &limit, "Stop after this many bytes.");
  std::vector<std::string> positional;
  if (Status parsed = flags.Parse(args, &positional); !parsed.ok()) return UsageError("logs", parsed.message());
  if (flags.help_requested()) {
    std::printf("%s%s\n%s", kLogsUsage, flags.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (positional.size() != 1) return UsageError("logs", "expected exactly one POD: capstan logs POD [-c CONTAINER]");
  const std::string name = PodName(positional[0]);
  if (name.empty()) return UsageError("logs", "capstan logs takes a pod: POD or pod/POD, got \"" + positional[0] + "\"");
  Result<int64_t> tail_lines = ParseIntFlag("tail", tail);
  if (!tail_lines.ok()) return UsageError("logs", tail_lines.status().message());
  client::Query query;
  if (!container.empty()) query.emplace_back("container", container);
  if (follow) query.emplace_back("follow", "true");
  if (*tail_lines >= 0) query.emplace_back("tailLines", std::to_string(*tail_lines));
  if (!limit.empty()) {
    Result<int64_t> bytes = ParseIntFlag("limit-bytes", limit);
    if (!bytes.ok()) return UsageError("logs", bytes.status().message());
    query.emplace_back("limitBytes", std::to_string(*bytes));
  }

  Result<std::unique_ptr<Session>> session = OpenSession(global);
  if (!session.ok()) {
    PrintLocalError(session.status().message());
    return 1;
  }
  Status s = (*session)->client->Stream(PodPath(**session, name) + "/log", query, "text/plain", [](std::string_view data) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!s.ok()) {
    PrintError(s);
    return 1;
  }
  return 0;
}

int RunExec(const GlobalOptions& global, const Args& args) {
  std::string container;
  bool stdin_flag = false, tty = false;
  FlagSet flags("capstan exec");
  flags.AddString("container", 'c', &container, "The container (default: the pod's first).");
  flags.AddBool("stdin", 'i', &stdin_flag, "Not supported yet: the command gets no stdin.");
  flags.AddBool("tty", 't', &tty, "Not supported yet: the command gets no terminal.");
  std::vector<std::string> positional;
  if (Status parsed = flags.Parse(args, &positional); !parsed.ok()) return UsageError("exec", parsed.message());
  if (flags.help_requested()) {
    std::printf("%s%s\n%s", kExecUsage, flags.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (stdin_flag || tty) {
    return UsageError("exec", "-i and -t (interactive sessions) are not supported yet: give the command after --");
  }
  if (positional.size() < 2) return UsageError("exec", "expected POD -- COMMAND [ARGS...]");
  const std::string name = PodName(positional[0]);
  if (name.empty()) return UsageError("exec", "capstan exec takes a pod: POD or pod/POD, got \"" + positional[0] + "\"");
  client::Query query;
  if (!container.empty()) query.emplace_back("container", container);
  for (size_t i = 1; i < positional.size(); ++i) query.emplace_back("command", positional[i]);

  Result<std::unique_ptr<Session>> session = OpenSession(global);
  if (!session.ok()) {
    PrintLocalError(session.status().message());
    return 1;
  }
  Result<json> result = (*session)->client->Create(PodPath(**session, name) + "/exec", json::object(), query);
  if (!result.ok()) {
    PrintError(result.status());
    return 1;
  }
  const std::string out = client::StringField(*result, "stdout"), err = client::StringField(*result, "stderr");
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fwrite(err.data(), 1, err.size(), stderr);
  std::fflush(stdout);
  const int64_t code = client::IntField(*result, "exitCode");
  if (code != 0) std::fprintf(stderr, "command terminated with exit code %lld\n", static_cast<long long>(code));
  return code == 0 ? 0 : static_cast<int>(code > 255 ? 1 : code);
}

}  // namespace capstan::cli
