// capstan api-resources: the resource types the server serves, from its discovery documents.
#include <algorithm>
#include <cstdio>

#include "cli/printers.h"
#include "cli/session.h"
#include "cli/verbs.h"

namespace capstan::cli {

int RunApiResources(const GlobalOptions& global, const Args& args) {
  std::string output;
  std::string api_group;
  std::string namespaced_filter;
  bool no_headers = false;
  FlagSet flag_set("capstan api-resources");
  flag_set.AddString("output", 'o', &output, "wide (adds VERBS) or name.");
  flag_set.AddString("api-group", 0, &api_group, "Only this API group (\"\" for core is --api-group=).");
  flag_set.AddString("namespaced", 0, &namespaced_filter, "true: only namespaced resources; false: only cluster-scoped.");
  flag_set.AddBool("no-headers", 0, &no_headers, "Do not print the column headers.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("api-resources", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("Print the supported API resources on the server.\n\nUsage:\n  capstan api-resources [flags]\n\nFlags:\n%s\n%s",
                flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (!positional.empty()) return UsageError("api-resources", "unexpected argument \"" + positional.front() + "\"");
  if (!output.empty() && output != "wide" && output != "name") {
    return UsageError("api-resources", "--output must be 'wide' or 'name'");
  }
  if (!namespaced_filter.empty() && namespaced_filter != "true" && namespaced_filter != "false") {
    return UsageError("api-resources", "--namespaced must be true or false");
  }

  Result<std::unique_ptr<Session>> session = OpenSession(global);
  if (!session.ok()) {
    PrintLocalError(session.status().message());
    return 1;
  }
  Result<std::vector<client::ResourceInfo>> resources = (*session)->discovery->ServerPreferredResources();
  if (!resources.ok()) {
    PrintError(resources.status());
    return 1;
  }
  std::vector<client::ResourceInfo> shown;
  for (const client::ResourceInfo& r : *resources) {
    if (flag_set.Seen("api-group") && r.group != api_group) continue;
    if (namespaced_filter == "true" && !r.namespaced) continue;
    if (namespaced_filter == "false" && r.namespaced) continue;
    shown.push_back(r);
  }
  // Core first, then groups by name; resources by name within a group (kubectl's order).
  std::stable_sort(shown.begin(), shown.end(), [](const client::ResourceInfo& a, const client::ResourceInfo& b) {
    if (a.group != b.group) return a.group < b.group;
    return a.plural < b.plural;
  });

  if (output == "name") {
    for (const client::ResourceInfo& r : shown) std::printf("%s\n", r.DisplayResource().c_str());
    return 0;
  }
  TextTable table;
  table.header = {"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"};
  if (output == "wide") table.header.push_back("VERBS");
  for (const client::ResourceInfo& r : shown) {
    std::string short_names;
    for (const std::string& s : r.short_names) short_names += (short_names.empty() ? "" : ",") + s;
    std::vector<std::string> row = {r.plural, short_names, r.ApiVersion(), r.namespaced ? "true" : "false", r.kind};
    if (output == "wide") {
      std::string verbs;
      for (const std::string& v : r.verbs) verbs += (verbs.empty() ? "" : " ") + v;
      row.push_back(verbs.empty() ? "" : "[" + verbs + "]");
    }
    table.rows.push_back(std::move(row));
  }
  std::string text = FormatTable(table, !no_headers);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace capstan::cli
