#include "cli/describe_printer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "cli/printers.h"
#include "client/json_fields.h"

namespace capstan::cli {
namespace {

using client::Field;
using client::IntField;
using client::StringField;
using nlohmann::json;

// Maps whose keys are data, not field names: printed verbatim, label-like ones as "k=v".
const std::set<std::string> kLabelMaps = {"labels", "matchLabels", "selector", "nodeSelector"};
const std::set<std::string> kDataMaps = {"annotations", "data", "stringData", "binaryData", "limits", "requests",
                                         "capacity", "allocatable", "hard", "used"};

// Lines of "Key:  value" at indentation levels; values align per level when rendered.
class DescribeWriter {
 public:
  void Value(int level, const std::string& key, const std::string& value) { lines_.push_back({kValue, level, key + ":", value}); }
  // A further value of the previous key (Labels, Annotations), aligned under its first value.
  void Continue(int level, const std::string& value) { lines_.push_back({kContinue, level, "", value}); }
  void Section(int level, const std::string& key) { lines_.push_back({kValue, level, key + ":", ""}); }
  // Free text (a multi-line string), indented only.
  void Text(int level, const std::string& text) { lines_.push_back({kText, level, "", text}); }
  void Raw(const std::string& text) { lines_.push_back({kText, 0, "", text}); }

  // Values align within a group: the lines of one level under the same parent (so top-level
  // fields align together, and each nested block on its own, much like kubectl's tabwriter).
  std::string Render() const {
    std::vector<int> group_of(lines_.size(), -1);
    std::map<int, int> open_groups;  // level → group id, for the current parent chain
    int next_group = 0;
    for (size_t i = 0; i < lines_.size(); ++i) {
      const Line& line = lines_[i];
      if (line.type == kText) continue;
      // Leaving deeper levels closes their groups: the next child block aligns on its own.
      open_groups.erase(open_groups.upper_bound(line.level), open_groups.end());
      auto [it, inserted] = open_groups.emplace(line.level, next_group);
      if (inserted) ++next_group;
      group_of[i] = it->second;
    }
    std::vector<size_t> widths(static_cast<size_t>(next_group), 0);
    for (size_t i = 0; i < lines_.size(); ++i) {
      const Line& line = lines_[i];
      if (line.type == kValue && !line.value.empty()) {
        size_t& width = widths[static_cast<size_t>(group_of[i])];
        width = std::max(width, std::min<size_t>(line.key.size(), 40));
      }
    }
    std::string out;
    for (size_t i = 0; i < lines_.size(); ++i) {
      const Line& line = lines_[i];
      std::string text(static_cast<size_t>(line.level) * 2, ' ');
      if (line.type == kText) {
        out += text + line.value + "\n";
        continue;
      }
      text += line.key;
      if (!line.value.empty()) {
        size_t width = widths[static_cast<size_t>(group_of[i])] + 2;
        text.append(line.key.size() < width ? width - line.key.size() : 1, ' ');
        text += line.value;
      }
      out += text + "\n";
    }
    return out;
  }

 private:
  enum Type { kValue, kContinue, kText };
  struct Line {
    Type type;
    int level;
    std::string key;
    std::string value;
  };
  std::vector<Line> lines_;
};

std::string ScalarText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_null()) return "<none>";
  return value.dump();
}

bool IsScalar(const json& value) { return !value.is_object() && !value.is_array(); }

// "a=b" lines for label-like maps; "<none>" when empty.
void WriteLabelMap(DescribeWriter& w, int level, const std::string& title, const json& map) {
  std::map<std::string, std::string> sorted;
  if (map.is_object()) {
    for (const auto& [k, v] : map.items()) sorted[k] = ScalarText(v);
  }
  if (sorted.empty()) {
    w.Value(level, title, "<none>");
    return;
  }
  bool first = true;
  for (const auto& [k, v] : sorted) {
    if (first) w.Value(level, title, k + "=" + v);
    else w.Continue(level, k + "=" + v);
    first = false;
  }
}

