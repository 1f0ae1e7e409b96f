#include "controller/gitops/prune.h"

#include <algorithm>

#include "client/apply.h"
#include "client/json_fields.h"
#include "controller/gitops/live_state.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;

// Get-check-delete rounds for one pruned object whose DELETE preconditions keep failing.
constexpr int kPruneAttempts = 3;

bool PruneDisabled(const json& live) {
  const json& meta = Field(live, "metadata");
  return StringField(Field(meta, "labels"), kPruneKey) == "disabled" ||
         StringField(Field(meta, "annotations"), kPruneKey) == "disabled";
}

// Whether namespace `ns` holds objects that nobody else will remove: not in `owned`, not owned by
// another object (a Deployment's ReplicaSets and Pods go with it), not already being deleted.
// Every page is read: a foreign object missed here would be deleted with the Namespace. An
// expired token is an error, and an error keeps the Namespace.
Result<std::string> ForeignObjectIn(client::ApiClient& api, client::Discovery& discovery, const std::string& ns,
                                    const std::set<ObjectRef>& owned, size_t page_size) {
  Result<std::vector<client::ResourceInfo>> resources = discovery.ServerPreferredResources();
  if (!resources.ok()) return resources.status();
  for (const client::ResourceInfo& r : *resources) {
    if (!r.namespaced || !r.HasVerb("list") || r.plural == "events") continue;
    std::string foreign;
    Status st = ListEveryPage(api, client::CollectionPath(r, ns), {}, page_size, [&](const json& item) {
      const json& meta = Field(item, "metadata");
      if (!foreign.empty() || !StringField(meta, "deletionTimestamp").empty()) return;
      if (Field(meta, "ownerReferences").is_array() && !Field(meta, "ownerReferences").empty()) return;
      ObjectRef ref{r.ApiVersion(), r.kind, ns, StringField(meta, "name")};
      if (owned.count(ref) == 0) foreign = r.kind + "/" + ref.name;
    });
    if (!st.ok() && !st.IsNotFound()) return st;
    if (!foreign.empty()) return foreign;
  }
  return std::string();
}

bool IsCoreNamespace(const ObjectRef& ref) { return ref.kind == "Namespace" && ref.api_version == "v1"; }

}  // namespace

PruneResult PruneObjects(client::ApiClient& api, client::Discovery& discovery, const std::string& owner,
                         std::vector<ObjectRef> gone, const std::set<ObjectRef>& owned, size_t page_size) {
  PruneResult out;
  std::stable_sort(gone.begin(), gone.end(), [](const ObjectRef& a, const ObjectRef& b) {
    return client::ApplyRank({{"apiVersion", a.api_version}, {"kind", a.kind}}) >
           client::ApplyRank({{"apiVersion", b.api_version}, {"kind", b.kind}});
  });
  for (const ObjectRef& ref : gone) {
    Result<client::ResourceInfo> resource = discovery.ResolveKind(ref.api_version, ref.kind);
    if (!resource.ok()) {
      out.errors.push_back(ref.Display() + ": " + resource.status().message());
      continue;
    }
    const std::string path = client::ObjectPath(*resource, ref.namespace_name, ref.name);
    // The DELETE carries the uid and resourceVersion of the object the guards checked. A conflict
    // checks again (a status update also moves the resourceVersion); after a few, the object
    // stays owned for the next run.
    enum class Pruned { kDeleted, kSkipped, kChanged };
    Pruned result = Pruned::kChanged;
    for (int attempt = 0; attempt < kPruneAttempts && result == Pruned::kChanged; ++attempt) {
      Result<json> live = api.Get(path);
      if (!live.ok()) {
        if (!live.status().IsNotFound()) out.errors.push_back(ref.Display() + ": " + live.status().message());
        result = Pruned::kSkipped;
        break;
      }
      const json& meta = Field(*live, "metadata");
      if (StringField(Field(meta, "labels"), kSyncLabel) != owner || PruneDisabled(*live)) {
        result = Pruned::kSkipped;  // taken over, or opted out
        break;
      }
      if (IsCoreNamespace(ref)) {
        Result<std::string> foreign = ForeignObjectIn(api, discovery, ref.name, owned, page_size);
        if (!foreign.ok()) {
          out.errors.push_back(ref.Display() + ": " + foreign.status().message());
          result = Pruned::kSkipped;
          break;
        }
        if (!foreign->empty()) {
          out.kept_namespaces.push_back(ref);
          result = Pruned::kSkipped;
          break;
        }
      }
      json options = {{"propagationPolicy", "Background"},
                      {"preconditions",
                       {{"uid", StringField(meta, "uid")}, {"resourceVersion", StringField(meta, "resourceVersion")}}}};
      Result<json> deleted = api.Delete(path, options);
      if (deleted.ok() || deleted.status().IsNotFound()) {
        result = Pruned::kDeleted;
      } else if (!deleted.status().IsConflict()) {
        out.errors.push_back(ref.Display() + ": " + deleted.status().message());
        result = Pruned::kSkipped;
      }
    }
    if (result == Pruned::kDeleted) ++out.pruned;
    if (result == Pruned::kChanged) out.changed.push_back(ref);
  }
  return out;
}

}  // namespace capstan::controller::gitops
