#include "cli/printers.h"
#include "client/json_fields.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "base/yaml.h"

namespace capstan::cli {
namespace {

using client::IntField;
using client::StringField;

// kubectl: tabwriter.NewWriter(out, 6 /*minwidth*/, 4, 3 /*padding*/, ' ', 0).
constexpr size_t kMinWidth = 6;
constexpr size_t kPadding = 3;

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string CellText(const json& cell) {
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_null()) return "<none>";
  if (cell.is_boolean()) return cell.get<bool>() ? "true" : "false";
  if (cell.is_number_integer() || cell.is_number_unsigned()) return cell.dump();
  if (cell.is_number_float()) {
    double value = cell.get<double>();
    if (value == static_cast<double>(static_cast<long long>(value))) return std::to_string(static_cast<long long>(value));
    return cell.dump();
  }
  if (cell.is_array()) {
    std::string out;
    for (const json& item : cell) {
      if (!out.empty()) out += ",";
      out += CellText(item);
    }
    return out;
  }
  return cell.dump();
}

const json* Metadata(const json& object) {
  if (!object.is_object()) return nullptr;
  auto it = object.find("metadata");
  if (it == object.end() || !it->is_object()) return nullptr;
  return &*it;
}

}  // namespace

Result<TextTable> TableFromServer(const json& table, const TableOptions& options) {
  if (!table.is_object() || StringField(table, "kind") != "Table" || !table.contains("columnDefinitions") ||
      !table["columnDefinitions"].is_array()) {
    return Status::BadRequest("the server did not answer with a Table");
  }
  const json& columns = table["columnDefinitions"];
  std::vector<size_t> shown;  // indexes of the columns to print
  size_t name_column = SIZE_MAX;
  for (size_t i = 0; i < columns.size(); ++i) {
    const json& column = columns[i];
    if (!column.is_object()) continue;
    int priority = static_cast<int>(IntField(column, "priority"));
    if (priority > 0 && !options.wide) continue;
    if (name_column == SIZE_MAX && (StringField(column, "format") == "name" || StringField(column, "name") == "Name")) {
      name_column = i;
    }
    shown.push_back(i);
  }
  if (name_column == SIZE_MAX && !shown.empty()) name_column = shown.front();

  TextTable out;
  if (options.with_namespace) out.header.push_back("NAMESPACE");
  for (size_t i : shown) out.header.push_back(Upper(StringField(columns[i], "name")));
  if (options.show_labels) out.header.push_back("LABELS");

  if (table.contains("rows") && table["rows"].is_array()) {
    for (const json& row : table["rows"]) {
      if (!row.is_object()) continue;
      const json& cells = row.contains("cells") && row["cells"].is_array() ? row["cells"] : json::array();
      const json& object = row.contains("object") ? row["object"] : json();
      std::vector<std::string> line;
      if (options.with_namespace) {
        const json* metadata = Metadata(object);
        line.push_back(metadata != nullptr ? StringField(*metadata, "namespace") : "");
      }
      for (size_t i : shown) {
        std::string text = i < cells.size() ? CellText(cells[i]) : "";
        if (i == name_column) text = options.name_prefix + text;
        line.push_back(std::move(text));
      }
      if (options.show_labels) line.push_back(LabelsText(object));
      out.rows.push_back(std::move(line));
    }
  }
  return out;
}

TextTable TableFromObjects(const std::vector<json>& objects, const TableOptions& options, std::time_t now) {
  TextTable out;
  if (options.with_namespace) out.header.push_back("NAMESPACE");
  out.header.push_back("NAME");
  out.header.push_back("AGE");
  if (options.show_labels) out.header.push_back("LABELS");
  for (const json& object : objects) {
    const json* metadata = Metadata(object);
    std::vector<std::string> line;
    if (options.with_namespace) line.push_back(metadata != nullptr ? StringField(*metadata, "namespace") : "");
    line.push_back(options.name_prefix + (metadata != nullptr ? StringField(*metadata, "name") : ""));
    line.push_back(AgeOf(metadata != nullptr ? StringField(*metadata, "creationTimestamp") : "", now));
    if (options.show_labels) line.push_back(LabelsText(object));
    out.rows.push_back(std::move(line));
  }
  return out;
}

