// capstan plugins list: the driver plugins this machine's `capstan server` can load, with their
// versions, ABI and capabilities, and why a file that is not loadable is not. Local: it loads the
// files itself (through the same loader as the server) and needs no server.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/printers.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "node/driver_factory.h"
#include "node/plugin_loader.h"

namespace capstan::cli {
namespace {

constexpr char kUsage[] =
    "List the driver plugins that `capstan server --driver NAME` can load.\n\n"
    "Usage:\n"
    "  capstan plugins list [--plugin-dir DIR]... [-o json]\n\n"
    "Examples:\n"
    "  capstan plugins list\n"
    "  capstan plugins list --plugin-dir /opt/capstan/plugins\n\n"
    "Flags:\n";

std::string CapabilityList(const node::PluginInfo& p) {
  if (!p.capabilities) return "unknown";
  const auto& c = *p.capabilities;
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ",";
    out += name;
  };
  add(c.exec, "exec");
  add(c.logs, "logs");
  add(c.image_pull, "imagePull");
  add(c.images, "images");
  add(c.exit_events, "exitEvents");
  add(c.remote_endpoint, "remoteEndpoint");
  add(c.image_fs, "imageFs");
  std::string modes;
  for (const auto& m : c.network_modes) modes += (modes.empty() ? "" : "|") + m;
  out += (out.empty() ? "" : ",") + std::string("net=") + modes;
  return out;
}

json PluginJson(const node::PluginInfo& p) {
  json j = {{"path", p.path}, {"name", p.name}, {"version", p.version}, {"abiVersion", p.abi_version}};
  if (p.capabilities) j["capabilities"] = CapabilityList(p);
  if (!p.error.empty()) j["error"] = p.error;
  return j;
}

}  // namespace

int RunPlugins(const GlobalOptions&, const Args& args) {
  std::vector<std::string> dirs;
  std::string output;
  FlagSet flag_set("capstan plugins");
  flag_set.AddStringList("plugin-dir", 0, &dirs, "Directory to list (repeatable; default: the server's defaults).");
  flag_set.AddString("output", 'o', &output, "json, or empty for a table.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("plugins", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("%s%s\n", kUsage, flag_set.FlagHelp().c_str());
    return 0;
  }
  if (positional.size() != 1 || positional[0] != "list") {
    return UsageError("plugins", "expected the subcommand \"list\" (capstan plugins list)");
  }
  if (!output.empty() && output != "json") return UsageError("plugins", "--output must be 'json' or empty");
  if (dirs.empty()) {
    // The defaults that exist: an installed layout has the first, a build tree the second.
    for (const std::string& d : node::DefaultPluginDirs()) {
      std::error_code ec;
      if (std::filesystem::is_directory(d, ec)) dirs.push_back(d);
    }
  }
  Result<std::vector<node::PluginInfo>> found = node::ListPlugins(dirs);
  if (!found.ok()) {
    PrintLocalError(found.status().message());
    return 1;
  }
  if (output == "json") {
    json items = json::array();
    for (const auto& p : *found) items.push_back(PluginJson(p));
    std::printf("%s\n", json{{"plugins", items}}.dump(2).c_str());
    return 0;
  }
  if (found->empty()) {
    std::string where;
    for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d;
    std::fprintf(stderr, "No driver plugins found in %s.\n", where.empty() ? "(no plugin directory exists)" : where.c_str());
    return 0;
  }
  TextTable table;
  table.header = {"NAME", "VERSION", "ABI", "CAPABILITIES", "PATH"};
  for (const auto& p : *found) {
    table.rows.push_back({p.name.empty() ? "-" : p.name, p.version.empty() ? "-" : p.version,
                    p.abi_version ? std::to_string(p.abi_version) : "-",
                    p.error.empty() ? CapabilityList(p) : "error: " + p.error, p.path});
  }
  std::fputs(FormatTable(table).c_str(), stdout);
  return 0;
}

}  // namespace capstan::cli
