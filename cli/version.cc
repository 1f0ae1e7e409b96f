// capstan version: this binary's version and the server's (GET /version).
#include <cstdio>

#include "cli/printers.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/json_fields.h"

namespace capstan::cli {

int RunVersion(const GlobalOptions& global, const Args& args) {
  bool client_only = false;
  std::string output;
  FlagSet flag_set("capstan version");
  flag_set.AddBool("client", 0, &client_only, "Print the client version only (no server needed).");
  flag_set.AddString("output", 'o', &output, "yaml or json.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("version", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("Print the client and server versions.\n\nUsage:\n  capstan version [flags]\n\nFlags:\n%s\n%s",
                flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (!positional.empty()) return UsageError("version", "unexpected argument \"" + positional.front() + "\"");
  if (!output.empty() && output != "yaml" && output != "json") {
    return UsageError("version", "--output must be 'yaml' or 'json'");
  }

  std::string client_version = std::string("v") + CAPSTAN_VERSION;
  json document = {{"clientVersion", {{"gitVersion", client_version}}}};
  int exit_code = 0;
  std::string server_line;
  if (!client_only) {
    Result<std::unique_ptr<Session>> session = OpenSession(global);
    if (!session.ok()) {
      PrintLocalError(session.status().message());
      exit_code = 1;
    } else {
      Result<json> server = (*session)->client->Get("/version");
      if (!server.ok()) {
        PrintError(server.status());
        exit_code = 1;
      } else {
        document["serverVersion"] = *server;
        server_line = client::StringField(*server, "gitVersion");
      }
    }
  }
  if (output == "json") {
    std::fputs(ToJsonText(document).c_str(), stdout);
  } else if (output == "yaml") {
    std::fputs(ToYamlText(document).c_str(), stdout);
  } else {
    std::printf("Client Version: %s\n", client_version.c_str());
    if (!server_line.empty()) std::printf("Server Version: %s\n", server_line.c_str());
  }
  return exit_code;
}

}  // namespace capstan::cli