void WriteValue(DescribeWriter& w, int level, const std::string& key, const json& value, bool secret);

void WriteObjectFields(DescribeWriter& w, int level, const json& object, bool secret,
                       const std::set<std::string>& skip = {}) {
  for (const auto& [key, value] : object.items()) {
    if (skip.count(key) != 0) continue;
    WriteValue(w, level, key, value, secret);
  }
}

void WriteValue(DescribeWriter& w, int level, const std::string& key, const json& value, bool secret) {
  std::string title = TitleCase(key);
  if (value.is_null()) return;
  if (IsScalar(value)) {
    std::string text = ScalarText(value);
    if (text.find('\n') == std::string::npos) {
      w.Value(level, title, text.empty() ? "\"\"" : text);
    } else {
      w.Section(level, title);
      size_t start = 0;
      while (start < text.size()) {
        size_t newline = text.find('\n', start);
        std::string line = text.substr(start, newline == std::string::npos ? std::string::npos : newline - start);
        w.Text(level + 1, line);
        if (newline == std::string::npos) break;
        start = newline + 1;
      }
    }
    return;
  }
  if (value.is_object()) {
    if (value.empty()) {
      w.Value(level, title, "<none>");
    } else if (kLabelMaps.count(key) != 0 && std::all_of(value.begin(), value.end(), IsScalar)) {
      WriteLabelMap(w, level, title, value);
    } else if (kDataMaps.count(key) != 0) {
      w.Section(level, title);
      for (const auto& [k, v] : value.items()) {
        if (secret && key == "data" && v.is_string()) {
          const std::string& encoded = v.get<std::string>();
          size_t padding = encoded.size() - std::min(encoded.size(), encoded.find_last_not_of('=') + 1);
          w.Value(level + 1, k, std::to_string(encoded.size() / 4 * 3 - std::min<size_t>(padding, 2)) + " bytes");
        } else if (IsScalar(v) && ScalarText(v).find('\n') == std::string::npos) {
          w.Value(level + 1, k, ScalarText(v));
        } else {
          w.Section(level + 1, k);
          std::string text = IsScalar(v) ? ScalarText(v) : v.dump();
          for (size_t start = 0; start < text.size();) {
            size_t newline = text.find('\n', start);
            w.Text(level + 2, text.substr(start, newline == std::string::npos ? std::string::npos : newline - start));
            if (newline == std::string::npos) break;
            start = newline + 1;
          }
        }
      }
    } else {
      w.Section(level, title);
      WriteObjectFields(w, level + 1, value, false);
    }
    return;
  }
  // Arrays.
  if (value.empty()) {
    w.Value(level, title, "<none>");
    return;
  }
  if (std::all_of(value.begin(), value.end(), IsScalar)) {
    std::string joined;
    for (const json& item : value) joined += (joined.empty() ? "" : ", ") + ScalarText(item);
    w.Value(level, title, joined);
    return;
  }
  w.Section(level, title);
  size_t index = 0;
  for (const json& item : value) {
    if (!item.is_object()) {
      w.Text(level + 1, "- " + ScalarText(item));
    } else if (item.contains("name") && item["name"].is_string()) {
      // Containers, ports, volumes: kubectl heads each with its name.
      w.Section(level + 1, item["name"].get<std::string>());
      WriteObjectFields(w, level + 2, item, false, {"name"});
    } else if (std::all_of(item.begin(), item.end(), IsScalar)) {
      std::string inline_text;
      for (const auto& [k, v] : item.items()) inline_text += (inline_text.empty() ? "" : ", ") + k + "=" + ScalarText(v);
      w.Text(level + 1, "- " + inline_text);
    } else {
      w.Section(level + 1, "[" + std::to_string(index) + "]");
      WriteObjectFields(w, level + 2, item, false);
    }
    ++index;
  }
}

