#include "api/table.h"

#include <chrono>
#include <ctime>

namespace capstan::api {
namespace {

// A kind that places its own name column (format "name", as Events do: kubectl shows it last
// and only with -o wide) gets no generic NAME column first.
bool HasOwnNameColumn(const KindInfo& kind) {
  for (const auto& c : kind.columns) {
    if (c.format == "name") return true;
  }
  return false;
}

bool HasColumn(const KindInfo& kind, const std::string& name) {
  for (const auto& c : kind.columns) {
    if (c.name == name) return true;
  }
  return false;
}

json Definition(const std::string& name, const std::string& type, const std::string& format, int priority,
                const std::string& description) {
  return {{"name", name}, {"type", type}, {"format", format}, {"priority", priority}, {"description", description}};
}

std::string HumanDuration(int64_t secs) {
  if (secs < 0) secs = 0;
  auto s = [](int64_t v, const char* unit) { return std::to_string(v) + unit; };
  if (secs < 120) return s(secs, "s");
  int64_t minutes = secs / 60;
  if (minutes < 10) return secs % 60 == 0 ? s(minutes, "m") : s(minutes, "m") + s(secs % 60, "s");
  if (minutes < 180) return s(minutes, "m");
  int64_t hours = secs / 3600;
  if (hours < 8) return minutes % 60 == 0 ? s(hours, "h") : s(hours, "h") + s(minutes % 60, "m");
  if (hours < 48) return s(hours, "h");
  if (hours < 192) return hours % 24 == 0 ? s(hours / 24, "d") : s(hours / 24, "d") + s(hours % 24, "h");
  if (hours < 24 * 365 * 2) return s(hours / 24, "d");
  if (hours < 24 * 365 * 8) {
    int64_t days = hours / 24;
    return days % 365 == 0 ? s(days / 365, "y") : s(days / 365, "y") + s(days % 365, "d");
  }
  return s(hours / 24 / 365, "y");
}

}  // namespace

std::string HumanAge(const std::string& ts) {
  std::tm tm{};
  if (ts.size() < 19 || strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return "<unknown>";
  std::time_t then = timegm(&tm);
  std::time_t now = std::time(nullptr);
  return HumanDuration(static_cast<int64_t>(now - then));
}

json ColumnDefinitions(const KindInfo& kind) {
  json defs = json::array();
  if (!HasOwnNameColumn(kind)) {
    defs.push_back(Definition("Name", "string", "name", 0,
                              "Name must be unique within a namespace. Is required when creating resources."));
  }
  for (const auto& c : kind.columns) defs.push_back(Definition(c.name, c.type, c.format, c.priority, c.description));
  if (!HasColumn(kind, "Age") && !HasColumn(kind, "Last Seen")) {
    defs.push_back(Definition("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time "
                                                      "when this object was created."));
  }
  return defs;
}

json TableRow(const KindInfo& kind, const json& obj, IncludeObject include) {
  json cells = json::array();
  if (!HasOwnNameColumn(kind)) cells.push_back(obj["metadata"].value("name", ""));
  for (const auto& c : kind.columns) cells.push_back(c.cell ? c.cell(obj) : json(""));
  if (!HasColumn(kind, "Age") && !HasColumn(kind, "Last Seen")) {
    cells.push_back(HumanAge(obj["metadata"].value("creationTimestamp", "")));
  }
  json row = {{"cells", std::move(cells)}};
  switch (include) {
    case IncludeObject::kNone:
      break;
    case IncludeObject::kMetadata:
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", obj.value("metadata", json::object())}};
      break;
    case IncludeObject::kObject:
      row["object"] = obj;
      break;
  }
  return row;
}

json ToTable(const KindInfo& kind, const std::vector<json>& objs, const json& list_meta, const TableOptions& opts) {
  json table = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}};
  table["metadata"] = list_meta.is_object() ? list_meta : json::object();
  table["columnDefinitions"] = opts.column_definitions ? ColumnDefinitions(kind) : json::array();
  json rows = json::array();
  for (const auto& o : objs) rows.push_back(TableRow(kind, o, opts.include));
  table["rows"] = std::move(rows);
  return table;
}

}  // namespace capstan::api
