#include "client/apply.h"
#include "client/json_fields.h"

#include <algorithm>

#include "api/patch/patch.h"

namespace capstan::client {

using nlohmann::json;

const char* ApplyActionName(ApplyAction action) {
  switch (action) {
    case ApplyAction::kCreated: return "created";
    case ApplyAction::kConfigured: return "configured";
    case ApplyAction::kUnchanged: return "unchanged";
  }
  return "unchanged";
}

Result<json> PrepareDeclared(const json& declared, const ResourceInfo& resource, const ApplyOptions& options) {
  json prepared = declared;
  json& metadata = prepared["metadata"];
  if (!metadata.is_object()) return Status::BadRequest("metadata must be an object");
  if (resource.namespaced) {
    std::string declared_ns = metadata.contains("namespace") && metadata["namespace"].is_string()
                                  ? metadata["namespace"].get<std::string>()
                                  : "";
    if (!declared_ns.empty() && !options.explicit_namespace.empty() && declared_ns != options.explicit_namespace) {
      return Status::BadRequest("the namespace from the provided object \"" + declared_ns +
                                "\" does not match the namespace \"" + options.explicit_namespace +
                                "\". You must pass '--namespace=" + declared_ns + "' to perform this operation.");
    }
    if (declared_ns.empty()) {
      declared_ns = !options.explicit_namespace.empty() ? options.explicit_namespace : options.default_namespace;
      if (declared_ns.empty()) declared_ns = "default";
      metadata["namespace"] = declared_ns;
    }
  } else {
    metadata.erase("namespace");
  }
  if (auto annotations = metadata.find("annotations"); annotations != metadata.end() && annotations->is_object()) {
    annotations->erase(kLastAppliedAnnotation);
    if (annotations->empty()) metadata.erase("annotations");
  }
  return prepared;
}

std::string LastAppliedValue(const json& prepared) {
  return prepared.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// The last declaration recorded on a live object; null when something other than apply made it.
json LastApplied(const json& live) {
  const json& metadata = Field(live, "metadata");
  const json& annotations = Field(metadata, "annotations");
  if (auto it = annotations.is_object() ? annotations.find(kLastAppliedAnnotation) : annotations.end();
      annotations.is_object() && it != annotations.end() && it->is_string()) {
    try {
      return json::parse(it->get<std::string>());
    } catch (const std::exception&) {
      return nullptr;  // a corrupt annotation: behave as on a first apply, and rewrite it
    }
  }
  return nullptr;
}

// The three-way patch apply sends into `patch`; false when apply would leave `live` alone.
bool WouldWrite(const json& prepared, const json& live, json* patch) {
  // The previous declaration; absent (null) when the object was made by something other than apply.
  json original = LastApplied(live);
  *patch = api::CreateThreeWayMergePatch(original, prepared, live);
  // The annotation must also follow a declaration change the live object already satisfies (a
  // field now declared with its defaulted value), or a later removal of it would not be seen.
  return !(patch->empty() && original == prepared);
}

// Client is RestClient (const) or ApiClient: the same calls, the same answers.
template <typename Client>
Result<ApplyResult> ApplyWith(Client& client, Discovery& discovery, const json& declared, const ApplyOptions& options) {
  std::string api_version = StringField(declared, "apiVersion");
  std::string kind = StringField(declared, "kind");
  Result<ResourceInfo> resource = discovery.ResolveKind(api_version, kind);
  if (!resource.ok()) return resource.status();
  Result<json> prepared = PrepareDeclared(declared, *resource, options);
  if (!prepared.ok()) return prepared.status();

  ApplyResult result;
  result.resource = *resource;
  result.name = StringField((*prepared)["metadata"], "name");
  result.namespace_name = resource->namespaced ? StringField((*prepared)["metadata"], "namespace") : "";
  std::string last_applied = LastAppliedValue(*prepared);
  Query query;
  if (options.server_dry_run) query.emplace_back("dryRun", "All");

  Result<json> live = client.Get(ObjectPath(*resource, result.namespace_name, result.name));
  if (!live.ok() && !live.status().IsNotFound()) return live.status();

  if (!live.ok()) {
    json to_create = *prepared;
    to_create["metadata"]["annotations"][kLastAppliedAnnotation] = last_applied;
    Result<json> created = client.Create(CollectionPath(*resource, result.namespace_name), to_create, query);
    if (!created.ok()) return created.status();
    result.action = ApplyAction::kCreated;
    result.object = std::move(*created);
    return result;
  }

  json patch;
  if (!WouldWrite(*prepared, *live, &patch)) {
    result.action = ApplyAction::kUnchanged;
    result.object = std::move(*live);
    return result;
  }
  if (!patch.is_object()) patch = json::object();
  patch["metadata"]["annotations"][kLastAppliedAnnotation] = last_applied;
  Result<json> patched = client.Patch(ObjectPath(*resource, result.namespace_name, result.name), PatchType::kMerge,
                                      patch, query);
  if (!patched.ok()) return patched.status();
  result.action = ApplyAction::kConfigured;
  result.object = std::move(*patched);
  return result;
}

}  // namespace

Result<ApplyResult> ApplyObject(const RestClient& client, Discovery& discovery, const json& declared,
                                const ApplyOptions& options) {
  return ApplyWith(client, discovery, declared, options);
}

Result<ApplyResult> ApplyObject(ApiClient& client, Discovery& discovery, const json& declared,
                                const ApplyOptions& options) {
  return ApplyWith(client, discovery, declared, options);
}

json ApplyPatch(const json& prepared, const json& live) {
  json patch = api::CreateThreeWayMergePatch(LastApplied(live), prepared, live);
  if (!patch.is_object()) return json::object();
  if (patch.contains("metadata") && patch["metadata"].is_object()) {
    json& metadata = patch["metadata"];
    if (metadata.contains("annotations") && metadata["annotations"].is_object()) {
      metadata["annotations"].erase(kLastAppliedAnnotation);
      if (metadata["annotations"].empty()) metadata.erase("annotations");
    }
    if (metadata.empty()) patch.erase("metadata");
  }
  return patch;
}

bool ApplyWouldWrite(const json& prepared, const json& live) {
  json patch;
  return WouldWrite(prepared, live, &patch);
}

int ApplyRank(const json& object) {
  std::string api_version = StringField(object, "apiVersion");
  std::string kind = StringField(object, "kind");
  if (api_version != "v1") return 3;
  if (kind == "Namespace") return 0;
  if (kind == "ConfigMap" || kind == "Secret") return 1;
  if (kind == "Service") return 2;
  return 3;
}

std::vector<size_t> ApplyOrder(const std::vector<json>& objects) {
  std::vector<size_t> order(objects.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ApplyRank(objects[a]) < ApplyRank(objects[b]); });
  return order;
}

}  // namespace capstan::client
