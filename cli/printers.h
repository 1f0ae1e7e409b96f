// Output formatting shared by the verbs: kubectl-style aligned tables from the server's
// meta.k8s.io/v1 Table, object output as YAML/JSON/name, ages and timestamps.
//
// Alignment follows kubectl's tabwriter settings (minimum cell width 6 including padding,
// padding 3, the last column unpadded), so scripts and eyes used to kubectl see the same columns.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan::cli {

using json = nlohmann::json;

// Rows of text cells; header may be empty.
struct TextTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct TableOptions {
  bool wide = false;            // include priority > 0 columns (-o wide)
  bool with_namespace = false;  // a NAMESPACE column first (-A)
  bool show_labels = false;     // a LABELS column last (--show-labels)
  std::string name_prefix;      // "deployment.apps/" when several kinds are printed
};

// Converts a server Table (columnDefinitions, rows[].cells, rows[].object) into text. Headers
// are uppercased. Cells: strings as is, numbers and booleans printed, null as "<none>".
// kBadRequest when `table` is not a Table.
Result<TextTable> TableFromServer(const json& table, const TableOptions& options);

// For servers (or kinds) without server-side printing: NAME and AGE from the objects' metadata.
TextTable TableFromObjects(const std::vector<json>& objects, const TableOptions& options, std::time_t now);

// Column widths for `table` (header included), as tabwriter computes them.
std::vector<size_t> ColumnWidths(const TextTable& table);

// One aligned line (with '\n'); widths from ColumnWidths, grown by cells longer than them.
std::string FormatRow(const std::vector<std::string>& cells, const std::vector<size_t>& widths);

// The whole table aligned; `headers` false omits the header row.
std::string FormatTable(const TextTable& table, bool headers = true);

// kubectl's HumanDuration: "45s", "5m30s", "3h", "2d5h", "3y".
std::string HumanDuration(int64_t seconds);

// Seconds since the epoch of an RFC 3339 time ("2024-01-02T15:04:05Z", fractions and offsets
// accepted); false when malformed.
bool ParseTimestamp(const std::string& text, int64_t* epoch_seconds);

// Age of an RFC 3339 timestamp relative to `now`: "5m"; "<unknown>" when malformed or empty.
std::string AgeOf(const std::string& timestamp, std::time_t now);

// "Tue, 02 Jan 2024 15:04:05 +0000" (what kubectl describe shows).
std::string FormatTimestampRfc1123(const std::string& timestamp);

// The object's labels as "a=b,c=d" (sorted by key); "<none>" when none.
std::string LabelsText(const json& object);

// YAML or JSON (4-space indent, as kubectl) of one object, with a trailing newline.
std::string ToJsonText(const json& value);
std::string ToYamlText(const json& value);

}  // namespace capstan::cli
