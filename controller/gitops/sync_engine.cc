#include "controller/gitops/sync_engine.h"

#include <algorithm>
#include <map>
#include <set>

#include "client/apply.h"
#include "client/json_fields.h"
#include "client/manifest.h"
#include "controller/gitops/live_state.h"
#include "controller/gitops/prune.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;

SyncOutcome Failure(const std::string& reason, const std::string& message, const SyncRequest& request) {
  SyncOutcome out;
  out.reason = reason;
  out.message = message;
  out.inventory = request.previous_inventory;
  out.versions = request.previous_versions;
  return out;
}

// "apps" of "apps/v1", "" of "v1": an object's identity does not include the version it is served at.
std::string GroupOf(const std::string& api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string::npos ? std::string() : api_version.substr(0, slash);
}

}  // namespace

std::string SyncLabelValue(const std::string& sync_namespace, const std::string& sync_name) {
  return sync_namespace + "." + sync_name;
}

json ObjectRef::ToJson() const {
  json j = {{"apiVersion", api_version}, {"kind", kind}, {"name", name}};
  if (!namespace_name.empty()) j["namespace"] = namespace_name;
  return j;
}

ObjectRef ObjectRef::FromJson(const json& e) {
  return {StringField(e, "apiVersion"), StringField(e, "kind"), StringField(e, "namespace"), StringField(e, "name")};
}

std::string ObjectRef::Display() const {
  return kind + "/" + (namespace_name.empty() ? "" : namespace_name + "/") + name;
}

bool ObjectRef::operator<(const ObjectRef& o) const {
  const std::string group = GroupOf(api_version), other_group = GroupOf(o.api_version);
  return std::tie(group, kind, namespace_name, name) < std::tie(other_group, o.kind, o.namespace_name, o.name);
}

bool ObjectRef::operator==(const ObjectRef& o) const { return !(*this < o) && !(o < *this); }

bool BuildObjects(client::ApiClient& api, const SyncRequest& request, std::vector<DesiredObject>* objects,
                  SyncOutcome* failure) {
  std::vector<client::Manifest> manifests;
  for (const ManifestFile& file : request.files) {
    Result<std::vector<client::Manifest>> parsed = client::ParseManifests(file.path, file.text);
    if (!parsed.ok()) {
      *failure = Failure("BuildFailed", parsed.status().message(), request);
      return false;
    }
    for (client::Manifest& m : *parsed) manifests.push_back(std::move(m));
  }
  if (manifests.empty() && !request.allow_empty) {
    *failure = Failure("BuildFailed",
                       "no objects found under the path (set allowEmpty to accept that and prune everything)", request);
    return false;
  }
  client::Discovery discovery(&api);
  client::ApplyOptions options;
  options.default_namespace = request.target_namespace.empty() ? "default" : request.target_namespace;
  const std::string owner = SyncLabelValue(request.sync_namespace, request.sync_name);
  std::map<ObjectRef, std::string> seen;
  for (const client::Manifest& m : manifests) {
    const json& o = m.object;
    Result<client::ResourceInfo> resource =
        discovery.ResolveKind(StringField(o, "apiVersion"), StringField(o, "kind"));
    if (!resource.ok()) {
      *failure = Failure("ValidationFailed", m.Location() + ": " + resource.status().message(), request);
      return false;
    }
    Result<json> prepared = client::PrepareDeclared(o, *resource, options);
    if (!prepared.ok()) {
      *failure = Failure("ValidationFailed", m.Location() + ": " + prepared.status().message(), request);
      return false;
    }
    json& labels = (*prepared)["metadata"]["labels"];
    if (!labels.is_object()) labels = json::object();
    labels[kSyncLabel] = owner;
    DesiredObject d;
    d.location = m.Location();
    d.ref = {resource->ApiVersion(), resource->kind, resource->namespaced ? StringField((*prepared)["metadata"], "namespace") : "",
             StringField((*prepared)["metadata"], "name")};
    if (auto [it, fresh] = seen.emplace(d.ref, d.location); !fresh) {
      *failure = Failure("BuildFailed", d.location + ": " + d.ref.Display() + " is also declared at " + it->second, request);
      return false;
    }
    d.object = std::move(*prepared);
    d.resource = *resource;
    objects->push_back(std::move(d));
  }
  return true;
}

