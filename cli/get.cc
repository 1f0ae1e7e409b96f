// capstan get: list or fetch objects and print them as kubectl does (server-side Table
// printing by default; -o yaml|json|name|wide; -w to keep printing changes).
#include <cstdio>
#include <ctime>

#include "cli/printers.h"
#include "cli/resource_args.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/json_fields.h"
#include "client/list.h"

namespace capstan::cli {
namespace {

using client::Field;
using client::StringField;
using client::MetaString;
using client::ResourceInfo;

constexpr const char* kUsage =
    "Display one or many resources.\n\n"
    "Usage:\n"
    "  capstan get TYPE[,TYPE...] [NAME...] [flags]\n"
    "  capstan get TYPE/NAME ... [flags]\n\n"
    "Examples:\n"
    "  capstan get pods\n"
    "  capstan get deploy web -o yaml\n"
    "  capstan get pods -A -l app=web -o wide\n"
    "  capstan get pods -w\n\n"
    "Flags:\n";

struct GetFlags {
  std::string output;
  std::string selector;
  std::string field_selector;
  std::string chunk_size = "500";
  bool all_namespaces = false;
  bool watch = false;
  bool watch_only = false;
  bool show_labels = false;
  bool no_headers = false;
  bool ignore_not_found = false;
};

enum class Format { kTable, kWide, kYaml, kJson, kName };

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string NamePath(const ResourceInfo& resource, const json& object) {
  return resource.DisplayKind() + "/" + MetaString(object, "name");
}

// The rows of a Table answer, or NAME/AGE rows when the server sent plain objects.
TextTable ToText(const json& answer, const TableOptions& options) {
  Result<TextTable> table = TableFromServer(answer, options);
  if (table.ok()) return std::move(*table);
  std::vector<json> objects;
  if (answer.contains("items") && answer["items"].is_array()) {
    for (const json& item : answer["items"]) objects.push_back(item);
  } else if (answer.is_object()) {
    objects.push_back(answer);
  }
  return TableFromObjects(objects, options, std::time(nullptr));
}

// Everything one target yields: a Table (table formats) or a List of objects.
struct Fetched {
  json document;
  bool failed = false;
};

Fetched Fetch(Session& session, const ResourceTarget& target, const std::string& ns, const GetFlags& flags,
              bool as_table, int chunk_size) {
  Fetched fetched;
  if (target.names.empty()) {
    client::ListOptions list_options;
    list_options.label_selector = flags.selector;
    list_options.field_selector = flags.field_selector;
    list_options.chunk_size = chunk_size;
    list_options.as_table = as_table;
    Result<json> list = client::ListAll(*session.client, target.resource, client::CollectionPath(target.resource, ns),
                                        list_options);
    if (!list.ok()) {
      PrintError(list.status());
      fetched.failed = true;
      return fetched;
    }
    fetched.document = std::move(*list);
    return fetched;
  }
  // Named objects: one GET each, gathered into one Table (rows) or List (items).
  fetched.document = as_table ? json() : json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (const std::string& name : target.names) {
    Result<json> object = session.client->Get(client::ObjectPath(target.resource, ns, name), {},
                                              as_table ? client::kAcceptTable : "");
    if (!object.ok()) {
      if (!(flags.ignore_not_found && object.status().IsNotFound())) {
        PrintError(object.status());
        fetched.failed = true;
      }
      continue;
    }
    if (!as_table) {
      fetched.document["items"].push_back(std::move(*object));
    } else if (fetched.document.is_null()) {
      fetched.document = std::move(*object);
    } else if (object->contains("rows") && (*object)["rows"].is_array() && fetched.document.contains("rows")) {
      for (json& row : (*object)["rows"]) fetched.document["rows"].push_back(std::move(row));
    } else {
      // Not a Table (a server without server-side printing): keep the objects.
      if (!fetched.document.contains("items")) {
        json first = std::move(fetched.document);
        fetched.document = json{{"kind", "List"}, {"items", json::array({std::move(first)})}};
      }
      fetched.document["items"].push_back(std::move(*object));
    }
  }
  return fetched;
}

std::string ResourceVersionOf(const json& document) {
  std::string rv = MetaString(document, "resourceVersion");
  const json& rows = Field(document, "rows");
  if (rows.is_array() && !rows.empty()) {
    std::string row_rv = MetaString(Field(rows.back(), "object"), "resourceVersion");
    if (!row_rv.empty()) rv = row_rv;
  }
  return rv;
}

// Streams changes of one target until the user interrupts or an error ends it.
int Watch(Session& session, const ResourceTarget& target, const std::string& ns, const GetFlags& flags, Format format,
          const TableOptions& table_options, std::string resource_version, std::vector<size_t> widths, bool header_printed,
          json columns) {
  client::Query query{{"watch", "true"}};
  if (!flags.selector.empty()) query.emplace_back("labelSelector", flags.selector);
  std::string field_selector = flags.field_selector;
  if (target.names.size() == 1) {
    field_selector += (field_selector.empty() ? "" : ",") + std::string("metadata.name=") + target.names.front();
  }
  if (!field_selector.empty()) query.emplace_back("fieldSelector", field_selector);
  bool table = format == Format::kTable || format == Format::kWide;

  auto on_event = [&](const json& event) -> bool {
    const json& object = Field(event, "object");
    std::string rv = ResourceVersionOf(object);
    if (!rv.empty()) resource_version = rv;
    if (StringField(event, "type") == "BOOKMARK") return true;
    switch (format) {
      case Format::kTable:
      case Format::kWide: {
        // As in Kubernetes, only the first Table of a watch carries the column definitions.
        json table = object;
        const json& defined = Field(table, "columnDefinitions");
        if (defined.is_array() && !defined.empty()) columns = defined;
        else if (table.is_object() && StringField(table, "kind") == "Table") table["columnDefinitions"] = columns;
        TextTable text = ToText(table, table_options);
        if (!header_printed && !flags.no_headers) {
          std::vector<size_t> header_widths = ColumnWidths(text);
          if (widths.empty()) widths = header_widths;
          Print(FormatRow(text.header, widths));
        }
        header_printed = true;
        if (widths.empty()) widths = ColumnWidths(text);
        for (const auto& row : text.rows) Print(FormatRow(row, widths));
        break;
      }
      case Format::kName:
        Print(NamePath(target.resource, object) + "\n");
        break;
      case Format::kJson:
        Print(ToJsonText(object));
        break;
      case Format::kYaml:
        Print("---\n" + ToYamlText(object));
        break;
    }
    return true;
  };
  // The server ends a watch after its timeout; kubectl then watches again from where it was.
  for (;;) {
    client::Query this_query = query;
    if (!resource_version.empty()) this_query.emplace_back("resourceVersion", resource_version);
    Status status = session.client->Watch(client::CollectionPath(target.resource, ns), this_query, on_event,
                                          table ? client::kAcceptTable : "");
    if (!status.ok()) {
      PrintError(status);
      return 1;
    }
  }
}

}  // namespace

int RunGet(const GlobalOptions& global, const Args& args) {
  GetFlags flags;
  FlagSet flag_set("capstan get");
  flag_set.AddString("output", 'o', &flags.output, "Output format: wide, yaml, json or name.");
  flag_set.AddString("selector", 'l', &flags.selector, "Label selector (\"app=web,tier!=db\").");
  flag_set.AddString("field-selector", 0, &flags.field_selector, "Field selector (\"status.phase=Running\").");
  flag_set.AddBool("all-namespaces", 'A', &flags.all_namespaces, "List across all namespaces.");
  flag_set.AddBool("watch", 'w', &flags.watch, "After listing, watch for changes.");
  flag_set.AddBool("watch-only", 0, &flags.watch_only, "Watch for changes without listing first.");
  flag_set.AddBool("show-labels", 0, &flags.show_labels, "Show all labels as the last column.");
  flag_set.AddBool("no-headers", 0, &flags.no_headers, "Do not print the column headers.");
  flag_set.AddBool("ignore-not-found", 0, &flags.ignore_not_found, "Treat \"not found\" for named objects as success.");
  flag_set.AddString("chunk-size", 0, &flags.chunk_size, "List in pages of this many objects (0: one request). Default 500.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("get", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }

  Format format = Format::kTable;
  if (flags.output.empty()) format = Format::kTable;
  else if (flags.output == "wide") format = Format::kWide;
  else if (flags.output == "yaml") format = Format::kYaml;
  else if (flags.output == "json") format = Format::kJson;
  else if (flags.output == "name") format = Format::kName;
  else return UsageError("get", "unable to match a printer suitable for the output format \"" + flags.output +
                                    "\", allowed formats are: json,name,wide,yaml");
  int chunk_size = 0;
  try {
    chunk_size = std::stoi(flags.chunk_size);
  } catch (const std::exception&) {
    return UsageError("get", "invalid --chunk-size \"" + flags.chunk_size + "\"");
  }
  if (flags.watch_only) flags.watch = true;
  if (positional.empty()) {
    return UsageError("get", "you must specify the type of resource to get. Use \"capstan api-resources\" for a "
                             "complete list of supported resources");
  }

  Result<std::unique_ptr<Session>> session_or = OpenSession(global);
  if (!session_or.ok()) {
    PrintLocalError(session_or.status().message());
    return 1;
  }
  Session& session = **session_or;
  Result<std::vector<ResourceTarget>> targets_or = ResolveTargets(session, positional);
  if (!targets_or.ok()) {
    if (targets_or.status().code() == Code::kBadRequest || targets_or.status().IsNotFound()) {
      PrintLocalError(targets_or.status().message());
    } else {
      PrintError(targets_or.status());
    }
    return 1;
  }
  std::vector<ResourceTarget>& targets = *targets_or;
  if (flags.watch && (targets.size() != 1 || targets.front().names.size() > 1)) {
    PrintLocalError("you may only specify a single resource type (and at most one name) with --watch");
    return 1;
  }

  bool table = format == Format::kTable || format == Format::kWide;
  bool any_named = false;
  for (const ResourceTarget& target : targets) any_named = any_named || !target.names.empty();
  // Named objects are looked up in one namespace even with -A, as kubectl does.
  auto namespace_for = [&](const ResourceTarget& target) {
    return flags.all_namespaces && target.names.empty() ? std::string() : session.namespace_name;
  };

  TableOptions table_options;
  table_options.wide = format == Format::kWide;
  table_options.show_labels = flags.show_labels;
  table_options.with_namespace = flags.all_namespaces && !any_named;

  if (flags.watch) {
    const ResourceTarget& target = targets.front();
    table_options.with_namespace = table_options.with_namespace && target.resource.namespaced;
    std::string ns = namespace_for(target);
    std::string resource_version;
    std::vector<size_t> widths;
    bool header_printed = false;
    json columns = json::array();
    if (!flags.watch_only) {
      Fetched fetched = Fetch(session, target, ns, flags, table, chunk_size);
      if (fetched.failed) return 1;
      resource_version = MetaString(fetched.document, "resourceVersion");
      if (Field(fetched.document, "columnDefinitions").is_array()) columns = fetched.document["columnDefinitions"];
      if (table) {
        TextTable text = ToText(fetched.document, table_options);
        if (!text.rows.empty()) {
          widths = ColumnWidths(text);
          Print(FormatTable(text, !flags.no_headers));
          header_printed = true;
        }
      } else {
        for (const json& item : Field(fetched.document, "items")) {
          Print(format == Format::kName ? NamePath(target.resource, item) + "\n"
                : format == Format::kJson ? ToJsonText(item)
                                          : "---\n" + ToYamlText(item));
        }
      }
    }
    return Watch(session, target, ns, flags, format, table_options, resource_version, widths, header_printed,
                 std::move(columns));
  }

  int exit_code = 0;
  std::vector<json> items;     // -o yaml|json
  size_t printed_tables = 0;
  bool any_rows = false;
  for (const ResourceTarget& target : targets) {
    std::string ns = namespace_for(target);
    Fetched fetched = Fetch(session, target, ns, flags, table, chunk_size);
    if (fetched.failed) exit_code = 1;
    if (fetched.document.is_null()) continue;
    if (table) {
      TableOptions options = table_options;
      options.with_namespace = table_options.with_namespace && target.resource.namespaced;
      if (targets.size() > 1) options.name_prefix = target.resource.DisplayKind() + "/";
      TextTable text = ToText(fetched.document, options);
      if (text.rows.empty()) continue;
      any_rows = true;
      if (printed_tables++ > 0) Print("\n");
      Print(FormatTable(text, !flags.no_headers));
    } else {
      for (const json& item : Field(fetched.document, "items")) {
        if (format == Format::kName) Print(NamePath(target.resource, item) + "\n");
        else items.push_back(item);
      }
    }
  }

  if (format == Format::kYaml || format == Format::kJson) {
    bool single = targets.size() == 1 && targets.front().names.size() == 1;
    json out;
    if (single && items.size() == 1) {
      out = std::move(items.front());
    } else if (single && items.empty()) {
      return exit_code;  // the error is printed already
    } else {
      out = json{{"apiVersion", "v1"}, {"kind", "List"}, {"metadata", {{"resourceVersion", ""}}}, {"items", items}};
    }
    Print(format == Format::kJson ? ToJsonText(out) : ToYamlText(out));
  }

  if (table && !any_rows && !any_named && exit_code == 0) {
    bool namespaced = false;
    for (const ResourceTarget& target : targets) namespaced = namespaced || target.resource.namespaced;
    if (namespaced && !flags.all_namespaces) {
      std::fprintf(stderr, "No resources found in %s namespace.\n", session.namespace_name.c_str());
    } else {
      std::fprintf(stderr, "No resources found\n");
    }
  }
  return exit_code;
}

}  // namespace capstan::cli
