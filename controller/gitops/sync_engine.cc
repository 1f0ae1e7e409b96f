#include "controller/gitops/sync_engine.h"

#include <algorithm>
#include <map>
#include <set>

#include "client/apply.h"
#include "client/json_fields.h"
#include "client/manifest.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using client::Field;
using client::StringField;

// Get-check-delete rounds for one pruned object whose DELETE preconditions keep failing.
constexpr int kPruneAttempts = 3;

SyncOutcome Failure(const std::string& reason, const std::string& message, const SyncRequest& request) {
  SyncOutcome out;
  out.reason = reason;
  out.message = message;
  out.inventory = request.previous_inventory;
  return out;
}

bool PruneDisabled(const json& live) {
  const json& meta = Field(live, "metadata");
  return StringField(Field(meta, "labels"), kPruneKey) == "disabled" ||
         StringField(Field(meta, "annotations"), kPruneKey) == "disabled";
}

// Whether namespace `ns` holds objects that nobody else will remove: not in `owned`, not owned by
// another object (a Deployment's ReplicaSets and Pods go with it), not already being deleted.
// Every page is read (continue tokens followed): a foreign object missed here would be deleted with
// the Namespace. An expired token is an error, and an error keeps the Namespace.
Result<std::string> ForeignObjectIn(client::ApiClient& api, client::Discovery& discovery, const std::string& ns,
                                    const std::set<ObjectRef>& owned, size_t page_size) {
  Result<std::vector<client::ResourceInfo>> resources = discovery.ServerPreferredResources();
  if (!resources.ok()) return resources.status();
  for (const client::ResourceInfo& r : *resources) {
    if (!r.namespaced || !r.HasVerb("list") || r.plural == "events") continue;
    std::string token;
    do {
      client::Query query = {{"limit", std::to_string(std::max<size_t>(page_size, 1))}};
      if (!token.empty()) query.emplace_back("continue", token);
      Result<json> list = api.List(client::CollectionPath(r, ns), query);
      if (!list.ok()) {
        if (list.status().IsNotFound() && token.empty()) break;
        return list.status();
      }
      for (const json& item : Field(*list, "items")) {
        const json& meta = Field(item, "metadata");
        if (!StringField(meta, "deletionTimestamp").empty()) continue;
        if (Field(meta, "ownerReferences").is_array() && !Field(meta, "ownerReferences").empty()) continue;
        ObjectRef ref{r.ApiVersion(), r.kind, ns, StringField(meta, "name")};
        if (owned.count(ref) == 0) return r.kind + "/" + ref.name;
      }
      token = StringField(Field(*list, "metadata"), "continue");
    } while (!token.empty());
  }
  return std::string();
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

  // Validate: dry-run everything whose namespace exists; defer objects of namespaces this commit creates.
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
  for (size_t i : order) {
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

  SyncOutcome out;
  std::set<ObjectRef> applied;
  auto apply = [&](const DesiredObject& d) -> bool {
    Result<client::ApplyResult> r = client::ApplyObject(api, discovery, d.object, options);
    if (!r.ok()) {
      out.reason = "ApplyFailed";
      out.message = d.location + ": " + d.ref.Display() + ": " + r.status().message();
      return false;
    }
    applied.insert(d.ref);
    if (r->action == client::ApplyAction::kCreated) ++out.created;
    else if (r->action == client::ApplyAction::kConfigured) ++out.configured;
    else ++out.unchanged;
    return true;
  };
  auto merged_inventory = [&] {
    // Applied first: an object applied at another version than recorded keeps the new version.
    std::set<ObjectRef> all(applied.begin(), applied.end());
    all.insert(request.previous_inventory.begin(), request.previous_inventory.end());
    return std::vector<ObjectRef>(all.begin(), all.end());
  };
  if (!deferred.empty()) {
    // The Namespaces the deferred objects need, then their dry-run.
    for (size_t i : order) {
      const DesiredObject& d = objects[i];
      if (d.ref.kind == "Namespace" && d.ref.api_version == "v1" && !namespace_exists[d.ref.name] && !apply(d)) {
        out.inventory = merged_inventory();
        return out;
      }
    }
    for (size_t i : deferred) {
      if (std::string problem = dry_run(objects[i]); !problem.empty()) {
        out.reason = "ValidationFailed";
        out.message = problem;
        out.inventory = merged_inventory();
        return out;
      }
    }
  }
  for (size_t i : order) {
    if (applied.count(objects[i].ref) != 0) continue;
    if (!apply(objects[i])) {
      out.inventory = merged_inventory();
      return out;
    }
  }

  // Prune: previous inventory minus what the commit declares, in reverse apply order.
  std::vector<ObjectRef> kept_namespaces;
  std::vector<std::string> prune_errors;
  std::vector<ObjectRef> changed_while_pruning;
  if (request.prune) {
    std::vector<ObjectRef> gone;
    for (const ObjectRef& ref : request.previous_inventory) {
      if (applied.count(ref) == 0) gone.push_back(ref);
    }
    std::stable_sort(gone.begin(), gone.end(), [](const ObjectRef& a, const ObjectRef& b) {
      return client::ApplyRank({{"apiVersion", a.api_version}, {"kind", a.kind}}) >
             client::ApplyRank({{"apiVersion", b.api_version}, {"kind", b.kind}});
    });
    const std::string owner = SyncLabelValue(request.sync_namespace, request.sync_name);
    for (const ObjectRef& ref : gone) {
      Result<client::ResourceInfo> resource = discovery.ResolveKind(ref.api_version, ref.kind);
      if (!resource.ok()) {
        prune_errors.push_back(ref.Display() + ": " + resource.status().message());
        continue;
      }
      const std::string path = client::ObjectPath(*resource, ref.namespace_name, ref.name);
      // The DELETE carries the uid and resourceVersion of the object the guards checked: one
      // deleted and recreated by hand, relabelled or opted out in between is never deleted. A
      // conflict checks again (a status update also moves the resourceVersion); after a few, the
      // object stays in the inventory for the next run.
      enum class Pruned { kDeleted, kSkipped, kKept, kChanged };
      Pruned result = Pruned::kChanged;
      for (int attempt = 0; attempt < kPruneAttempts && result == Pruned::kChanged; ++attempt) {
        Result<json> live = api.Get(path);
        if (!live.ok()) {
          if (!live.status().IsNotFound()) prune_errors.push_back(ref.Display() + ": " + live.status().message());
          result = Pruned::kSkipped;
          break;
        }
        const json& meta = Field(*live, "metadata");
        if (StringField(Field(meta, "labels"), kSyncLabel) != owner || PruneDisabled(*live)) {
          result = Pruned::kSkipped;  // taken over, or opted out
          break;
        }
        if (ref.kind == "Namespace" && GroupOf(ref.api_version).empty()) {
          Result<std::string> foreign = ForeignObjectIn(api, discovery, ref.name, applied, request.list_page_size);
          if (!foreign.ok()) {
            prune_errors.push_back(ref.Display() + ": " + foreign.status().message());
            result = Pruned::kSkipped;
            break;
          }
          if (!foreign->empty()) {
            kept_namespaces.push_back(ref);
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
          prune_errors.push_back(ref.Display() + ": " + deleted.status().message());
          result = Pruned::kSkipped;
        }
      }
      if (result == Pruned::kDeleted) ++out.pruned;
      if (result == Pruned::kChanged) changed_while_pruning.push_back(ref);
    }
  }
  out.inventory.assign(applied.begin(), applied.end());
  for (const ObjectRef& ref : changed_while_pruning) {
    if (applied.count(ref) == 0) out.inventory.push_back(ref);
  }
  if (!prune_errors.empty()) {
    out.reason = "PruneFailed";
    out.message = "applied, but could not prune: " + prune_errors.front() +
                  (prune_errors.size() > 1 ? " (and " + std::to_string(prune_errors.size() - 1) + " more)" : "");
    out.inventory = merged_inventory();
    return out;
  }
  out.ok = true;
  out.reason = "Succeeded";
  out.message = "Applied: " + std::to_string(out.created) + " created, " + std::to_string(out.configured) +
                " configured, " + std::to_string(out.unchanged) + " unchanged, " + std::to_string(out.pruned) + " pruned";
  for (const ObjectRef& ns : kept_namespaces) {
    out.message += "; kept " + ns.Display() + " (it holds objects this Sync does not manage)";
  }
  for (const ObjectRef& ref : changed_while_pruning) {
    out.message += "; did not prune " + ref.Display() + " (it kept changing while checked; checked again next run)";
  }
  return out;
}

Result<std::vector<Drift>> DetectDrift(client::ApiClient& api, const std::vector<DesiredObject>& objects) {
  std::vector<Drift> drift;
  for (const DesiredObject& d : objects) {
    Result<json> live = api.Get(client::ObjectPath(d.resource, d.ref.namespace_name, d.ref.name));
    if (!live.ok()) {
      if (!live.status().IsNotFound()) return live.status();
      drift.push_back({d.ref, "deleted"});
      continue;
    }
    json patch = client::ApplyPatch(d.object, *live);
    if (!patch.empty()) drift.push_back({d.ref, patch.dump()});
  }
  return drift;
}

Result<std::string> FirstUnhealthy(client::ApiClient& api, const std::vector<ObjectRef>& inventory) {
  for (const ObjectRef& ref : inventory) {
    std::string path;
    if (ref.api_version == "apps/v1" && ref.kind == "Deployment") {
      path = "/apis/apps/v1/namespaces/" + ref.namespace_name + "/deployments/" + ref.name;
    } else if (ref.api_version == "v1" && ref.kind == "Pod") {
      path = "/api/v1/namespaces/" + ref.namespace_name + "/pods/" + ref.name;
    } else {
      continue;
    }
    Result<json> live = api.Get(path);
    if (!live.ok()) return live.status().IsNotFound() ? Result<std::string>(ref.Display() + ": not found") : live.status();
    const json& status = Field(*live, "status");
    if (ref.kind == "Deployment") {
      const int64_t want = client::IntField(Field(*live, "spec"), "replicas", 1);
      const int64_t available = client::IntField(status, "availableReplicas");
      if (client::IntField(status, "observedGeneration") < client::IntField(Field(*live, "metadata"), "generation") ||
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