SyncOutcome RunSync(client::ApiClient& api, const SyncRequest& request) {
  std::vector<DesiredObject> objects;
  SyncOutcome failure;
  if (!BuildObjects(api, request, &objects, &failure)) return failure;

  std::vector<json> plain;
  for (const DesiredObject& d : objects) plain.push_back(d.object);
  const std::vector<size_t> order = client::ApplyOrder(plain);
  client::Discovery discovery(&api);
  client::ApplyOptions options;  // objects are prepared: namespaces already set
  const std::string owner = SyncLabelValue(request.sync_namespace, request.sync_name);

  SyncOutcome out;
  std::set<ObjectRef> applied;  // declared and now as declared: unchanged or applied
  // Compare: what is already as declared is sent nothing (no dry-run, no apply).
  std::vector<ListTarget> targets;
  for (const DesiredObject& d : objects) targets.push_back({d.resource, d.ref.namespace_name});
  Result<LiveObjects> live = ListOwned(api, owner, targets, request.list_page_size);
  if (!live.ok()) return Failure("ValidationFailed", "listing the live objects: " + live.status().message(), request);
  std::vector<size_t> changed;
  for (size_t i : order) {
    const DesiredObject& d = objects[i];
    auto it = live->find(d.ref);
    if (it != live->end() && InSync(d, it->second, request.previous_versions)) {
      applied.insert(d.ref);
      out.versions[d.ref] = StringField(Field(it->second, "metadata"), "resourceVersion");
      ++out.unchanged;
    } else {
      changed.push_back(i);
    }
  }

  // Validate: dry-run every changed object whose namespace exists; defer objects of namespaces
  // this commit creates.
  std::set<std::string> declared_namespaces;
  for (const DesiredObject& d : objects) {
    if (d.ref.kind == "Namespace" && d.ref.api_version == "v1") declared_namespaces.insert(d.ref.name);
  }
  std::map<std::string, bool> namespace_exists;
  auto exists = [&](const std::string& ns) -> Result<bool> {
    if (auto it = namespace_exists.find(ns); it != namespace_exists.end()) return it->second;
    Result<json> got = api.Get("/api/v1/namespaces/" + ns);
    if (!got.ok() && !got.status().IsNotFound()) return got.status();
    return namespace_exists[ns] = got.ok();
  };
  auto dry_run = [&](const DesiredObject& d) -> std::string {
    client::ApplyOptions dry = options;
    dry.server_dry_run = true;
    Result<client::ApplyResult> r = client::ApplyObject(api, discovery, d.object, dry);
    return r.ok() ? "" : d.location + ": " + d.ref.Display() + ": " + r.status().message();
  };
  std::vector<size_t> deferred;
  for (size_t i : changed) {
    const DesiredObject& d = objects[i];
    if (!d.ref.namespace_name.empty()) {
      Result<bool> ns_ok = exists(d.ref.namespace_name);
      if (!ns_ok.ok()) return Failure("ValidationFailed", "checking namespace " + d.ref.namespace_name + ": " + ns_ok.status().message(), request);
      if (!*ns_ok) {
        if (declared_namespaces.count(d.ref.namespace_name) != 0) {
          deferred.push_back(i);
          continue;
        }
        return Failure("ValidationFailed", d.location + ": " + d.ref.Display() + ": namespace \"" + d.ref.namespace_name +
                                               "\" does not exist and is not declared", request);
      }
    }
    if (std::string problem = dry_run(d); !problem.empty()) return Failure("ValidationFailed", problem, request);
  }

  auto apply = [&](const DesiredObject& d) -> bool {
    Result<client::ApplyResult> r = client::ApplyObject(api, discovery, d.object, options);
    if (!r.ok()) {
      out.reason = "ApplyFailed";
      out.message = d.location + ": " + d.ref.Display() + ": " + r.status().message();
      return false;
    }
    applied.insert(d.ref);
    out.versions[d.ref] = StringField(Field(r->object, "metadata"), "resourceVersion");
    if (r->action == client::ApplyAction::kCreated) ++out.created;
    else if (r->action == client::ApplyAction::kConfigured) ++out.configured;
    else ++out.unchanged;
    return true;
  };
  auto merged = [&] {
    // Applied first: an object applied at another version than recorded keeps the new version.
    std::set<ObjectRef> all(applied.begin(), applied.end());
    all.insert(request.previous_inventory.begin(), request.previous_inventory.end());
    out.inventory.assign(all.begin(), all.end());
    for (const auto& [ref, version] : request.previous_versions) out.versions.emplace(ref, version);
    return out;
  };
  if (!deferred.empty()) {
    // The Namespaces the deferred objects need, then their dry-run.
    for (size_t i : changed) {
      const DesiredObject& d = objects[i];
      if (d.ref.kind == "Namespace" && d.ref.api_version == "v1" && !namespace_exists[d.ref.name] && !apply(d)) {
        return merged();
      }
    }
    for (size_t i : deferred) {
      if (std::string problem = dry_run(objects[i]); !problem.empty()) {
        out.reason = "ValidationFailed";
        out.message = problem;
        return merged();
      }
    }
  }
  for (size_t i : changed) {
    if (applied.count(objects[i].ref) != 0) continue;
    if (!apply(objects[i])) return merged();
  }

  // Prune: previous inventory minus what the commit declares.
  PruneResult pruned;
  if (request.prune) {
    std::vector<ObjectRef> gone;
    for (const ObjectRef& ref : request.previous_inventory) {
      if (applied.count(ref) == 0) gone.push_back(ref);
    }
    pruned = PruneObjects(api, discovery, owner, std::move(gone), applied, request.list_page_size);
    out.pruned = pruned.pruned;
  }
  if (!pruned.errors.empty()) {
    out.reason = "PruneFailed";
    out.message = "applied, but could not prune: " + pruned.errors.front() +
                  (pruned.errors.size() > 1 ? " (and " + std::to_string(pruned.errors.size() - 1) + " more)" : "");
    return merged();
  }
  out.inventory.assign(applied.begin(), applied.end());
  for (const ObjectRef& ref : pruned.changed) {
    if (applied.count(ref) == 0) out.inventory.push_back(ref);
  }
  out.ok = true;
  out.reason = "Succeeded";
  out.message = "Applied: " + std::to_string(out.created) + " created, " + std::to_string(out.configured) +
                " configured, " + std::to_string(out.unchanged) + " unchanged, " + std::to_string(out.pruned) + " pruned";
  for (const ObjectRef& ns : pruned.kept_namespaces) {
    out.message += "; kept " + ns.Display() + " (it holds objects this Sync does not manage)";
  }
  for (const ObjectRef& ref : pruned.changed) {
    out.message += "; did not prune " + ref.Display() + " (it kept changing while checked; checked again next run)";
  }
  return out;
}