// An indented aligned table with dashed underlines, as kubectl describe prints Conditions and Events.
void WriteTable(DescribeWriter& w, const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  TextTable table;
  table.header = header;
  std::vector<std::string> dashes;
  for (const std::string& h : header) dashes.push_back(std::string(h.size(), '-'));
  table.rows.push_back(dashes);
  for (const auto& row : rows) table.rows.push_back(row);
  std::string text = FormatTable(table);
  for (size_t start = 0; start < text.size();) {
    size_t newline = text.find('\n', start);
    w.Raw("  " + text.substr(start, newline - start));
    start = newline + 1;
  }
}

int64_t EventTime(const json& event) {
  int64_t t = 0;
  for (const char* key : {"lastTimestamp", "eventTime", "firstTimestamp"}) {
    if (ParseTimestamp(StringField(event, key), &t)) return t;
  }
  return ParseTimestamp(client::MetaString(event, "creationTimestamp"), &t) ? t : 0;
}

}  // namespace

std::string TitleCase(const std::string& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool upper = std::isupper(static_cast<unsigned char>(c)) != 0;
    bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(key[i - 1])) != 0;
    bool next_lower = i + 1 < key.size() && std::islower(static_cast<unsigned char>(key[i + 1])) != 0;
    bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(key[i - 1])) != 0;
    // "minReadySeconds" → "Min Ready Seconds"; "podIP" → "Pod IP"; "hostIPs" → "Host IPs".
    if (upper && i > 0 && (prev_lower || (prev_upper && next_lower && i + 2 < key.size()))) out += ' ';
    out += i == 0 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
  }
  return out;
}

DescribeTable ServiceEndpointsTable(const std::vector<json>& slices) {
  DescribeTable t{"Endpoints", {"Address", "Port", "Ready", "Serving", "Terminating", "Node", "Pod"}, {}};
  auto flag = [](const json& conditions, const char* key) {
    const json& v = Field(conditions, key);
    return v.is_boolean() ? (v.get<bool>() ? "true" : "false") : "<unset>";
  };
  for (const json& slice : slices) {
    for (const json& e : Field(slice, "endpoints")) {
      const json& c = Field(e, "conditions");
      for (const json& address : Field(e, "addresses")) {
        for (const json& p : Field(slice, "ports")) {
          std::string host = address.is_string() ? address.get<std::string>() : "";
          if (host.find(':') != std::string::npos) host = "[" + host + "]";
          std::string name = StringField(p, "name");
          t.rows.push_back({host + ":" + std::to_string(IntField(p, "port")), name.empty() ? "<unset>" : name,
                            flag(c, "ready"), flag(c, "serving"), flag(c, "terminating"),
                            StringField(e, "nodeName"), StringField(Field(e, "targetRef"), "name")});
        }
      }
    }
  }
  return t;
}

DescribeTable ServiceLoadBalancerTable(const json& status) {
  DescribeTable t{"HAProxy Servers", {"Port", "Server", "Address", "Status", "Sessions", "Check", "Last Change"}, {}};
  for (const json& backend : Field(status, "backends")) {
    for (const json& s : Field(backend, "servers")) {
      std::string check = StringField(s, "checkStatus");
      if (IntField(s, "checkCode", 0) > 0) check += " " + std::to_string(IntField(s, "checkCode", 0));
      if (check.empty()) check = "-";
      const int64_t changed = IntField(s, "lastChangeSeconds", -1);
      t.rows.push_back({std::to_string(IntField(backend, "port")), StringField(s, "name"), StringField(s, "address"),
                        StringField(s, "status"), std::to_string(IntField(s, "currentSessions")), check,
                        changed >= 0 ? HumanDuration(changed) + " ago" : "-"});
    }
  }
  if (t.rows.empty()) {
    const std::string message = StringField(status, "message");
    t.none = "<none>" + (message.empty() ? "" : " (" + message + ")");
  }
  return t;
}

