#include "controller/gitops/live_state.h"

#include <algorithm>
#include <set>

#include "client/apply.h"
#include "client/json_fields.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;

std::string ResourceVersionOf(const json& obj) { return StringField(Field(obj, "metadata"), "resourceVersion"); }

}  // namespace

Status ListEveryPage(client::ApiClient& api, const std::string& path, const client::Query& query, size_t page_size,
                     const std::function<void(const json& item)>& each) {
  std::string token;
  do {
    client::Query q = query;
    q.emplace_back("limit", std::to_string(std::max<size_t>(page_size, 1)));
    if (!token.empty()) q.emplace_back("continue", token);
    Result<json> list = api.List(path, q);
    if (!list.ok()) return list.status();
    for (const json& item : Field(*list, "items")) each(item);
    token = StringField(Field(*list, "metadata"), "continue");
  } while (!token.empty());
  return Status::Ok();
}

Result<LiveObjects> ListOwned(client::ApiClient& api, const std::string& owner, const std::vector<ListTarget>& targets,
                              size_t page_size) {
  LiveObjects live;
  std::set<std::string> listed;
  const client::Query query = {{"labelSelector", std::string(kSyncLabel) + "=" + owner}};
  for (const ListTarget& t : targets) {
    const std::string path = client::CollectionPath(t.resource, t.resource.namespaced ? t.namespace_name : "");
    if (!listed.insert(path).second) continue;
    Status st = ListEveryPage(api, path, query, page_size, [&](const json& item) {
      const json& meta = Field(item, "metadata");
      ObjectRef ref{t.resource.ApiVersion(), t.resource.kind, t.resource.namespaced ? StringField(meta, "namespace") : "",
                    StringField(meta, "name")};
      live.emplace(std::move(ref), item);
    });
    if (!st.ok() && !st.IsNotFound()) return st;
  }
  return live;
}

bool InSync(const DesiredObject& desired, const json& live, const ResourceVersions& seen) {
  if (auto it = seen.find(desired.ref); it != seen.end() && !it->second.empty() && it->second == ResourceVersionOf(live) &&
                                        StringField(Field(Field(live, "metadata"), "annotations"),
                                                    client::kLastAppliedAnnotation) == client::LastAppliedValue(desired.object)) {
    return true;
  }
  return !client::ApplyWouldWrite(desired.object, live);
}

Result<std::vector<ObjectRef>> MovedSinceSeen(client::ApiClient& api, const std::string& owner,
                                              const std::vector<ObjectRef>& inventory, const ResourceVersions& seen,
                                              size_t page_size) {
  client::Discovery discovery(&api);
  std::vector<ObjectRef> moved;
  std::vector<ListTarget> targets;
  for (const ObjectRef& ref : inventory) {
    Result<client::ResourceInfo> resource = discovery.ResolveKind(ref.api_version, ref.kind);
    if (!resource.ok()) {
      if (!resource.status().IsNotFound()) return resource.status();
      moved.push_back(ref);
      continue;
    }
    targets.push_back({*resource, ref.namespace_name});
  }
  Result<LiveObjects> live = ListOwned(api, owner, targets, page_size);
  if (!live.ok()) return live.status();
  for (const ObjectRef& ref : inventory) {
    auto it = live->find(ref);
    auto version = seen.find(ref);
    if (it == live->end() || version == seen.end() || version->second.empty() ||
        version->second != ResourceVersionOf(it->second)) {
      if (std::find(moved.begin(), moved.end(), ref) == moved.end()) moved.push_back(ref);
    }
  }
  return moved;
}

Result<std::vector<Drift>> DetectDrift(client::ApiClient& api, const std::string& owner,
                                       const std::vector<DesiredObject>& objects, ResourceVersions* seen,
                                       size_t page_size) {
  std::vector<ListTarget> targets;
  for (const DesiredObject& d : objects) targets.push_back({d.resource, d.ref.namespace_name});
  Result<LiveObjects> live = ListOwned(api, owner, targets, page_size);
  if (!live.ok()) return live.status();
  std::vector<Drift> drift;
  for (const DesiredObject& d : objects) {
    json fetched;
    auto it = live->find(d.ref);
    if (it == live->end()) {
      // Not labelled as ours (relabelled by hand) or gone: read it on its own to tell which.
      Result<json> got = api.Get(client::ObjectPath(d.resource, d.ref.namespace_name, d.ref.name));
      if (!got.ok()) {
        if (!got.status().IsNotFound()) return got.status();
        drift.push_back({d.ref, "deleted"});
        continue;
      }
      fetched = std::move(*got);
    }
    const json& object = it != live->end() ? it->second : fetched;
    if (InSync(d, object, *seen)) {
      (*seen)[d.ref] = ResourceVersionOf(object);
      continue;
    }
    json patch = client::ApplyPatch(d.object, object);
    if (!patch.empty()) drift.push_back({d.ref, patch.dump()});
  }
  return drift;
}

}  // namespace capstan::controller::gitops