Result<std::string> FirstUnhealthy(client::ApiClient& api, const std::vector<ObjectRef>& inventory) {
  // "<collection path>" → name → object, filled once per namespace and kind.
  std::map<std::string, std::map<std::string, json>> listed;
  for (const ObjectRef& ref : inventory) {
    const bool deployment = ref.api_version == "apps/v1" && ref.kind == "Deployment";
    const bool pod = ref.api_version == "v1" && ref.kind == "Pod";
    if (!deployment && !pod) continue;
    const std::string collection = deployment ? "/apis/apps/v1/namespaces/" + ref.namespace_name + "/deployments"
                                              : "/api/v1/namespaces/" + ref.namespace_name + "/pods";
    auto [it, fresh] = listed.try_emplace(collection);
    if (fresh) {
      Status st = ListEveryPage(api, collection, {}, 500, [&](const json& item) {
        it->second.emplace(StringField(Field(item, "metadata"), "name"), item);
      });
      if (!st.ok() && !st.IsNotFound()) return st;
    }
    auto live = it->second.find(ref.name);
    if (live == it->second.end()) return ref.Display() + ": not found";
    const json& status = Field(live->second, "status");
    if (deployment) {
      const int64_t want = client::IntField(Field(live->second, "spec"), "replicas", 1);
      const int64_t available = client::IntField(status, "availableReplicas");
      if (client::IntField(status, "observedGeneration") < client::IntField(Field(live->second, "metadata"), "generation") ||
          client::IntField(status, "updatedReplicas") < want || available < want) {
        return ref.Display() + ": " + std::to_string(available) + " of " + std::to_string(want) + " replicas available";
      }
    } else {
      bool ready = false;
      for (const json& c : Field(status, "conditions")) {
        ready = ready || (StringField(c, "type") == "Ready" && StringField(c, "status") == "True");
      }
      if (!ready) return ref.Display() + ": not Ready";
    }
  }
  return std::string();
}

}  // namespace capstan::controller::gitops