std::string DescribeObject(const json& object, const std::vector<json>& events, std::time_t now,
                           const std::vector<DescribeTable>& tables) {
  DescribeWriter w;
  const json& metadata = Field(object, "metadata");
  std::string kind = StringField(object, "kind");
  w.Value(0, "Name", StringField(metadata, "name"));
  if (!StringField(metadata, "namespace").empty()) w.Value(0, "Namespace", StringField(metadata, "namespace"));
  WriteLabelMap(w, 0, "Labels", Field(metadata, "labels"));

  json annotations = Field(metadata, "annotations").is_object() ? Field(metadata, "annotations") : json::object();
  annotations.erase("kubectl.kubernetes.io/last-applied-configuration");  // kubectl hides it too
  if (annotations.empty()) {
    w.Value(0, "Annotations", "<none>");
  } else {
    bool first = true;
    for (const auto& [k, v] : annotations.items()) {
      std::string text = k + ": " + ScalarText(v);
      if (first) w.Value(0, "Annotations", text);
      else w.Continue(0, text);
      first = false;
    }
  }
  std::string created = StringField(metadata, "creationTimestamp");
  w.Value(0, "CreationTimestamp", created.empty() ? "<unknown>" : FormatTimestampRfc1123(created));
  if (!StringField(metadata, "deletionTimestamp").empty()) {
    w.Value(0, "DeletionTimestamp", FormatTimestampRfc1123(StringField(metadata, "deletionTimestamp")));
  }
  for (const json& owner : Field(metadata, "ownerReferences")) {
    if (Field(owner, "controller").is_boolean() && owner["controller"].get<bool>()) {
      w.Value(0, "Controlled By", StringField(owner, "kind") + "/" + StringField(owner, "name"));
    }
  }

  // The kind's own fields: spec flattened (as kubectl shows them), then other top-level fields.
  const json& spec = Field(object, "spec");
  if (spec.is_object()) WriteObjectFields(w, 0, spec, false);
  for (const auto& [key, value] : object.items()) {
    if (key == "apiVersion" || key == "kind" || key == "metadata" || key == "spec" || key == "status") continue;
    WriteValue(w, 0, key, value, kind == "Secret");
  }
  const json& status = Field(object, "status");
  if (status.is_object()) {
    json rest = status;
    rest.erase("conditions");
    if (!rest.empty()) {
      w.Section(0, "Status");
      WriteObjectFields(w, 1, rest, false);
    }
    const json& conditions = Field(status, "conditions");
    if (conditions.is_array() && !conditions.empty()) {
      w.Section(0, "Conditions");
      std::vector<std::vector<std::string>> rows;
      for (const json& c : conditions) {
        rows.push_back({StringField(c, "type"), StringField(c, "status"), StringField(c, "reason"), StringField(c, "message")});
      }
      WriteTable(w, {"Type", "Status", "Reason", "Message"}, rows);
    }
  }

  for (const DescribeTable& t : tables) {
    if (t.rows.empty()) {
      w.Value(0, t.title, t.none);
      continue;
    }
    w.Section(0, t.title);
    WriteTable(w, t.header, t.rows);
  }

  if (events.empty()) {
    w.Value(0, "Events", "<none>");
  } else {
    std::vector<json> sorted = events;
    std::stable_sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) { return EventTime(a) < EventTime(b); });
    std::vector<std::vector<std::string>> rows;
    for (const json& e : sorted) {
      int64_t last = EventTime(e);
      std::string age = HumanDuration(static_cast<int64_t>(now) - last);
      int64_t count = IntField(e, "count", 1);
      int64_t first = 0;
      if (count > 1 && ParseTimestamp(StringField(e, "firstTimestamp"), &first)) {
        age += " (x" + std::to_string(count) + " over " + HumanDuration(static_cast<int64_t>(now) - first) + ")";
      }
      std::string from = StringField(Field(e, "source"), "component");
      if (from.empty()) from = StringField(e, "reportingComponent");
      if (from.empty()) from = StringField(e, "reportingController");
      rows.push_back({StringField(e, "type"), StringField(e, "reason"), age, from, StringField(e, "message")});
    }
    w.Section(0, "Events");
    WriteTable(w, {"Type", "Reason", "Age", "From", "Message"}, rows);
  }
  return w.Render();
}

}  // namespace capstan::cli
