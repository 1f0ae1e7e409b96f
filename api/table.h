// Server-side printing: a meta.k8s.io/v1 Table of objects, which is what `kubectl get` asks for
// (Accept: application/json;as=Table;v=v1;g=meta.k8s.io). Columns come from the kind's
// registration: NAME first, the kind's own columns, AGE last (unless the kind places it).
#pragma once

#include <string>
#include <vector>

#include "api/kind.h"

namespace capstan::api {

enum class IncludeObject { kNone, kMetadata, kObject };

struct TableOptions {
  IncludeObject include = IncludeObject::kMetadata;  // Kubernetes' default
  bool column_definitions = true;                     // false for later watch events
};

json ColumnDefinitions(const KindInfo& kind);
json TableRow(const KindInfo& kind, const json& obj, IncludeObject include);
// A Table of `objs`; `list_meta` (resourceVersion, continue) is copied into its metadata.
json ToTable(const KindInfo& kind, const std::vector<json>& objs, const json& list_meta, const TableOptions& opts);

// A human duration as kubectl prints ages ("5s", "3m2s", "5h", "2d3h", "3y").
std::string HumanAge(const std::string& rfc3339_timestamp);

}  // namespace capstan::api