std::vector<size_t> ColumnWidths(const TextTable& table) {
  std::vector<size_t> widths(table.header.size(), 0);
  auto grow = [&](const std::vector<std::string>& cells) {
    if (widths.size() < cells.size()) widths.resize(cells.size(), 0);
    for (size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], cells[i].size());
  };
  grow(table.header);
  for (const auto& row : table.rows) grow(row);
  for (size_t& width : widths) width = std::max(width + kPadding, kMinWidth);
  return widths;
}

std::string FormatRow(const std::vector<std::string>& cells, const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 == cells.size()) break;  // the last cell is never padded
    size_t width = i < widths.size() ? widths[i] : kMinWidth;
    width = std::max(width, cells[i].size() + kPadding);
    line.append(width - cells[i].size(), ' ');
  }
  line += '\n';
  return line;
}

std::string FormatTable(const TextTable& table, bool headers) {
  TextTable measured = table;
  if (!headers) measured.header.clear();
  std::vector<size_t> widths = ColumnWidths(measured);
  std::string out;
  if (headers && !table.header.empty()) out += FormatRow(table.header, widths);
  for (const auto& row : table.rows) out += FormatRow(row, widths);
  return out;
}

std::string HumanDuration(int64_t seconds) {
  char buf[64];
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(seconds));
    return buf;
  }
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    if (s == 0) std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(minutes));
    else std::snprintf(buf, sizeof buf, "%lldm%llds", static_cast<long long>(minutes), static_cast<long long>(s));
    return buf;
  }
  if (minutes < 60 * 3) {
    std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(minutes));
    return buf;
  }
  int64_t hours = seconds / 3600;
  if (hours < 8) {
    int64_t m = minutes % 60;
    if (m == 0) std::snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(hours));
    else std::snprintf(buf, sizeof buf, "%lldh%lldm", static_cast<long long>(hours), static_cast<long long>(m));
    return buf;
  }
  if (hours < 48) {
    std::snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(hours));
    return buf;
  }
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    if (h == 0) std::snprintf(buf, sizeof buf, "%lldd", static_cast<long long>(hours / 24));
    else std::snprintf(buf, sizeof buf, "%lldd%lldh", static_cast<long long>(hours / 24), static_cast<long long>(h));
    return buf;
  }
  if (hours < 24 * 365 * 2) {
    std::snprintf(buf, sizeof buf, "%lldd", static_cast<long long>(hours / 24));
    return buf;
  }
  if (hours < 24 * 365 * 8) {
    int64_t days = (hours / 24) % 365;
    if (days == 0) std::snprintf(buf, sizeof buf, "%lldy", static_cast<long long>(hours / 24 / 365));
    else std::snprintf(buf, sizeof buf, "%lldy%lldd", static_cast<long long>(hours / 24 / 365), static_cast<long long>(days));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%lldy", static_cast<long long>(hours / 24 / 365));
  return buf;
}

bool ParseTimestamp(const std::string& text, int64_t* epoch_seconds) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return false;
  }
  size_t pos = static_cast<size_t>(consumed);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int hours = 0;
    int minutes = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &hours, &minutes) != 2) return false;
    offset = (hours * 3600 + minutes * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *epoch_seconds = static_cast<int64_t>(timegm(&tm)) - offset;
  return true;
}

std::string AgeOf(const std::string& timestamp, std::time_t now) {
  int64_t then = 0;
  if (timestamp.empty() || !ParseTimestamp(timestamp, &then)) return "<unknown>";
  return HumanDuration(static_cast<int64_t>(now) - then);
}

std::string FormatTimestampRfc1123(const std::string& timestamp) {
  int64_t epoch = 0;
  if (!ParseTimestamp(timestamp, &epoch)) return timestamp;
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string LabelsText(const json& object) {
  const json* metadata = Metadata(object);
  if (metadata == nullptr || !metadata->contains("labels") || !(*metadata)["labels"].is_object()) return "<none>";
  std::map<std::string, std::string> sorted;
  for (const auto& [key, value] : (*metadata)["labels"].items()) {
    sorted[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  if (sorted.empty()) return "<none>";
  std::string out;
  for (const auto& [key, value] : sorted) {
    if (!out.empty()) out += ",";
    out += key + "=" + value;
  }
  return out;
}

std::string ToJsonText(const json& value) {
  return value.dump(4, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string ToYamlText(const json& value) {
  std::string text = ToYaml(value);
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

}  // namespace capstan::cli
