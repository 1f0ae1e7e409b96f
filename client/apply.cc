#include "client/apply.h"
#include "client/json_fields.h"

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

Result<ApplyResult> ApplyObject(const RestClient& client, Discovery& discovery, const json& declared,
                                const ApplyOptions& options) {
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

  // The previous declaration; absent (null) when the object was made by something other than apply.
  json original = nullptr;
  const json& live_metadata = live->contains("metadata") ? (*live)["metadata"] : json();
  if (live_metadata.is_object() && live_metadata.contains("annotations") && live_metadata["annotations"].is_object()) {
    const json& annotations = live_metadata["annotations"];
    if (auto it = annotations.find(kLastAppliedAnnotation); it != annotations.end() && it->is_string()) {
      try {
        original = json::parse(it->get<std::string>());
      } catch (const std::exception&) {
        original = nullptr;  // a corrupt annotation: behave as on a first apply, and rewrite it
      }
    }
  }

  json patch = api::CreateThreeWayMergePatch(original, *prepared, *live);
  // The annotation must also follow a declaration change the live object already satisfies (a
  // field now declared with its defaulted value), or a later removal of it would not be seen.
  if (patch.empty() && original == *prepared) {
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

std::vector<size_t> ApplyOrder(const std::vector<json>& objects) {
  std::vector<size_t> order;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].is_object() && StringField(objects[i], "kind") == "Namespace" && StringField(objects[i], "apiVersion") == "v1") {
      order.push_back(i);
    }
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    if (!(objects[i].is_object() && StringField(objects[i], "kind") == "Namespace" && StringField(objects[i], "apiVersion") == "v1")) {
      order.push_back(i);
    }
  }
  return order;
}

}  // namespace capstan::client
